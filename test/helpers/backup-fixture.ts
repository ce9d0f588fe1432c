// A connected backup task over a Dropbox emulator: an account (signed up through the API), a task
// row holding a refresh token the emulator issued, entity rows for members and team folders, and
// helpers to run backups and compare a snapshot with what Dropbox holds, byte for byte.
import { dropboxContentHash } from '../dropbox-emulator/content-hash.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { Config } from '../../api/config.ts';
import { newId } from '../../db/ids.ts';
import { entities, tasks } from '../../db/schema.ts';
import { runBackup, type BackupOptions, type BackupOutcome } from '../../workers/backup/engine.ts';
import { accountStorage } from '../../workers/backup/storage.ts';
import { BlockReader, MasterKeyring, createFileStream, type BlockRef } from '../../workers/storage/index.ts';
import { startEmulator, type Emulator } from '../dropbox-emulator/server.ts';
import type { Member, TeamFolder } from '../dropbox-emulator/state.ts';
import { latestRevision } from '../dropbox-emulator/state.ts';
import { startTestApp, type TestApp, type SignedUp } from './app.ts';

export interface SnapshotItem {
  id: string;
  path_lower: string;
  path_display: string;
  kind: 'file' | 'folder';
  rev: string | null;
  size: number;
  content_hash: string | null;
  blocks: Buffer | null;
}

export interface ExpectedItem {
  kind: 'file' | 'folder';
  contentHash?: string;
  bytes?: Buffer;
}

/** The account's block locations and a reader, loaded once for many reads. */
export interface ReadCache {
  reader: BlockReader;
  blocks: Map<string, { pack_id: string; offset: number; length: number }>;
}

export interface BackupFixture {
  app: TestApp;
  emu: Emulator;
  account: SignedUp;
  accountId: string;
  taskId: string;
  admin: Member;
  dataDir: string;
  /** Adds an entity row for a member (namespace = the member's home). */
  memberEntity(member: Member): Promise<string>;
  teamFolderEntity(folder: TeamFolder): Promise<string>;
  backup(entityId: string, opts?: BackupOptions): Promise<BackupOutcome>;
  /** The entity as of a run (versions valid at that run). */
  snapshot(entityId: string, runId: string): Promise<Map<string, SnapshotItem>>;
  /** What the emulator holds right now in a namespace, keyed by path_lower. */
  dropboxState(namespaceId: string): Map<string, ExpectedItem>;
  /** Reads a file version back from storage (verifying it against its content_hash). */
  readBack(item: SnapshotItem, cache?: ReadCache): Promise<Buffer>;
  /** Asserts the snapshot equals `expected`: same paths and kinds, and every file's bytes. */
  assertSnapshot(t: Test, entityId: string, runId: string, expected: Map<string, ExpectedItem>, label: string): Promise<void>;
}

export interface BackupFixtureOptions {
  config?: Partial<Config>;
  /** Signs up through the API with this region. */
  region?: string;
  /** Use this master key (e.g. to share it with a worker process started by the test). */
  masterKey?: Buffer;
}

/**
 * Retry waits shortened so fault tests stay fast; file-by-file downloads unless a test turns the
 * first-backup download_zip on (`zipMaxBytes`), so call counts are predictable.
 */
export const FAST: BackupOptions = { sleep: () => new Promise((r) => setTimeout(r, 2)), zipMaxBytes: 0 };

