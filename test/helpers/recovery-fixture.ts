// Recovery tests: a backed-up member folder (through the backup fixture), and helpers to start
// restores / exports through the API and run their jobs in-process.
import type { Test } from 'tap';
import { createHash } from 'node:crypto';
import { startBackupFixture, type BackupFixture, type BackupFixtureOptions } from './backup-fixture.ts';
import type { Member } from '../dropbox-emulator/state.ts';
import { latestRevision } from '../dropbox-emulator/state.ts';

export interface RecoveryFixture extends BackupFixture {
  member: Member;
  entityId: string;
  runId: string;
  /** Dropbox content_hash of bytes. */
  hashOf(bytes: Buffer): string;
  /** path_lower → bytes of what a namespace holds under `prefix` (keys relative to it). */
  filesUnder(nsId: string, prefix: string): Map<string, Buffer>;
  post(path: string, body: unknown, key?: string): Promise<any>;
  get(path: string, key?: string): Promise<any>;
}

export function dropboxHash(bytes: Buffer): string {
  const blocks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 4 * 1024 * 1024) blocks.push(createHash('sha256').update(bytes.subarray(i, i + 4 * 1024 * 1024)).digest());
  return createHash('sha256').update(Buffer.concat(blocks)).digest('hex');
}

/** A member with `files` (path → content) backed up once. */
export async function startRecoveryFixture(t: Test, files: Record<string, Buffer | string>, opts: BackupFixtureOptions & { email?: string } = {}): Promise<RecoveryFixture> {
  const fx = await startBackupFixture(t, opts);
  const member = fx.emu.state.addMember({ email: opts.email ?? 'bob.builder@coffer-emu.test', givenName: 'Bob', surname: 'Builder' });
  for (const [path, content] of Object.entries(files)) fx.emu.state.putFile(member, path, content, { clientModified: '2025-03-04T05:06:07Z' } as never);
  const entityId = await fx.memberEntity(member);
  const out = await fx.backup(entityId);
  if (out.outcome !== 'succeeded') throw new Error(`backup did not succeed: ${JSON.stringify(out)}`);
  const key = fx.account.key;
  return {
    ...fx,
    member,
    entityId,
    runId: out.runId,
    hashOf: dropboxHash,
    filesUnder(nsId, prefix) {
      const out = new Map<string, Buffer>();
      const p = prefix.toLowerCase();
      for (const e of fx.emu.state.namespace(nsId).tree.entries.values()) {
        if (e.kind !== 'file') continue;
        if (p && !e.pathLower.startsWith(p + '/')) continue;
        out.set(e.pathLower.slice(p.length), latestRevision(e).bytes);
      }
      return out;
    },
    post: async (path, body, k = key) => fx.app.request('POST', path, { key: k, body }),
    get: async (path, k = key) => fx.app.request('GET', path, { key: k }),
  };
}
