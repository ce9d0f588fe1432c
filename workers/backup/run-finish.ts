// The end of a run, in one transaction each: `complete` closes what a full listing did not see and
// makes the run a snapshot (`succeeded` or `partial`) with its totals; `fail` rolls the run's rows
// back (they never become a snapshot) and says why. Both update the entity (status, next backup)
// and write one activity event.
import { newId } from '../../db/ids.ts';
import { nextBackupAt } from '../../db/schedule.ts';
import type { RunError } from '../../db/schema/snapshots.ts';
import { emptyCounts, errorText, type BackupOutcome } from './outcome.ts';
import { NOT_BACKED_UP_STATUSES } from '../../db/schema/tasks.ts';
import type { EntityBackup } from './run-state.ts';

export async function completeRun(b: EntityBackup): Promise<BackupOutcome> {
  const { sql } = b;
  const runId = b.run.id;
  const now = b.deps.clock.now();
  const result = await sql.begin(async (tx) => {
    let closedUnseen = 0;
    if (b.run.mode === 'full') {
      await tx`delete from item_versions where entity_id = ${b.entity.id} and valid_until_run is null
        and valid_from_run = ${runId} and seen_run is distinct from ${runId}`;
      const upd = await tx`update item_versions set valid_until_run = ${runId}
        where entity_id = ${b.entity.id} and valid_until_run is null and valid_from_run < ${runId} and seen_run is distinct from ${runId}`;
      closedUnseen = upd.count;
    }
    const [totals] = await tx<{ items: number; size: number }[]>`
      select count(*)::int as items, coalesce(sum(size), 0)::float8 as size from item_versions
      where entity_id = ${b.entity.id} and valid_until_run is null`;
    const [run] = await tx<{ new_count: number; changed_count: number; deleted_count: number; failed_count: number; unchanged_count: number; downloaded_count: number; bytes_downloaded: number; bytes_stored: number; errors: RunError[]; started_at: Date }[]>`
      update backup_runs set deleted_count = deleted_count + ${closedUnseen} where id = ${runId}
      returning new_count, changed_count, deleted_count, failed_count, unchanged_count, downloaded_count,
        bytes_downloaded::float8 as bytes_downloaded, bytes_stored::float8 as bytes_stored, errors, started_at`;
    const state = run!.failed_count > 0 ? 'partial' : 'succeeded';
    await tx`update backup_runs set state = ${state}, finished_at = ${now.toISOString()}, total_items = ${totals!.items}, total_size = ${totals!.size},
      dropbox_calls = ${b.run.dropbox_calls + b.callCount()}
      where id = ${runId}`;
    const next = nextBackupAt(b.task.frequency, b.task.backupHour, now, now);
    await tx`update entities set status = case when status in ${tx(NOT_BACKED_UP_STATUSES as string[])} then status else ${state === 'succeeded' ? 'success' : 'partial'} end, size_bytes = ${totals!.size}, item_count = ${totals!.items},
      first_backup_at = coalesce(first_backup_at, ${now.toISOString()}), last_backup_at = ${now.toISOString()},
      next_backup_at = case when next_backup_at is null or next_backup_at <= ${now.toISOString()} then ${next.toISOString()} else next_backup_at end,
      updated_at = ${now.toISOString()}
      where id = ${b.entity.id}`;
    const counts = {
      new: run!.new_count, changed: run!.changed_count, deleted: run!.deleted_count, failed: run!.failed_count,
      unchanged: run!.unchanged_count, downloaded: run!.downloaded_count,
    };
    await tx`insert into activity_events ${tx(activityRow(b, now, {
      status: state === 'succeeded' ? 'succeeded' : 'partially_succeeded',
      description: `Backup of ${b.entity.name}: ${counts.new} new, ${counts.changed} changed, ${counts.deleted} deleted${counts.failed ? `, ${counts.failed} failed` : ''}`,
      startedAt: run!.started_at,
      size_bytes: totals!.size,
      counts,
      details: { run_id: runId, bytes_downloaded: run!.bytes_downloaded, bytes_stored: run!.bytes_stored, items: totals!.items, errors: run!.errors.slice(0, 20).map((e) => ({ path: e.path, error: e.error })) },
    }) as never)}`;
    return { state, counts: { ...counts, bytesDownloaded: run!.bytes_downloaded, bytesStored: run!.bytes_stored } };
  });
  return { outcome: result.state as 'succeeded' | 'partial', runId, counts: result.counts, dropboxCalls: b.callCount() };
}

/** Roll the run back (its rows never become a snapshot), mark it failed, and say why. */
export async function failRun(b: EntityBackup, err: unknown, opts: { disconnect: boolean }): Promise<BackupOutcome> {
  const { sql } = b;
  const runId = b.run.id;
  const now = b.deps.clock.now();
  const message = errorText(err);
  await sql.begin(async (tx) => {
    await tx`delete from item_versions where entity_id = ${b.entity.id} and valid_from_run = ${runId}`;
    await tx`update item_versions set valid_until_run = null where entity_id = ${b.entity.id} and valid_until_run = ${runId}`;
    await tx`update backup_runs set state = 'failed', finished_at = ${now.toISOString()}, error = ${message},
      dropbox_calls = ${b.run.dropbox_calls + b.callCount()} where id = ${runId}`;
    await tx`update entities set status = case when status in ${tx(NOT_BACKED_UP_STATUSES as string[])} then status else 'failed' end, updated_at = ${now.toISOString()},
      next_backup_at = case when next_backup_at is null or next_backup_at <= ${now.toISOString()} then ${nextBackupAt(b.task.frequency, b.task.backupHour, now, now).toISOString()} else next_backup_at end
      where id = ${b.entity.id}`;
    if (opts.disconnect) {
      await tx`update tasks set connection_status = 'disconnected', connection_error = ${message}, updated_at = ${now.toISOString()}, version = version + 1
        where id = ${b.task.id}`;
    }
    await tx`insert into activity_events ${tx(activityRow(b, now, {
      status: 'failed',
      description: `Backup of ${b.entity.name} failed: ${message}`,
      startedAt: b.run.started_at,
      size_bytes: 0,
      counts: {},
      details: { run_id: runId, error: message, disconnected: opts.disconnect },
    }) as never)}`;
  });
  return { outcome: 'failed', runId, counts: emptyCounts(), error: message, dropboxCalls: b.callCount() };
}

/** The run's `activity_events` row (raw column names: it is inserted with postgres.js). */
function activityRow(
  b: EntityBackup,
  now: Date,
  e: { status: string; description: string; startedAt: Date | string; size_bytes: number; counts: object; details: object },
): Record<string, unknown> {
  return {
    id: newId('evt'),
    account_id: b.accountId,
    type: 'backup',
    service: 'dropbox',
    sub_service: b.entity.kind === 'member' ? 'members' : 'team_folders',
    status: e.status,
    task_id: b.task.id,
    task_name: b.task.name,
    entity_id: b.entity.id,
    item: b.entity.name,
    description: e.description,
    duration_ms: Math.max(0, now.getTime() - new Date(e.startedAt).getTime()),
    size_bytes: e.size_bytes,
    counts: JSON.stringify(e.counts),
    details: JSON.stringify(e.details),
    occurred_at: now.toISOString(),
  };
}
