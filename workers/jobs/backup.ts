// The backup queue's handler: one job = one entity (workers/backup/engine.ts does the work).
import type { Job } from 'pg-boss';
import type { AppDeps } from '../../api/deps.ts';
import { runBackup, type BackupOptions, type BackupOutcome } from '../backup/engine.ts';
import { enqueue, QUEUES, type BackupJob } from '../queue.ts';
import { notifyRunFinished } from '../../api/resources/notifications/triggers.ts';

export async function backupJob(deps: AppDeps, jobs: Job<BackupJob>[], opts: BackupOptions = {}): Promise<BackupOutcome[]> {
  const out: BackupOutcome[] = [];
  for (const job of jobs) {
    const outcome = await runBackup(deps, job.data, opts);
    out.push(outcome);
    // Search indexing runs after the backup, outside its bulk insert (workers/recovery/search-index.ts).
    // Mail, webhooks and smart alerts read the completed run; they never fail the backup.
    if (outcome.outcome !== 'skipped') await notifyRunFinished(deps, { id: outcome.runId });
    if (outcome.outcome === 'succeeded' || outcome.outcome === 'partial') {
      await enqueue(deps, null, QUEUES.searchIndex, { accountId: job.data.accountId, entityId: job.data.entityId }, { singletonKey: `search-index:${job.data.entityId}` });
    }
  }
  return out;
}
