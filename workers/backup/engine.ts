// The backup of one entity (a member's folder or a team folder), as one `backup_runs` row.
//
// Flow: take the entity's lock (a session advisory lock on a reserved connection, so a dead worker
// releases it with its connection) → resume the entity's `running` run, or start one: `full`
// (recursive files/list_folder) when there is no completed run, else `incremental`
// (list_folder/continue from the last completed run's cursor, so an unchanged entity costs one
// call) → for each listing page: look up the live versions of the page's paths, find the files whose
// content is not stored yet (by content_hash, in `contents`), download those (a few in flight,
// streamed through BlockSplitter into the PackWriter, content_hash recomputed and compared), flush
// the packs, then commit the page in one transaction: close/delete replaced versions, insert new
// ones, record the new contents, and move the run's checkpoint cursor → on the last page close
// what a full listing did not see, and complete the run (snapshot totals, entity status and sizes,
// one activity event) in one transaction.
//
// Crash safety: a page is applied atomically with the cursor that follows it, so a worker killed
// at any instant resumes from the last committed page and re-applies nothing twice. Blocks are
// recorded only after their pack's PUT succeeded; a pack is recorded `pending` before its PUT, so a
// resumed run deletes the pack objects its dead predecessor may have left behind. A run is visible
// as a snapshot only once completed; a run that fails for good is rolled back.
import { and, eq } from 'drizzle-orm';
import type postgres from 'postgres';
import type { AppDeps } from '../../api/deps.ts';
import { newId } from '../../db/ids.ts';
import { insertRows, type Column } from '../../db/bulk-insert.ts';
import { entities, tasks } from '../../db/schema.ts';
import type { RunError, RunMode } from '../../db/schema/snapshots.ts';
import { DropboxCallError, DropboxTeam, type CallScope, type RetryPolicy } from '../dropbox/client.ts';
import { adminScope, downloadFile, DownloadError, getMetadata, listFolderContinue, listFolderStart, ListingResetError, LIST_LIMIT, TruncatedBodyError, type ListEntry, type ListPage } from '../dropbox/files.ts';
import { DropboxAuthError } from '../dropbox/oauth.ts';
import type { Fetch } from '../dropbox/transport.ts';
import type { DropboxPacer } from '../dropbox/pacer.ts';
import type { BackupJob } from '../queue.ts';
import { BlockSplitter, blockHashes, contentHashFromBlockHashes, PackWriter, sha256, type BlobStore, type WrittenPack } from '../storage/index.ts';
import { accountStorage } from './storage.ts';
import { sharedEncoderPool } from '../storage/encoder-pool.ts';
import { BlockIngest } from './block-ingest.ts';
import { accountLockKey, entityLockKey } from './locks.ts';
import { mapLimit } from './map-limit.ts';
import { TrackingStore } from './tracking-store.ts';
import { SMALL_FILE_BYTES, ZIP_MAX_BYTES, ZIP_MIN_FILES, zipNewFolders, zipPrepass } from './zip-prepass.ts';
import { nextBackupAt } from '../../db/schedule.ts';

export const EMPTY_CONTENT_HASH = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface BackupOptions {
  /** Inner fetch under DropboxTeam and downloads (tests inject faults or corruption here). */
  fetch?: Fetch;
  /** Files downloaded at once (default 8 files under 1 MiB and 3 larger ones). */
  concurrency?: number;
  /** list_folder page size (tests use small pages to exercise checkpoints). Default 2000. */
  pageLimit?: number;
  policy?: Partial<RetryPolicy>;
  sleep?: (ms: number) => Promise<void>;
  /** Pacing of Dropbox calls (default: the process-wide pacer). */
  pacer?: DropboxPacer;
  /** Pack size to aim for (tests); default 16 MiB. */
  targetPackSize?: number;
  /** Called after each committed page (tests). */
  onPageCommitted?: (info: { runId: string; pages: number }) => void | Promise<void>;
  /** First backups fetch the whole namespace as one files/download_zip when it is at most this big (0 = never). Default 512 MiB. */
  zipMaxBytes?: number;
  /** A zip up to this size is kept in memory; a bigger one is spilled to a temp file. Default 64 MiB. */
  zipMemoryBytes?: number;
  /** Encode blocks on the main thread instead of the shared encoder threads (tests, comparisons). */
  inlineEncoding?: boolean;
  /** Wraps the account's blob store (tests, benchmark counters). */
  wrapStore?: (store: BlobStore) => BlobStore;
}

export type BackupOutcome =
  | { outcome: 'skipped'; reason: string }
  | { outcome: 'succeeded' | 'partial' | 'failed'; runId: string; counts: RunCounts; error?: string; dropboxCalls: number };

export interface RunCounts {
  new: number;
  changed: number;
  deleted: number;
  failed: number;
  unchanged: number;
  downloaded: number;
  bytesDownloaded: number;
  bytesStored: number;
}

interface RunRow {
  id: string;
  mode: RunMode;
  start_cursor: string | null;
  cursor: string | null;
  pages: number;
  resumes: number;
  started_at: Date | string;
  dropbox_calls: number;
  errors: RunError[];
}

export interface AliveRow {
  id: string;
  path_lower: string;
  kind: 'file' | 'folder';
  rev: string | null;
  content_hash: string | null;
  export_as: string | null;
  valid_from_run: string;
}

interface Content {
  size: number;
  blocks: Buffer;
}

const MAX_RESUMES = 20;
/** Statuses a run must not overwrite (set by the user or discovery while it ran). */
const KEEP_STATUS_LIST = ['paused', 'archived', 'not_active', 'backed_up_in_another_task'];

