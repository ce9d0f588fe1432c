// The start of a run: resume the entity's `running` run, or open a new one (`full` without a
// completed run, else `incremental` from the last completed run's cursor, retrying its failed
// items first); and the switch to `full` when Dropbox resets the saved cursor.
import { newId } from '../../db/ids.ts';
import type { RunError, RunMode } from '../../db/schema/snapshots.ts';
import { NOT_BACKED_UP_STATUSES } from '../../db/schema/tasks.ts';
import type { EntityBackup, RunRow } from './run-state.ts';

export async function openRun(b: EntityBackup): Promise<RunRow> {
  const { sql } = b;
  const now = b.deps.clock.now();
  const [existing] = await sql<RunRow[]>`
    select id, mode, start_cursor, cursor, pages, resumes, started_at, dropbox_calls, errors from backup_runs
    where entity_id = ${b.entity.id} and state = 'running' order by id desc limit 1`;
  if (existing) {
    const [done] = await sql`select 1 from backup_runs where entity_id = ${b.entity.id} and state in ('succeeded', 'partial') limit 1`;
    b.firstEver = !done;
    await sql`update backup_runs set resumes = resumes + 1 where id = ${existing.id}`;
    return { ...existing, resumes: existing.resumes + 1 };
  }
  const [last] = await sql<{ id: string; cursor: string | null; errors: RunError[] }[]>`
    select id, cursor, errors from backup_runs
    where entity_id = ${b.entity.id} and state in ('succeeded', 'partial') order by id desc limit 1`;
  const mode: RunMode = last?.cursor ? 'incremental' : 'full';
  b.firstEver = !last;
  const id = newId('run', Math.max(now.getTime(), Date.now()));
  // Failed items of the last run are retried first (their listing entries will not come again).
  const retry = mode === 'incremental' ? (last?.errors ?? []).filter((e) => e.entry) : [];
  await sql.begin(async (tx) => {
    await tx`insert into backup_runs (id, account_id, task_id, entity_id, state, reason, mode, started_at, start_cursor, errors)
      values (${id}, ${b.accountId}, ${b.task.id}, ${b.entity.id}, 'running', ${b.job.reason}, ${mode}, ${now.toISOString()},
        ${last?.cursor ?? null}, '[]'::jsonb)`;
    if (retry.length) await tx`update backup_runs set errors = ${JSON.stringify(retry.map((e) => ({ ...e, retry: true })))}::jsonb where id = ${id}`;
    await tx`update entities set status = case when status in ${tx(NOT_BACKED_UP_STATUSES as string[])} then status else 'in_process' end, updated_at = ${now.toISOString()}
      where id = ${b.entity.id}`;
  });
  return { id, mode, start_cursor: last?.cursor ?? null, cursor: null, pages: 0, resumes: 0, started_at: now, dropbox_calls: 0, errors: retry.map((e) => ({ ...e, retry: true })) as RunError[] };
}

/** The saved cursor was reset by Dropbox: relist everything; what the relist does not see is closed at the end. */
export async function switchToFull(b: EntityBackup): Promise<void> {
  await b.sql.begin(async (tx) => {
    await tx`update backup_runs set mode = 'full', cursor = null where id = ${b.run.id}`;
    await tx`update item_versions set seen_run = null
      where entity_id = ${b.entity.id} and valid_until_run is null and seen_run = ${b.run.id}`;
  });
  b.run.mode = 'full';
  b.run.cursor = null;
}
