// The recovery queues' handlers: restore and export jobs (workers/recovery/*), and the post-backup
// search indexing. A job whose worker died is retried by pg-boss and resumes from its checkpoint;
// when the retries are exhausted the job is marked failed (resumable by the user). The engines only
// record a job's end state; telling the account (mail, job.state_changed webhook) happens here.
import type { Job } from 'pg-boss';
import type { AppDeps } from '../../api/deps.ts';
import { failJob, runRestore, type RestoreOptions, type RestoreOutcome } from '../recovery/restore.ts';
import { failExport, runExport, type ExportOptions } from '../recovery/export.ts';
import { indexEntity } from '../recovery/search-index.ts';
import { isTerminal, orphanedJobs, reload } from '../recovery/job-state.ts';
import { notifyJobFinished } from '../../api/resources/notifications/triggers.ts';
import { accountStorage } from '../backup/storage.ts';
import { enqueue, QUEUES, RECOVERY_RETRIES, type RecoveryJob, type SearchIndexJob } from '../queue.ts';

export async function restoreJob(deps: AppDeps, jobs: Job<RecoveryJob>[]): Promise<void> {
  for (const job of jobs) await withFinalFailure(deps, job, () => runRestore(deps, job.data.jobId), failJob);
}

export async function exportJob(deps: AppDeps, jobs: Job<RecoveryJob>[]): Promise<void> {
  for (const job of jobs) await withFinalFailure(deps, job, () => runExport(deps, job.data.jobId), failExport);
}

/** One restore run as the queue runs it (the engine, then the notification); tests call it directly. */
export async function runRestoreJob(deps: AppDeps, jobId: string, opts: RestoreOptions = {}): Promise<RestoreOutcome> {
  try {
    return await runRestore(deps, jobId, opts);
  } finally {
    await notifyIfFinished(deps, jobId);
  }
}

/** One export run as the queue runs it (the engine, then the notification); tests call it directly. */
export async function runExportJob(deps: AppDeps, jobId: string, opts: ExportOptions = {}): Promise<string> {
  try {
    return await runExport(deps, jobId, opts);
  } finally {
    await notifyIfFinished(deps, jobId);
  }
}

/** The queue gave up on an export: the engine fails it, then the account is told. */
export async function failExportJob(deps: AppDeps, jobId: string, err: unknown): Promise<void> {
  await failExport(deps, jobId, err);
  await notifyIfFinished(deps, jobId);
}

/**
 * The recovery notification and the job.state_changed webhook once the job is over. The trigger
 * claims `job:<id>:<state>`, so a run that found the job over already (a redelivered job) tells
 * no one twice; it never throws.
 */
async function notifyIfFinished(deps: AppDeps, jobId: string): Promise<void> {
  const job = await reload(deps, jobId);
  if (job && isTerminal(job.state)) await notifyJobFinished(deps, { id: jobId });
}

export async function searchIndexJob(deps: AppDeps, jobs: Job<SearchIndexJob>[]): Promise<void> {
  for (const job of jobs) await indexEntity(deps, job.data.accountId, job.data.entityId);
}

async function withFinalFailure(deps: AppDeps, job: Job<RecoveryJob>, fn: () => Promise<unknown>, fail: (deps: AppDeps, jobId: string, err: unknown) => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const j = job as Job<RecoveryJob> & { retryCount?: number; retryLimit?: number };
    if ((j.retryCount ?? 0) >= (j.retryLimit ?? RECOVERY_RETRIES)) await fail(deps, job.data.jobId, err);
    throw err;
  } finally {
    await notifyIfFinished(deps, job.data.jobId);
  }
}

/**
 * Every minute: restores and exports whose worker died (in progress, nobody holds their lock) or
 * that were never picked up are enqueued again; they resume from their checkpoint.
 */
export async function recoverySweepJob(deps: AppDeps): Promise<{ requeued: number; archivesDeleted: number }> {
  let requeued = 0;
  // Download archives whose 72 hours are over are erased (their links already answer 410).
  const expired = await deps.sql<{ id: string; account_id: string; result_key: string }[]>`
    select id, account_id, result_key from jobs where result_key is not null and expires_at < ${deps.clock.now().toISOString()} limit 100`;
  for (const job of expired) {
    const { store } = await accountStorage(deps, job.account_id);
    await store.delete([job.result_key]);
    await deps.sql`update jobs set result_key = null where id = ${job.id}`;
  }
  for (const job of await orphanedJobs(deps)) {
    const queue = job.type === 'restore' ? QUEUES.restore : QUEUES.export;
    const id = await enqueue(deps, null, queue, { accountId: job.account_id, jobId: job.id }, { singletonKey: `job:${job.id}:sweep` });
    if (id) requeued++;
  }
  return { requeued, archivesDeleted: expired.length };
}