const SMALL_FILE_CONCURRENCY = 8;
const BIG_FILE_CONCURRENCY = 3;
const BLOCK_COLUMNS: Column[] = [
  { name: 'account_id', type: 'text' }, { name: 'hash', type: 'bytea' }, { name: 'pack_id', type: 'text' }, { name: 'offset', type: 'bigint' },
  { name: 'length', type: 'integer' }, { name: 'plain_size', type: 'integer' }, { name: 'stored_size', type: 'integer' }, { name: 'compressed', type: 'boolean' },
];
const CONTENT_COLUMNS: Column[] = [{ name: 'account_id', type: 'text' }, { name: 'content_hash', type: 'text' }, { name: 'size', type: 'bigint' }, { name: 'blocks', type: 'bytea' }];
/** The columns versionRow fills. */
const ITEM_VERSION_COLUMNS: Column[] = [
  ...['id', 'account_id', 'entity_id', 'path_lower', 'path_display', 'parent_lower', 'name', 'kind', 'dropbox_id', 'rev'].map((name) => ({ name, type: 'text' as const })),
  { name: 'size', type: 'bigint' },
  { name: 'content_hash', type: 'text' },
  { name: 'export_as', type: 'text' },
  { name: 'server_modified', type: 'timestamptz' },
  { name: 'client_modified', type: 'timestamptz' },
  { name: 'modified_by', type: 'text' },
  { name: 'blocks', type: 'bytea' },
  ...['valid_from_run', 'valid_until_run', 'seen_run'].map((name) => ({ name, type: 'text' as const })),
];

/** Backs up one entity; safe to call concurrently and repeatedly (the entity lock serialises runs). */
export async function runBackup(deps: AppDeps, job: BackupJob, opts: BackupOptions = {}): Promise<BackupOutcome> {
  const { sql } = deps;
  const [entity] = await deps.db.select().from(entities).where(and(eq(entities.id, job.entityId), eq(entities.accountId, job.accountId)));
  if (!entity || entity.state !== 'active') return { outcome: 'skipped', reason: 'entity not found or deleted' };
  const [task] = await deps.db.select().from(tasks).where(and(eq(tasks.id, entity.taskId), eq(tasks.accountId, job.accountId)));
  if (!task || task.state !== 'active') return { outcome: 'skipped', reason: 'task not found or deleted' };
  if (task.connectionStatus !== 'connected' || !task.refreshToken || !task.dropboxAdminMemberId) return { outcome: 'skipped', reason: 'task not connected' };
  if (task.pausedAt) return { outcome: 'skipped', reason: 'task is paused' };
  if (!entity.namespaceId) return { outcome: 'skipped', reason: 'entity has no namespace' };
  if (entity.status === 'paused' || entity.status === 'not_active' || entity.status === 'archived' || entity.status === 'backed_up_in_another_task') {
    return { outcome: 'skipped', reason: `entity is ${entity.status}` };
  }

  const conn = await sql.reserve();
  try {
    const [lock] = await conn<{ ok: boolean }[]>`select pg_try_advisory_lock(hashtextextended(${entityLockKey(entity.id)}, 0)) as ok`;
    if (!lock?.ok) return { outcome: 'skipped', reason: 'a backup of this entity is already running' };
    try {
      // Shared with other backups of the account, exclusive with its garbage collection (retention.ts).
      await conn`select pg_advisory_lock_shared(hashtextextended(${accountLockKey(entity.accountId)}, 0))`;
      try {
        const engine = new EntityBackup(deps, job, entity, task, opts);
        try {
          return await engine.execute();
        } finally {
          engine.release();
        }
      } finally {
        await conn`select pg_advisory_unlock_shared(hashtextextended(${accountLockKey(entity.accountId)}, 0))`.catch(() => {});
      }
    } finally {
      await conn`select pg_advisory_unlock(hashtextextended(${entityLockKey(entity.id)}, 0))`.catch(() => {});
    }
  } finally {
    conn.release();
  }
}

type EntityRow = typeof entities.$inferSelect;
type TaskRow = typeof tasks.$inferSelect;

export class EntityBackup {
  readonly deps: AppDeps;
  readonly sql: postgres.Sql;
  readonly job: BackupJob;
  readonly entity: EntityRow;
  readonly task: TaskRow;
  readonly opts: BackupOptions;
  readonly accountId: string;
  readonly scope: CallScope;
  readonly team: DropboxTeam;
  readonly fetch: Fetch;
  run!: RunRow; // the backup_runs row being written
  writer!: PackWriter;
  store!: BlobStore;
  /** Blocks on their way to the writer, checked against the account's stored blocks in batches. */
  ingest!: BlockIngest;
  /** Content hashes whose blocks this attempt stored, not yet committed to `contents`. */
  inflight = new Map<string, Promise<Content>>();
  /** Whether the entity has no completed run (a first backup may use download_zip). */
  firstEver = false;
  /** Contents the zip pre-pass stored (blocks durable), by content_hash; recorded by the pages that list them. */
  zipContents = new Map<string, { content_hash: string; size: number; blocks: Buffer }>();
  /** Files and bytes the zip pre-pass fetched (durable), added to the counts at the next page commit. */
  zipFiles = 0;
  zipBytes = 0;
  /** The first backup's zip pre-pass while it runs alongside the pages; null when none is running. */
  prepass: Promise<void> | null = null;
  /** Set when the listing stopped early: the pre-pass starts no further zip. */
  prepassStop = false;
  /** What ended the pre-pass, if it failed in a way the run must fail for (an auth error). */
  prepassFailure: unknown = null;
  /** Resolved (and replaced) whenever more zipped contents became durable, or the pre-pass ended. */
  zipProgress = Promise.withResolvers<void>();
  /** Stored bytes reported by onPackWritten since the last page commit. */
  storedSinceCommit = 0;
  startedMs = 0;

