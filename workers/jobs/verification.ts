// The `verification` queue (restore drills, workers/recovery/verify.ts), their schedule, and the
// operator's whole-repository check (`repository-check`, workers/recovery/repository-check.ts).
//
// Schedule: a task's `verification_frequency` (off | weekly | monthly) makes every active entity of
// it with a completed snapshot due once its last verification was asked for more than a week (a
// month) ago. The scheduler's tick calls `enqueueDueVerifications`; the pending row it inserts is
// what stops the next tick from enqueueing the same entity again.
import type { Job } from 'pg-boss';
import type { AppDeps } from '../../api/deps.ts';
import { requestVerification } from '../../api/resources/verifications/service.ts';
import { failVerification, runVerification, type VerificationOutcome } from '../recovery/verify.ts';
import { notifyVerificationFinished } from '../../api/resources/notifications/verification-triggers.ts';
import { checkRepository, type RepositoryCheckResult } from '../recovery/repository-check.ts';
import { VERIFICATION_RETRIES, type RepositoryCheckJob, type VerificationJob } from '../queue.ts';

/** The sample of scheduled verifications. */
export const SCHEDULED_SAMPLE_PERCENT = 5;

export async function verificationJob(deps: AppDeps, jobs: Job<VerificationJob>[]): Promise<void> {
  for (const job of jobs) {
    try {
      await runVerificationJob(deps, job.data.verificationId);
    } catch (err) {
      const j = job as Job<VerificationJob> & { retryCount?: number; retryLimit?: number };
      if ((j.retryCount ?? 0) >= (j.retryLimit ?? VERIFICATION_RETRIES)) await failVerificationJob(deps, job.data.verificationId, err);
      throw err;
    }
  }
}

/** One restore drill as the queue runs it: the engine, then (when it ended) the notification. */
export async function runVerificationJob(deps: AppDeps, verificationId: string): Promise<VerificationOutcome> {
  const outcome = await runVerification(deps, verificationId);
  if (outcome !== 'skipped') await notifyVerificationFinished(deps, { id: verificationId });
  return outcome;
}

/** The queue gave up on a drill: it fails, saying why, and the account is told. */
export async function failVerificationJob(deps: AppDeps, verificationId: string, err: unknown): Promise<void> {
  if ((await failVerification(deps, verificationId, err)) === 'failed') await notifyVerificationFinished(deps, { id: verificationId });
}

/** Enqueues the verifications that are due (see the header); returns how many. */
export async function enqueueDueVerifications(deps: AppDeps, limit = 500): Promise<number> {
  const { sql } = deps;
  const now = deps.clock.now();
  const weekAgo = new Date(now.getTime() - 7 * 86_400_000).toISOString();
  const monthAgo = new Date(now.getTime());
  monthAgo.setUTCMonth(monthAgo.getUTCMonth() - 1);
  const due = await sql<{ id: string; account_id: string; task_id: string }[]>`
    select e.id, e.account_id, e.task_id
    from entities e join tasks t on t.id = e.task_id
    where t.verification_frequency <> 'off' and t.state = 'active' and e.state = 'active'
      and not exists (select 1 from accounts a where a.id = e.account_id and a.state in ('suspended', 'pending_deletion'))
      and exists (select 1 from backup_runs r where r.entity_id = e.id and r.state in ('succeeded', 'partial'))
      and not exists (
        select 1 from verifications v where v.entity_id = e.id
          and (v.state in ('pending', 'running')
            or v.created_at > case t.verification_frequency when 'weekly' then ${weekAgo}::timestamptz else ${monthAgo.toISOString()}::timestamptz end))
    order by e.id
    limit ${limit}`;
  let enqueued = 0;
  for (const e of due) {
    const out = await deps.db.transaction((tx) =>
      requestVerification(deps, tx, { id: e.id, accountId: e.account_id, taskId: e.task_id }, { samplePercent: SCHEDULED_SAMPLE_PERCENT, reason: 'scheduled' }));
    if ('row' in out) enqueued++;
  }
  return enqueued;
}

/** An operator's check of one account's repository, or of every account with packs. Problems are logged and returned. */
export async function repositoryCheckJob(deps: AppDeps, data: RepositoryCheckJob): Promise<Record<string, RepositoryCheckResult>> {
  const ids = data.accountId
    ? [data.accountId]
    : (await deps.sql<{ account_id: string }[]>`select distinct account_id from packs`).map((r) => r.account_id);
  const out: Record<string, RepositoryCheckResult> = {};
  for (const id of ids) {
    const result = await checkRepository(deps, id, { readData: data.readData ?? false });
    for (const p of result.problems) deps.log.error({ accountId: id, kind: p.kind }, `repository-check ${id}: ${p.kind}: ${p.detail}`);
    out[id] = result;
  }
  return out;
}
