// The backup of one entity (a member's folder or a team folder), as one `backup_runs` row.
//
// Flow: take the entity's lock (locks.ts) → resume the entity's `running` run, or start one
// (run-open.ts: `full` recursive files/list_folder when there is no completed run, else
// `incremental` list_folder/continue from the last completed run's cursor, so an unchanged entity
// costs one call) → list the pages (listing.ts) and apply each (page-commit.ts: the page's contents
// known, zipped or downloaded in page-contents.ts and content-fetch.ts, its diff in page-diff.ts,
// one transaction with the checkpoint cursor) → on the last page close what a full listing did not
// see and complete the run (run-finish.ts). A first backup of many small files fetches them as
// zips beside the pages (zip-prepass.ts). The state the stages share is run-state.ts.
//
// Crash safety: a page is applied atomically with the cursor that follows it, so a worker killed
// at any instant resumes from the last committed page and re-applies nothing twice. Blocks are
// recorded only after their pack's PUT succeeded; a pack is recorded `pending` before its PUT, so a
// resumed run deletes the pack objects its dead predecessor may have left behind (pack-records.ts).
// A run is visible as a snapshot only once completed; a run that fails for good is rolled back.
import { and, eq } from 'drizzle-orm';
import type { AppDeps } from '../../api/deps.ts';
import { entities, tasks } from '../../db/schema.ts';
import { NOT_BACKED_UP_STATUSES } from '../../db/schema/tasks.ts';
import { DropboxAuthError } from '../dropbox/oauth.ts';
import type { BackupJob } from '../queue.ts';
import { PackWriter } from '../storage/index.ts';
import { sharedEncoderPool } from '../storage/encoder-pool.ts';
import { BlockIngest } from './block-ingest.ts';
import { listAndApply } from './listing.ts';
import { withBackupLocks } from './locks.ts';
import { isPermanent, type BackupOptions, type BackupOutcome } from './outcome.ts';
import { cleanupPendingPacks, recordPack, storedBlocks } from './pack-records.ts';
import { completeRun, failRun } from './run-finish.ts';
import { openRun } from './run-open.ts';
import { EntityBackup } from './run-state.ts';
import { accountStorage } from './storage.ts';
import { TrackingStore } from './tracking-store.ts';

export type { BackupOptions, BackupOutcome, RunCounts } from './outcome.ts';

/** A run that keeps failing transiently is failed for good after this many resumes. */
const MAX_RESUMES = 20;

/** Backs up one entity; safe to call concurrently and repeatedly (the entity lock serialises runs). */
export async function runBackup(deps: AppDeps, job: BackupJob, opts: BackupOptions = {}): Promise<BackupOutcome> {
  const [entity] = await deps.db.select().from(entities).where(and(eq(entities.id, job.entityId), eq(entities.accountId, job.accountId)));
  if (!entity || entity.state !== 'active') return { outcome: 'skipped', reason: 'entity not found or deleted' };
  const [task] = await deps.db.select().from(tasks).where(and(eq(tasks.id, entity.taskId), eq(tasks.accountId, job.accountId)));
  if (!task || task.state !== 'active') return { outcome: 'skipped', reason: 'task not found or deleted' };
  if (task.connectionStatus !== 'connected' || !task.refreshToken || (task.plan !== 'professional' && !task.dropboxAdminMemberId)) return { outcome: 'skipped', reason: 'task not connected' };
  if (task.pausedAt) return { outcome: 'skipped', reason: 'task is paused' };
  if (!entity.namespaceId) return { outcome: 'skipped', reason: 'entity has no namespace' };
  if (NOT_BACKED_UP_STATUSES.includes(entity.status)) return { outcome: 'skipped', reason: `entity is ${entity.status}` };

  const outcome = await withBackupLocks(deps.sql, entity, async () => {
    const b = new EntityBackup(deps, job, entity, task, opts);
    try {
      return await execute(b);
    } finally {
      b.release();
    }
  });
  return outcome ?? { outcome: 'skipped', reason: 'a backup of this entity is already running' };
}

async function execute(b: EntityBackup): Promise<BackupOutcome> {
  b.run = await openRun(b);
  try {
    const storage = await accountStorage(b.deps, b.accountId);
    const tracked = new TrackingStore(storage.store, b.sql, b.accountId, b.run.id, () => b.deps.clock.now());
    b.store = b.opts.wrapStore ? b.opts.wrapStore(tracked) : tracked;
    await cleanupPendingPacks(b, storage.store);
    b.writer = new PackWriter({
      store: b.store,
      keys: storage.keys,
      ...(b.opts.targetPackSize ? { targetPackSize: b.opts.targetPackSize } : {}),
      onPackWritten: (pack) => recordPack(b, pack),
      ...(b.opts.inlineEncoding ? {} : { encoder: sharedEncoderPool() }),
    });
    b.ingest = new BlockIngest({ writer: b.writer, lookup: (hexes) => storedBlocks(b, hexes) });
    await listAndApply(b);
    return await completeRun(b);
  } catch (err) {
    if (err instanceof DropboxAuthError) return failRun(b, err, { disconnect: true });
    if (isPermanent(err) || b.run.resumes >= MAX_RESUMES) return failRun(b, err, { disconnect: false });
    // Transient (network, storage, database): the run stays `running`; the job's retry resumes it.
    throw err;
  }
}