  constructor(deps: AppDeps, job: BackupJob, entity: EntityRow, task: TaskRow, opts: BackupOptions) {
    this.deps = deps;
    this.sql = deps.sql;
    this.job = job;
    this.entity = entity;
    this.task = task;
    this.opts = opts;
    this.accountId = entity.accountId;
    this.scope = adminScope(task.dropboxAdminMemberId!, entity.namespaceId!);
    const refreshToken = deps.keyring.openSecret(task.refreshToken!, 'dropbox-refresh-token');
    this.team = new DropboxTeam({
      config: deps.config.dropbox,
      refreshToken,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
      ...(opts.policy ?? deps.dropboxPolicy ? { policy: opts.policy ?? deps.dropboxPolicy } : {}),
      ...(opts.sleep ? { sleep: opts.sleep } : {}),
      ...(opts.pacer ? { pacer: opts.pacer } : {}),
    });
    this.fetch = this.team.fetch;
  }

  /**
   * Drop what the run held (the writer's and the ingest's maps of blocks). postgres.js keeps the
   * first Error (with its unserialised stack, receivers included) of every query call site for the
   * life of the process, so an engine object can outlive its run; its buffers must not.
   */
  release(): void {
    this.writer = undefined as never;
    this.ingest = undefined as never;
    this.inflight.clear();
    this.zipContents.clear();
  }

  callCount(): number {
    let n = 0;
    for (const v of this.team.calls.values()) n += v;
    return n;
  }

  async execute(): Promise<BackupOutcome> {
    this.startedMs = Date.now();
    this.run = await this.openRun();
    try {
      const storage = await accountStorage(this.deps, this.accountId);
      const tracked = new TrackingStore(storage.store, this.sql, this.accountId, this.run.id, () => this.deps.clock.now());
      this.store = this.opts.wrapStore ? this.opts.wrapStore(tracked) : tracked;
      await this.cleanupPendingPacks(storage.store);
      this.writer = new PackWriter({
        store: this.store,
        keys: storage.keys,
        ...(this.opts.targetPackSize ? { targetPackSize: this.opts.targetPackSize } : {}),
        onPackWritten: (pack) => this.recordPack(pack),
        ...(this.opts.inlineEncoding ? {} : { encoder: sharedEncoderPool() }),
      });
      this.ingest = new BlockIngest({ writer: this.writer, lookup: (hexes) => this.storedBlocks(hexes) });
      await this.listAndApply();
      return await this.complete();
    } catch (err) {
      if (err instanceof DropboxAuthError) return this.fail(err, { disconnect: true });
      if (isPermanent(err) || this.run.resumes >= MAX_RESUMES) return this.fail(err, { disconnect: false });
      // Transient (network, storage, database): the run stays `running`; the job's retry resumes it.
      throw err;
    }
  }

  async openRun(): Promise<RunRow> {
    const { sql } = this;
    const now = this.deps.clock.now();
    const [existing] = await sql<RunRow[]>`
      select id, mode, start_cursor, cursor, pages, resumes, started_at, dropbox_calls, errors from backup_runs
      where entity_id = ${this.entity.id} and state = 'running' order by id desc limit 1`;
    if (existing) {
      const [done] = await sql`select 1 from backup_runs where entity_id = ${this.entity.id} and state in ('succeeded', 'partial') limit 1`;
      this.firstEver = !done;
      await sql`update backup_runs set resumes = resumes + 1 where id = ${existing.id}`;
      return { ...existing, resumes: existing.resumes + 1 };
    }
    const [last] = await sql<{ id: string; cursor: string | null; errors: RunError[] }[]>`
      select id, cursor, errors from backup_runs
      where entity_id = ${this.entity.id} and state in ('succeeded', 'partial') order by id desc limit 1`;
    const mode: RunMode = last?.cursor ? 'incremental' : 'full';
    this.firstEver = !last;
    const id = newId('run', Math.max(now.getTime(), Date.now()));
    // Failed items of the last run are retried first (their listing entries will not come again).
    const retry = mode === 'incremental' ? (last?.errors ?? []).filter((e) => e.entry) : [];
    await sql.begin(async (tx) => {
      await tx`insert into backup_runs (id, account_id, task_id, entity_id, state, reason, mode, started_at, start_cursor, errors)
        values (${id}, ${this.accountId}, ${this.task.id}, ${this.entity.id}, 'running', ${this.job.reason}, ${mode}, ${now.toISOString()},
          ${last?.cursor ?? null}, '[]'::jsonb)`;
      if (retry.length) await tx`update backup_runs set errors = ${JSON.stringify(retry.map((e) => ({ ...e, retry: true })))}::jsonb where id = ${id}`;
      await tx`update entities set status = case when status in ${tx(KEEP_STATUS_LIST)} then status else 'in_process' end, updated_at = ${now.toISOString()}
        where id = ${this.entity.id}`;
    });
    return { id, mode, start_cursor: last?.cursor ?? null, cursor: null, pages: 0, resumes: 0, started_at: now, dropbox_calls: 0, errors: retry.map((e) => ({ ...e, retry: true })) as RunError[] };
  }

  /** Pack objects a dead attempt of this run PUT (or was about to) without recording their blocks. */
  async cleanupPendingPacks(store: BlobStore): Promise<void> {
    const pending = await this.sql<{ id: string; key: string }[]>`
      select id, key from packs where run_id = ${this.run.id} and state = 'pending'`;
    if (!pending.length) return;
    await store.delete(pending.map((p) => p.key));
    await this.sql`delete from packs where id in ${this.sql(pending.map((p) => p.id))} and state = 'pending'`;
  }

  async recordPack(pack: WrittenPack): Promise<void> {
    const rows = pack.blocks.map((b) => ({
      account_id: this.accountId,
      hash: b.hash,
      pack_id: b.packId,
      offset: b.offset,
      length: b.length,
      plain_size: b.plainSize,
      stored_size: b.storedSize,
      compressed: b.compressed,
    }));
    await this.sql.begin(async (tx) => {
      // A condemned row (retention.ts) is revived with this new copy's location.
      await insertRows(tx, 'blocks', BLOCK_COLUMNS, rows, `on conflict (account_id, hash) do update
        set pack_id = excluded.pack_id, "offset" = excluded."offset", length = excluded.length, stored_size = excluded.stored_size,
          compressed = excluded.compressed, condemned_at = null
        where blocks.condemned_at is not null`);
      await tx`update packs set state = 'written', size = ${pack.size} where id = ${pack.packId}`;
    });
    for (const b of pack.blocks) {
      this.ingest.markStored(b.hash.toString('hex'));
      this.storedSinceCommit += b.storedSize;
    }
  }

