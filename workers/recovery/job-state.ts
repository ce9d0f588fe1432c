// A recovery job's record as workers move it along: claim, progress checkpoints, cancel checks,
// the end state, and the system-activity events that are the job's log. Telling the account that a
// job ended (mail, webhook) is the queue handler's business (workers/jobs/recovery.ts).
import { and, eq } from 'drizzle-orm';
import type { AppDeps } from '../../api/deps.ts';
import { sessionLockFree, withSessionLock } from '../../db/advisory-locks.ts';
import { newId } from '../../db/ids.ts';
import { activityEvents, entities, jobs, tasks, type JobError, type JobState } from '../../db/schema.ts';

export type JobRow = typeof jobs.$inferSelect;

export class JobCanceled extends Error {
  constructor() {
    super('job canceled');
    this.name = 'JobCanceled';
  }
}

const TERMINAL: JobState[] = ['succeeded', 'partially_succeeded', 'failed', 'canceled'];

export function isTerminal(state: JobState): boolean {
  return TERMINAL.includes(state);
}

/** Marks the job in progress (again, when resumed); null when there is nothing to do. */
export async function claimJob(deps: AppDeps, jobId: string): Promise<JobRow | null> {
  const [job] = await deps.db.select().from(jobs).where(eq(jobs.id, jobId));
  if (!job || isTerminal(job.state)) return null;
  const now = deps.clock.now();
  if (job.cancelRequested) {
    await finishJob(deps, job, 'canceled', 'Canceled before it started; nothing was written.');
    return null;
  }
  const [claimed] = await deps.db
    .update(jobs)
    .set({ state: 'in_progress', startedAt: job.startedAt ?? now, heartbeatAt: now, attempts: job.attempts + 1, version: job.version + 1 })
    .where(and(eq(jobs.id, jobId), eq(jobs.version, job.version)))
    .returning();
  if (!claimed) return null;
  if (job.state === 'pending' && job.attempts === 0) await logEvent(deps, claimed, 'in_progress', `${label(claimed)} started`);
  return claimed;
}

export async function cancelRequested(deps: AppDeps, jobId: string): Promise<boolean> {
  const [row] = await deps.sql<{ c: boolean }[]>`update jobs set heartbeat_at = ${deps.clock.now().toISOString()} where id = ${jobId} returning cancel_requested as c`;
  return row?.c ?? true;
}

export interface Progress {
  itemsDone?: number;
  itemsFailed?: number;
  bytesDone?: number;
  errors?: JobError[];
  dataTransportCalls?: number;
  checkpoint?: Record<string, unknown>;
}

/** Adds progress (deltas) and merges the checkpoint, in one statement. */
export async function addProgress(deps: Pick<AppDeps, 'sql' | 'clock'>, jobId: string, p: Progress, tx = deps.sql): Promise<void> {
  const errors = JSON.stringify((p.errors ?? []).slice(0, 1000));
  await tx`
    update jobs set
      items_done = items_done + ${p.itemsDone ?? 0},
      items_failed = items_failed + ${p.itemsFailed ?? 0},
      bytes_done = bytes_done + ${p.bytesDone ?? 0},
      data_transport_calls = data_transport_calls + ${p.dataTransportCalls ?? 0},
      errors = case when jsonb_array_length(errors) >= 1000 then errors else errors || ${errors}::jsonb end,
      checkpoint = checkpoint || ${JSON.stringify(p.checkpoint ?? {})}::jsonb,
      heartbeat_at = ${deps.clock.now().toISOString()},
      version = version + 1
    where id = ${jobId}`;
}

export async function finishJob(deps: AppDeps, job: JobRow, state: JobState, reason: string | null, extra: Partial<typeof jobs.$inferInsert> = {}): Promise<void> {
  const now = deps.clock.now();
  const [done] = await deps.db
    .update(jobs)
    .set({ state, reason, finishedAt: now, heartbeatAt: now, ...extra })
    .where(eq(jobs.id, job.id))
    .returning();
  if (!done) return;
  await logEvent(deps, done, state, `${label(done)} ${state.replace('_', ' ')}${reason ? `: ${reason}` : ''}`, {
    durationMs: done.startedAt ? now.getTime() - done.startedAt.getTime() : 0,
  });
}

function label(job: JobRow): string {
  return job.type === 'restore' ? `Restore (${job.destination.mode})` : `Export (${job.destination.type})`;
}

async function logEvent(deps: AppDeps, job: JobRow, status: JobState, description: string, o: { durationMs?: number } = {}): Promise<void> {
  const [task] = await deps.db.select({ name: tasks.name }).from(tasks).where(eq(tasks.id, job.taskId));
  const [entity] = await deps.db.select({ name: entities.name, email: entities.email }).from(entities).where(eq(entities.id, job.entityId));
  await deps.db.insert(activityEvents).values({
    id: newId('evt'),
    accountId: job.accountId,
    type: job.type,
    service: job.service,
    status: status === 'pending' ? 'in_progress' : status,
    taskId: job.taskId,
    taskName: task?.name ?? null,
    entityId: job.entityId,
    item: entity?.email ?? entity?.name ?? null,
    jobId: job.id,
    description,
    durationMs: o.durationMs ?? null,
    sizeBytes: job.bytesDone,
    counts: { items_total: job.itemsTotal, items_done: job.itemsDone, items_failed: job.itemsFailed },
    details: job.reason ? { reason: job.reason } : null,
    occurredAt: deps.clock.now(),
  });
}

export async function reload(deps: AppDeps, jobId: string): Promise<JobRow> {
  const [job] = await deps.db.select().from(jobs).where(eq(jobs.id, jobId));
  return job!;
}

function lockKey(jobId: string): string {
  return `recovery-job:${jobId}`;
}

/**
 * Runs `fn` holding the job's session advisory lock, so two workers never run one job at once (a
 * retried pg-boss job and a sweep, say); null when another worker holds it. The lock dies with
 * its worker's connection, which is how the sweep knows a job was orphaned.
 */
export function withJobLock<T>(deps: Pick<AppDeps, 'sql'>, jobId: string, fn: () => Promise<T>): Promise<T | null> {
  return withSessionLock(deps.sql, lockKey(jobId), fn);
}

/** Jobs in progress whose worker died (nobody holds their lock), and pending jobs older than `staleMs`. */
export async function orphanedJobs(deps: Pick<AppDeps, 'sql' | 'clock'>, staleMs = 5 * 60_000): Promise<{ id: string; account_id: string; type: 'restore' | 'export' }[]> {
  const before = new Date(deps.clock.now().getTime() - staleMs).toISOString();
  const rows = await deps.sql<{ id: string; account_id: string; type: 'restore' | 'export'; state: string }[]>`
    select id, account_id, type, state from jobs
    where state = 'in_progress' or (state = 'pending' and created_at < ${before})`;
  const out: { id: string; account_id: string; type: 'restore' | 'export' }[] = [];
  for (const r of rows) {
    if (await sessionLockFree(deps.sql, lockKey(r.id))) out.push({ id: r.id, account_id: r.account_id, type: r.type });
  }
  return out;
}