export async function startBackupFixture(t: Test, opts: BackupFixtureOptions = {}): Promise<BackupFixture> {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const dataDir = await mkdtemp(join(tmpdir(), 'coffer-backup-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const app = await startTestApp(t, {
    config: {
      dataDir,
      dropbox: { appKey: 'coffer-local', appSecret: 'coffer-local-secret', apiUrl: emu.url },
      ...opts.config,
    },
  });
  const deps = app.deps;
  if (opts.masterKey) deps.keyring = new MasterKeyring([{ version: 1, key: opts.masterKey }]);
  const admin = emu.state.addMember({ email: 'ada.admin@coffer-emu.test', givenName: 'Ada', surname: 'Admin', admin: true });
  const { refreshToken } = emu.state.issueTeamTokens('coffer-local');
  const account = await app.signUp(opts.region ? { region: opts.region } : {});
  const accountId = account.accountId;
  const taskId = newId('task');
  await deps.db.insert(tasks).values({
    id: taskId,
    accountId,
    name: 'Emulated team',
    plan: 'business',
    connectionStatus: 'connected',
    refreshToken: deps.keyring.sealSecret(refreshToken, 'dropbox-refresh-token'),
    dropboxTeamId: emu.state.team.id,
    dropboxTeamName: emu.state.team.name,
    dropboxAdminMemberId: admin.teamMemberId,
  });

  const addEntity = async (kind: 'member' | 'team_folder', dropboxId: string, name: string, namespaceId: string, email?: string) => {
    const id = newId('ent');
    await deps.db.insert(entities).values({
      id, accountId, taskId, kind, dropboxId, name, email: email ?? null, namespaceId, dropboxStatus: 'active', status: 'scheduled',
    });
    return id;
  };

  const readCache = async (): Promise<ReadCache> => {
    const { store, keys } = await accountStorage(deps, accountId);
    const rows = await deps.sql<{ hex: string; pack_id: string; offset: number; length: number }[]>`
      select encode(hash, 'hex') as hex, pack_id, "offset"::float8 as "offset", length from blocks where account_id = ${accountId}`;
    return { reader: new BlockReader({ store, keys }), blocks: new Map(rows.map((r) => [r.hex, r])) };
  };

  const fixture: BackupFixture = {
    app,
    emu,
    account,
    accountId,
    taskId,
    admin,
    dataDir,
    memberEntity: (m) => addEntity('member', m.teamMemberId, `${m.givenName} ${m.surname}`, m.homeNsId, m.email),
    teamFolderEntity: (f) => addEntity('team_folder', f.id, f.name, f.id),
    backup: (entityId, o = {}) => runBackup(deps, { accountId, entityId, reason: 'manual' }, { ...FAST, ...o }),
    async snapshot(entityId, runId) {
      const rows = await deps.sql<SnapshotItem[]>`
        select id, path_lower, path_display, kind, rev, size::float8 as size, content_hash, blocks from item_versions
        where entity_id = ${entityId} and valid_from_run <= ${runId} and (valid_until_run is null or valid_until_run > ${runId})`;
      const map = new Map<string, SnapshotItem>();
      for (const r of rows) {
        if (map.has(r.path_lower)) throw new Error(`two versions of ${r.path_lower} in snapshot ${runId}`);
        map.set(r.path_lower, r);
      }
      return map;
    },
    dropboxState(namespaceId) {
      const out = new Map<string, ExpectedItem>();
      for (const e of emu.state.namespace(namespaceId).tree.entries.values()) {
        if (e.kind === 'folder') out.set(e.pathLower, { kind: 'folder' });
        else {
          const r = latestRevision(e);
          // A document that only exports is backed up as its export.
          if (r.exportAs) out.set(e.pathLower, { kind: 'file', contentHash: dropboxContentHash(r.exportBytes!), bytes: r.exportBytes! });
          else out.set(e.pathLower, { kind: 'file', contentHash: r.contentHash, bytes: r.bytes });
        }
      }
      return out;
    },
    async readBack(item, cache?: ReadCache) {
      const c = cache ?? (await readCache());
      const blocks = item.blocks ?? Buffer.alloc(0);
      const refs: BlockRef[] = [];
      for (let i = 0; i < blocks.length; i += 32) {
        const h = blocks.subarray(i, i + 32);
        const b = c.blocks.get(h.toString('hex'));
        if (!b) throw new Error(`block ${h.toString('hex')} of ${item.path_lower} is not stored`);
        refs.push({ hash: h, packId: b.pack_id, offset: Number(b.offset), length: b.length });
      }
      const chunks: Buffer[] = [];
      for await (const chunk of createFileStream(c.reader, refs, { expectedContentHash: item.content_hash! })) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    async assertSnapshot(t, entityId, runId, expected, label) {
      const snap = await fixture.snapshot(entityId, runId);
      t.same([...snap.keys()].sort(), [...expected.keys()].sort(), `${label}: same paths`);
      let mismatches = 0;
      const cache = await readCache();
      for (const [path, exp] of expected) {
        const got = snap.get(path);
        if (!got) continue;
        if (got.kind !== exp.kind) {
          mismatches++;
          t.fail(`${label}: ${path} is a ${got.kind}, expected a ${exp.kind}`);
          continue;
        }
        if (exp.kind === 'file') {
          if (got.content_hash !== exp.contentHash) {
            mismatches++;
            t.fail(`${label}: ${path} content_hash differs`);
            continue;
          }
          const bytes = await fixture.readBack(got, cache);
          if (!bytes.equals(exp.bytes!)) {
            mismatches++;
            t.fail(`${label}: ${path} bytes read back differ (${bytes.length} vs ${exp.bytes!.length})`);
          }
        }
      }
      t.equal(mismatches, 0, `${label}: every item matches (kinds, content_hash, bytes read back)`);
    },
  };
  return fixture;
}