  // ---- listing ---------------------------------------------------------------------------------

  async listAndApply(): Promise<void> {
    const run = this.run;
    if (run.mode === 'incremental' && run.cursor === null) {
      // First page of an incremental run: retry the last run's failed items.
      const retry = run.errors.filter((e) => (e as RunError & { retry?: boolean }).retry && e.entry);
      const entries: ListEntry[] = [];
      for (const e of retry) {
        const meta = await getMetadata(this.team, this.scope, (e.entry as { path_lower?: string }).path_lower ?? e.path);
        if (meta && meta['.tag'] === 'file') entries.push(meta);
      }
      await this.applyPage(entries, run.start_cursor!, { clearRetries: true });
    }
    let cursor = run.cursor ?? (run.mode === 'incremental' ? run.start_cursor : null);
    let pending: ListPage | null = null;
    const budget = this.opts.zipMaxBytes ?? ZIP_MAX_BYTES;
    if (run.mode === 'full' && run.pages === 0 && cursor === null && this.firstEver && budget > 0) {
      // The first page tells whether this looks like many small files (worth zipping) or a few big
      // ones (better streamed one by one: a zip cannot be resumed or ranged).
      pending = await listFolderStart(this.team, this.scope, this.opts.pageLimit ?? LIST_LIMIT);
      const files = pending.entries.filter((e): e is files_FileEntry => e['.tag'] === 'file');
      const bytes = files.reduce((n, e) => n + e.size, 0);
      if (files.length >= ZIP_MIN_FILES && bytes / files.length < SMALL_FILE_BYTES && (pending.hasMore || bytes <= budget)) {
        // The zips are fetched and stored while the pages are applied: a page waits only for the
        // zips holding its files (durable), and its database work overlaps the next zips' storing.
        this.prepass = zipPrepass(this)
          .catch((err: unknown) => {
            this.prepassFailure = err;
          })
          .finally(() => {
            this.prepass = null;
            this.zipProgressed();
          });
      }
    }
    // The next page is fetched while this one is applied (one page ahead: a page is at most
    // LIST_LIMIT entries, so memory stays bounded).
    let ahead: Promise<ListPage> | null = null;
    try {
      for (;;) {
        let page: ListPage;
        try {
          if (pending) {
            page = pending;
            pending = null;
          } else if (ahead) {
            const next = ahead;
            ahead = null;
            page = await next;
          } else {
            page = cursor ? await listFolderContinue(this.team, this.scope, cursor) : await listFolderStart(this.team, this.scope, this.opts.pageLimit ?? LIST_LIMIT);
          }
        } catch (err) {
          if (!(err instanceof ListingResetError)) throw err;
          await this.switchToFull();
          cursor = null;
          continue;
        }
        if (page.hasMore) {
          ahead = listFolderContinue(this.team, this.scope, page.cursor);
          // Its failure is seen when the page is taken; until then (a page may wait for zips) it must not count as unhandled.
          ahead.catch(() => {});
        }
        // The last page commits after the pre-pass ended, so the run counts everything it fetched.
        if (!page.hasMore && this.prepass) await this.prepass;
        if (this.prepassFailure) throw this.prepassFailure;
        await this.applyPage(page.entries, page.cursor, {});
        cursor = page.cursor;
        if (!page.hasMore) return;
      }
    } finally {
      // A page fetched ahead of a failure is dropped; its error (if any) must not go unobserved.
      if (ahead) await (ahead as Promise<ListPage>).catch(() => {});
      // Never leave the pre-pass running behind a failure (it uses the writer this run owns).
      this.prepassStop = true;
      if (this.prepass) await this.prepass;
    }
  }

  zipProgressed(): void {
    const progress = this.zipProgress;
    this.zipProgress = Promise.withResolvers<void>();
    progress.resolve();
  }

  /** The saved cursor was reset by Dropbox: relist everything; what the relist does not see is closed at the end. */
  async switchToFull(): Promise<void> {
    await this.sql.begin(async (tx) => {
      await tx`update backup_runs set mode = 'full', cursor = null where id = ${this.run.id}`;
      await tx`update item_versions set seen_run = null
        where entity_id = ${this.entity.id} and valid_until_run is null and seen_run = ${this.run.id}`;
    });
    this.run.mode = 'full';
    this.run.cursor = null;
  }

  // ---- one page --------------------------------------------------------------------------------

