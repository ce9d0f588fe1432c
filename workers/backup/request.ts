// Asking for a backup: one pg-boss job per entity, deduplicated by the entity id (the backup queue's
// `short` policy, set in workers/queue.ts, keeps at most one queued job per key; the engine's entity
// lock keeps one running).
// Pass the caller's transaction so the job exists exactly when the caller's row changes commit.
import type { AppDeps } from '../../api/deps.ts';
import type { Tx } from '../../db/client.ts';
import { enqueue, QUEUES, type BackupJob } from '../queue.ts';

/** Enqueues a backup of the entity; resolves with the job id, or null when one is already queued (or there is no queue). */
export async function requestBackup(deps: Pick<AppDeps, 'boss'>, tx: Tx, job: BackupJob & { startAfterSeconds?: number }): Promise<string | null> {
  const { startAfterSeconds, ...data } = job;
  return enqueue(deps, tx, QUEUES.backup, data, {
    singletonKey: job.entityId,
    ...(startAfterSeconds ? { startAfter: startAfterSeconds } : {}),
  });
}