  async applyPage(entries: ListEntry[], nextCursor: string, flags: { clearRetries?: boolean }): Promise<void> {
    const { sql } = this;
    const runId = this.run.id;
    const full = this.run.mode === 'full';
    const paths = [...new Set(entries.map((e) => e.path_lower!).filter(Boolean))];
    const aliveRows = paths.length
      ? await sql<AliveRow[]>`
          select id, path_lower, kind, rev, content_hash, export_as, valid_from_run from item_versions
          where entity_id = ${this.entity.id} and valid_until_run is null and path_lower = any(${paths})`
      : [];
    const alive = new Map(aliveRows.map((r) => [r.path_lower, r]));

    // Content for new or changed files: stored already (contents), or downloaded now.
    const wanted = new Map<string, files_FileEntry>();
    for (const e of entries) {
      if (e['.tag'] !== 'file') continue;
      if (unchanged(alive.get(e.path_lower!), e)) continue;
      const hash = contentKey(e);
      if (!wanted.has(hash)) wanted.set(hash, e as files_FileEntry);
    }
    const contentByHash = new Map<string, Content>();
    const failures = new Map<string, string>();
    const newContents: { content_hash: string; size: number; blocks: Buffer }[] = [];
    if (wanted.has(EMPTY_CONTENT_HASH)) contentByHash.set(EMPTY_CONTENT_HASH, { size: 0, blocks: Buffer.alloc(0) });
    // What this run's zip pre-pass stored: known without asking the database, recorded with the page.
    const takeZipped = () => {
      for (const h of wanted.keys()) {
        const zipped = contentByHash.has(h) ? undefined : this.zipContents.get(h);
        if (!zipped) continue;
        contentByHash.set(h, { size: zipped.size, blocks: zipped.blocks });
        newContents.push(zipped);
      }
    };
    takeZipped();
    const hashes = [...wanted.keys()].filter((h) => h !== '' && h !== EMPTY_CONTENT_HASH && !contentByHash.has(h));
    if (hashes.length) {
      // Condemned contents (retention.ts) count as missing; filtered here for the same reason as in storedBlocks.
      const rows = await sql<{ content_hash: string; size: number; blocks: Buffer; condemned: boolean }[]>`
        select content_hash, size::float8 as size, blocks, condemned_at is not null as condemned from contents
        where account_id = ${this.accountId} and content_hash = any(${hashes})`;
      for (const r of rows) if (!r.condemned) contentByHash.set(r.content_hash, { size: Number(r.size), blocks: r.blocks });
    }
    // While the zips are still being stored, what the page lacks is most likely in one of them:
    // wait for them rather than fetch it file by file.
    while (this.prepass && [...wanted.keys()].some((h) => h !== '' && !contentByHash.has(h))) {
      await this.zipProgress.promise;
      takeZipped();
    }
    if (this.prepassFailure) throw this.prepassFailure;
    let downloaded = 0;
    let bytesDownloaded = 0;
    let toFetch = [...wanted.entries()].filter(([h]) => !contentByHash.has(h));
    let zippedNow = 0;
    if (!this.firstEver) {
      // A folder that appeared since the last run, holding many small files: one zip of it rather than a call per file.
      const zipped = await zipNewFolders(this, entries, alive, toFetch);
      zippedNow = zipped.length;
      for (const c of zipped) {
        if (wanted.has(c.content_hash) && !contentByHash.has(c.content_hash)) contentByHash.set(c.content_hash, { size: c.size, blocks: c.blocks });
        newContents.push(c); // later pages may list the rest of the folder
      }
      if (zipped.length) toFetch = toFetch.filter(([h]) => !contentByHash.has(h));
    }
    // Small files are latency-bound (one call each): more in flight. Big ones are bandwidth- and
    // memory-bound (a 4 MiB block in the splitter each): fewer.
    const smallFiles = toFetch.filter(([, e]) => e.size < SMALL_FILE_BYTES);
    const bigFiles = toFetch.filter(([, e]) => e.size >= SMALL_FILE_BYTES);
    const fetchOne = async ([hash, entry]: [string, files_FileEntry]) => {
      if (!hash) {
        failures.set(hash, 'Dropbox reported no content_hash for this file');
        return;
      }
      try {
        const content = entry.is_downloadable === false ? await this.exportDocument(entry, hash) : await this.download(entry);
        contentByHash.set(hash, content);
        newContents.push({ content_hash: hash, size: content.size, blocks: content.blocks });
        downloaded++;
        bytesDownloaded += content.size;
      } catch (err) {
        if (err instanceof DropboxAuthError) throw err;
        failures.set(hash, errorText(err));
      }
    };
    await Promise.all([
      mapLimit(smallFiles, this.opts.concurrency ?? SMALL_FILE_CONCURRENCY, fetchOne),
      mapLimit(bigFiles, Math.min(this.opts.concurrency ?? BIG_FILE_CONCURRENCY, BIG_FILE_CONCURRENCY), fetchOne),
    ]);
    // Blocks this page stored become durable before the page records them. A page that stored
    // nothing leaves the writer alone: sealing now would cut short the pack a running pre-pass fills.
    if (toFetch.length > 0 || zippedNow > 0) await this.flushBlocks();

    // Apply the entries in order (the processing rules of docs/dropbox.md §3.1).
    const exactCloses = new Set<string>();
    const subtreeCloses = new Set<string>();
    const inserts = new Map<string, Record<string, unknown>>();
    const seen: string[] = [];
    const errors: RunError[] = [];
    let nNew = 0;
    let nChanged = 0;
    let nUnchanged = 0;
    let nFailed = 0;
    let replaced = 0;
    const dropUnder = (p: string) => {
      for (const k of [...alive.keys()]) if (k === p || k.startsWith(p + '/')) alive.delete(k);
      for (const k of [...inserts.keys()]) if (k === p || k.startsWith(p + '/')) inserts.delete(k);
    };
    const close = (p: string, cur: AliveRow | undefined) => {
      if (cur?.kind === 'folder') subtreeCloses.add(p);
      else if (cur) exactCloses.add(p);
      dropUnder(p);
    };
    for (const e of entries) {
      const p = e.path_lower;
      if (!p) continue;
      const cur = alive.get(p);
      if (e['.tag'] === 'deleted') {
        const pending = inserts.get(p);
        close(p, cur ?? (pending ? ({ kind: pending.kind } as AliveRow) : undefined));
        continue;
      }
      if (e['.tag'] === 'folder') {
        if (inserts.get(p)?.kind === 'folder') continue;
        if (cur?.kind === 'folder') {
          seen.push(cur.id);
          nUnchanged++;
          continue;
        }
        if (cur) {
          close(p, cur);
          replaced++;
        } else if (inserts.has(p)) dropUnder(p);
        inserts.set(p, this.versionRow(e, null));
        nNew++;
        continue;
      }
      // file
      if (cur && unchanged(cur, e) && !inserts.has(p)) {
        seen.push(cur.id);
        nUnchanged++;
        continue;
      }
      const content = contentByHash.get(contentKey(e));
      if (!content) {
        const error = failures.get(contentKey(e)) ?? 'content not available';
        errors.push({ path: e.path_display ?? p, error, entry: e as unknown as Record<string, unknown> });
        nFailed++;
        // Keep what we had at this path (its old version stays in the snapshot); mark it seen.
        if (cur) seen.push(cur.id);
        continue;
      }
      if (cur) {
        close(p, cur);
        replaced++;
        if (cur.kind === 'file') nChanged++;
        else nNew++;
      } else {
        if (inserts.has(p)) dropUnder(p);
        nNew++;
      }
      inserts.set(p, this.versionRow(e, content));
    }

    const storedBytes = this.storedSinceCommit;
    const calls = this.callCount();
    downloaded += this.zipFiles;
    bytesDownloaded += this.zipBytes;
    this.zipFiles = 0;
    this.zipBytes = 0;
    await sql.begin(async (tx) => {
      let closed = 0;
      const exact = [...exactCloses];
      const subtree = [...subtreeCloses];
      if (exact.length || subtree.length) {
        const del = await tx`
          delete from item_versions where entity_id = ${this.entity.id} and valid_until_run is null and valid_from_run = ${runId}
            and (path_lower = any(${exact.concat(subtree)})
                 or (${subtree.length > 0} and exists (select 1 from unnest(${subtree}::text[]) r where starts_with(path_lower, r || '/'))))`;
        const upd = await tx`
          update item_versions set valid_until_run = ${runId}
          where entity_id = ${this.entity.id} and valid_until_run is null and valid_from_run < ${runId}
            and (path_lower = any(${exact.concat(subtree)})
                 or (${subtree.length > 0} and exists (select 1 from unnest(${subtree}::text[]) r where starts_with(path_lower, r || '/'))))`;
        closed = upd.count;
        void del;
      }
      if (full && seen.length) {
        await tx`update item_versions set seen_run = ${runId} where id = any(${seen})`;
      }
      await insertRows(tx, 'item_versions', ITEM_VERSION_COLUMNS, [...inserts.values()]);
      // One row per content_hash: ON CONFLICT DO UPDATE refuses to touch a row twice in one statement
      // (two new folders zipped in one page may hold the same file).
      const contentRows = [...new Map(newContents.map((c) => [c.content_hash, { account_id: this.accountId, ...c }])).values()];
      await insertRows(tx, 'contents', CONTENT_COLUMNS, contentRows,
        'on conflict (account_id, content_hash) do update set condemned_at = null where contents.condemned_at is not null');
      const deleted = Math.max(0, closed - replaced);
      const errorsJson = JSON.stringify(errors);
      await tx`
        update backup_runs set
          cursor = ${nextCursor}, pages = pages + 1,
          new_count = new_count + ${nNew}, changed_count = changed_count + ${nChanged}, deleted_count = deleted_count + ${deleted},
          failed_count = failed_count + ${nFailed}, unchanged_count = unchanged_count + ${nUnchanged},
          downloaded_count = downloaded_count + ${downloaded}, bytes_downloaded = bytes_downloaded + ${bytesDownloaded},
          bytes_stored = bytes_stored + ${storedBytes},
          dropbox_calls = ${this.run.dropbox_calls + calls},
          errors = ${flags.clearRetries ? tx`${errorsJson}::jsonb` : tx`errors || ${errorsJson}::jsonb`}
        where id = ${runId}`;
    });
    this.storedSinceCommit -= storedBytes;
    this.run.cursor = nextCursor;
    this.run.pages++;
    await this.opts.onPageCommitted?.({ runId, pages: this.run.pages });
  }

  versionRow(e: ListEntry, content: Content | null): Record<string, unknown> {
    const p = e.path_lower!;
    const slash = p.lastIndexOf('/');
    const file = e['.tag'] === 'file' ? (e as files_FileEntry) : undefined;
    const blocks = content?.blocks ?? null;
    // An exported document is stored as its export: size and hash of those bytes, and the format.
    const exported = file?.is_downloadable === false && content !== null;
    return {
      id: newId('item'),
      account_id: this.accountId,
      entity_id: this.entity.id,
      path_lower: p,
      path_display: e.path_display ?? p,
      parent_lower: slash <= 0 ? '' : p.slice(0, slash),
      name: e.name,
      kind: file ? 'file' : 'folder',
      dropbox_id: (e as { id?: string }).id ?? null,
      rev: file?.rev ?? null,
      size: exported ? content.size : (file?.size ?? 0),
      content_hash: exported ? contentHashFromBlockHashes(blockHashes(content.blocks)) : (file?.content_hash ?? null),
      export_as: exported ? exportFormat(file) : null,
      server_modified: file ? file.server_modified : null,
      client_modified: file ? file.client_modified : null,
      modified_by: file?.sharing_info?.modified_by ?? null,
      blocks,
      valid_from_run: this.run.id,
      valid_until_run: null,
      seen_run: this.run.id,
    };
  }

  /** Bytes later runs may still fetch as zips of new folders (the first run's pre-pass has its own budget). */
  newFolderZipBudget = -1;

  /** Stores a file of at most one block (4 MiB) held in memory. */
  async storeBlock(data: Buffer): Promise<{ content_hash: string; size: number; blocks: Buffer }> {
    const hash = sha256(data);
    await this.ingest.add(hash, data);
    return { content_hash: contentHashFromBlockHashes([hash]), size: data.length, blocks: hash };
  }

  async storeStream(body: AsyncIterable<Uint8Array>): Promise<{ content_hash: string; size: number; blocks: Buffer }> {
    const splitter = new BlockSplitter(body);
    for await (const block of splitter) await this.ingest.add(block.sha256, block.data);
    return { content_hash: splitter.contentHash, size: splitter.size, blocks: Buffer.concat(splitter.blockHashes as Buffer[]) };
  }

  /**
   * A document Dropbox cannot download as it is (Paper, Google Docs): files/export streamed into
   * packs, checked against the export's size and hash when Dropbox gives them. Stored under a
   * content key of its own (`contentKey`), so the same document is not exported twice.
   */
  exportDocument(entry: files_FileEntry, key: string): Promise<Content> {
    return this.fetchContent(key, entry.id ?? entry.path_lower!, 'files/export', (got, result) => {
      const meta = (result as { export_metadata?: { size?: number; export_hash?: string } } | undefined)?.export_metadata;
      if (meta?.size !== undefined && got.size !== meta.size) throw new TruncatedBodyError(got.size, meta.size);
      if (meta?.export_hash && got.contentHash !== meta.export_hash) {
        throw new DownloadError(`export_hash mismatch: Dropbox reported ${meta.export_hash}, the exported bytes hash to ${got.contentHash}`, undefined, false);
      }
    });
  }

  /** Streams one file into packs; resolves with its block list once its content_hash checked out. */
  download(entry: files_FileEntry): Promise<Content> {
    const hash = entry.content_hash!;
    return this.fetchContent(hash, `rev:${entry.rev}`, 'files/download', (got) => {
      if (got.size !== entry.size) throw new TruncatedBodyError(got.size, entry.size);
      if (got.contentHash !== hash) {
        throw new DownloadError(`content_hash mismatch: Dropbox reported ${hash}, the downloaded bytes hash to ${got.contentHash}`, undefined, false);
      }
    });
  }

  /**
   * One download or export into packs, shared by concurrent callers asking for the same key. The
   * body goes through the splitter into the ingest; `verify` throws when the bytes are not the ones
   * Dropbox described (a truncated body is retried by downloadFile, a mismatch is not).
   */
  fetchContent(key: string, path: string, route: 'files/download' | 'files/export', verify: (got: { size: number; contentHash: string }, result: Record<string, unknown> | undefined) => void): Promise<Content> {
    let p = this.inflight.get(key);
    if (!p) {
      p = downloadFile(this.team, this.scope, path, async (body, expectedSize, result) => {
        const splitter = new BlockSplitter(body);
        for await (const block of splitter) await this.ingest.add(block.sha256, block.data);
        if (expectedSize !== undefined && splitter.size !== expectedSize) throw new TruncatedBodyError(splitter.size, expectedSize);
        verify({ size: splitter.size, contentHash: splitter.contentHash }, result);
        return { size: splitter.size, blocks: Buffer.concat(splitter.blockHashes as Buffer[]) };
      }, { fetch: this.fetch, route, ...(this.opts.sleep ? { sleep: this.opts.sleep } : {}) });
      this.inflight.set(key, p);
      p.then(() => this.inflight.delete(key), () => this.inflight.delete(key));
    }
    return p;
  }

  /** Blocks queued so far are stored and recorded: their contents may be committed. */
  async flushBlocks(): Promise<void> {
    await this.ingest.flush();
    await this.writer.flush();
  }

  /** Which of these blocks the account stores (one query for a whole batch). */
  async storedBlocks(hexes: string[]): Promise<Set<string>> {
    // Condemned rows (retention.ts) count as missing. Filtered here, not in SQL: with the filter in
    // the WHERE clause the planner gave up the index plan and a first backup took twice as long.
    const rows = await this.sql<{ hex: string; condemned: boolean }[]>`
      select encode(hash, 'hex') as hex, condemned_at is not null as condemned from blocks
      where account_id = ${this.accountId} and hash in (select decode(x, 'hex') from unnest(${hexes}::text[]) x)`;
    return new Set(rows.filter((r) => !r.condemned).map((r) => r.hex));
  }

  // ---- completion ------------------------------------------------------------------------------

  async complete(): Promise<BackupOutcome> {
    const { sql } = this;
    const runId = this.run.id;
    const now = this.deps.clock.now();
    const result = await sql.begin(async (tx) => {
      let closedUnseen = 0;
      if (this.run.mode === 'full') {
        await tx`delete from item_versions where entity_id = ${this.entity.id} and valid_until_run is null
          and valid_from_run = ${runId} and seen_run is distinct from ${runId}`;
        const upd = await tx`update item_versions set valid_until_run = ${runId}
          where entity_id = ${this.entity.id} and valid_until_run is null and valid_from_run < ${runId} and seen_run is distinct from ${runId}`;
        closedUnseen = upd.count;
      }
      const [totals] = await tx<{ items: number; size: number }[]>`
        select count(*)::int as items, coalesce(sum(size), 0)::float8 as size from item_versions
        where entity_id = ${this.entity.id} and valid_until_run is null`;
      const [run] = await tx<{ new_count: number; changed_count: number; deleted_count: number; failed_count: number; unchanged_count: number; downloaded_count: number; bytes_downloaded: number; bytes_stored: number; errors: RunError[]; started_at: Date }[]>`
        update backup_runs set deleted_count = deleted_count + ${closedUnseen} where id = ${runId}
        returning new_count, changed_count, deleted_count, failed_count, unchanged_count, downloaded_count,
          bytes_downloaded::float8 as bytes_downloaded, bytes_stored::float8 as bytes_stored, errors, started_at`;
      const state = run!.failed_count > 0 ? 'partial' : 'succeeded';
      await tx`update backup_runs set state = ${state}, finished_at = ${now.toISOString()}, total_items = ${totals!.items}, total_size = ${totals!.size},
        dropbox_calls = ${this.run.dropbox_calls + this.callCount()}
        where id = ${runId}`;
      const next = nextBackupAt(this.task.frequency, this.task.backupHour, now, now);
      await tx`update entities set status = case when status in ${tx(KEEP_STATUS_LIST)} then status else ${state === 'succeeded' ? 'success' : 'partial'} end, size_bytes = ${totals!.size}, item_count = ${totals!.items},
        first_backup_at = coalesce(first_backup_at, ${now.toISOString()}), last_backup_at = ${now.toISOString()},
        next_backup_at = case when next_backup_at is null or next_backup_at <= ${now.toISOString()} then ${next.toISOString()} else next_backup_at end,
        updated_at = ${now.toISOString()}
        where id = ${this.entity.id}`;
      const counts = {
        new: run!.new_count, changed: run!.changed_count, deleted: run!.deleted_count, failed: run!.failed_count,
        unchanged: run!.unchanged_count, downloaded: run!.downloaded_count,
      };
      await tx`insert into activity_events ${tx({
        id: newId('evt'),
        account_id: this.accountId,
        type: 'backup',
        service: 'dropbox',
        sub_service: this.entity.kind === 'member' ? 'members' : 'team_folders',
        status: state === 'succeeded' ? 'succeeded' : 'partially_succeeded',
        task_id: this.task.id,
        task_name: this.task.name,
        entity_id: this.entity.id,
        item: this.entity.name,
        description: `Backup of ${this.entity.name}: ${counts.new} new, ${counts.changed} changed, ${counts.deleted} deleted${counts.failed ? `, ${counts.failed} failed` : ''}`,
        duration_ms: Math.max(0, now.getTime() - new Date(run!.started_at).getTime()),
        size_bytes: totals!.size,
        counts: JSON.stringify(counts),
        details: JSON.stringify({ run_id: runId, bytes_downloaded: run!.bytes_downloaded, bytes_stored: run!.bytes_stored, items: totals!.items, errors: run!.errors.slice(0, 20).map((e) => ({ path: e.path, error: e.error })) }),
        occurred_at: now.toISOString(),
      } as never)}`;
      return { state, counts: { ...counts, bytesDownloaded: run!.bytes_downloaded, bytesStored: run!.bytes_stored } };
    });
    return { outcome: result.state as 'succeeded' | 'partial', runId, counts: result.counts, dropboxCalls: this.callCount() };
  }

  /** Roll the run back (its rows never become a snapshot), mark it failed, and say why. */
  async fail(err: unknown, opts: { disconnect: boolean }): Promise<BackupOutcome> {
    const { sql } = this;
    const runId = this.run.id;
    const now = this.deps.clock.now();
    const message = errorText(err);
    await sql.begin(async (tx) => {
      await tx`delete from item_versions where entity_id = ${this.entity.id} and valid_from_run = ${runId}`;
      await tx`update item_versions set valid_until_run = null where entity_id = ${this.entity.id} and valid_until_run = ${runId}`;
      await tx`update backup_runs set state = 'failed', finished_at = ${now.toISOString()}, error = ${message},
        dropbox_calls = ${this.run.dropbox_calls + this.callCount()} where id = ${runId}`;
      await tx`update entities set status = case when status in ${tx(KEEP_STATUS_LIST)} then status else 'failed' end, updated_at = ${now.toISOString()},
        next_backup_at = case when next_backup_at is null or next_backup_at <= ${now.toISOString()} then ${nextBackupAt(this.task.frequency, this.task.backupHour, now, now).toISOString()} else next_backup_at end
        where id = ${this.entity.id}`;
      if (opts.disconnect) {
        await tx`update tasks set connection_status = 'disconnected', connection_error = ${message}, updated_at = ${now.toISOString()}, version = version + 1
          where id = ${this.task.id}`;
      }
      await tx`insert into activity_events ${tx({
        id: newId('evt'),
        account_id: this.accountId,
        type: 'backup',
        service: 'dropbox',
        sub_service: this.entity.kind === 'member' ? 'members' : 'team_folders',
        status: 'failed',
        task_id: this.task.id,
        task_name: this.task.name,
        entity_id: this.entity.id,
        item: this.entity.name,
        description: `Backup of ${this.entity.name} failed: ${message}`,
        duration_ms: Math.max(0, now.getTime() - new Date(this.run.started_at).getTime()),
        size_bytes: 0,
        counts: JSON.stringify({}),
        details: JSON.stringify({ run_id: runId, error: message, disconnected: opts.disconnect }),
        occurred_at: now.toISOString(),
      } as never)}`;
    });
    return { outcome: 'failed', runId, counts: emptyCounts(), error: message, dropboxCalls: this.callCount() };
  }
}

export type files_FileEntry = Extract<ListEntry, { '.tag': 'file' }>;

function exportFormat(e: files_FileEntry): string {
  return e.export_info?.export_as ?? 'export';
}

/**
 * The key a file's content is stored under in `contents`: its content_hash, or for a document that
 * only exports, a key naming the format and the document's own hash (its export hashes differently).
 */
function contentKey(e: ListEntry): string {
  const file = e as files_FileEntry;
  if (file.is_downloadable === false) return `export:${exportFormat(file)}:${file.content_hash ?? file.rev}`;
  return file.content_hash ?? '';
}

/** Whether the live version at a path already is this listing entry (an exported document: same rev). */
function unchanged(cur: AliveRow | undefined, e: ListEntry): boolean {
  if (!cur || cur.kind !== 'file') return false;
  const file = e as files_FileEntry;
  if (cur.rev !== file.rev) return false;
  return cur.export_as !== null ? file.is_downloadable === false : cur.content_hash === file.content_hash;
}

function emptyCounts(): RunCounts {
  return { new: 0, changed: 0, deleted: 0, failed: 0, unchanged: 0, downloaded: 0, bytesDownloaded: 0, bytesStored: 0 };
}

/** Errors that retrying the job will not fix. */
function isPermanent(err: unknown): boolean {
  if (err instanceof DropboxCallError) return err.status !== 429 && err.status < 500;
  return false;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message.slice(0, 500);
  return String(err).slice(0, 500);
}
