// Backup runs: every backup of an entity, the failed and partial ones included (snapshots are only
// the runs that completed). Every query is scoped by the caller's account.
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { notFound } from '../../errors.ts';
import { encodeCursor, type PageRequest } from '../../pagination.ts';
import type { RunError } from '../../../db/schema/snapshots.ts';
import type { BackupRun } from './schemas.ts';
import { parseTime } from '../snapshots/service.ts';

const ERRORS_SHOWN = 20;

interface RunRow {
  id: string;
  entity_id: string;
  task_id: string;
  state: BackupRun['state'];
  reason: string;
  mode: BackupRun['mode'];
  started_at: string;
  finished_at: string | null;
  new_count: number;
  changed_count: number;
  deleted_count: number;
  failed_count: number;
  unchanged_count: number;
  downloaded_count: number;
  bytes_downloaded: number;
  bytes_stored: number;
  total_items: number | null;
  total_size: number | null;
  dropbox_calls: number;
  error: string | null;
  errors: RunError[];
}

const COLUMNS = `id, entity_id, task_id, state, reason, mode, started_at, finished_at, new_count, changed_count, deleted_count,
  failed_count, unchanged_count, downloaded_count, bytes_downloaded::float8 as bytes_downloaded, bytes_stored::float8 as bytes_stored,
  total_items, total_size::float8 as total_size, dropbox_calls, error, errors`;

function toRun(r: RunRow): BackupRun {
  const started = new Date(r.started_at);
  const finished = r.finished_at ? new Date(r.finished_at) : null;
  const completed = r.state === 'succeeded' || r.state === 'partial';
  return {
    id: r.id,
    entity_id: r.entity_id,
    task_id: r.task_id,
    state: r.state,
    reason: r.reason,
    mode: r.mode,
    started_at: started.toISOString(),
    finished_at: finished?.toISOString() ?? null,
    duration_ms: finished ? Math.max(0, finished.getTime() - started.getTime()) : null,
    counts: {
      new: r.new_count, changed: r.changed_count, deleted: r.deleted_count, failed: r.failed_count,
      unchanged: r.unchanged_count, downloaded: r.downloaded_count,
    },
    bytes_downloaded: Number(r.bytes_downloaded),
    bytes_stored: Number(r.bytes_stored),
    total_items: completed ? r.total_items : null,
    size_bytes: completed && r.total_size !== null ? Number(r.total_size) : null,
    dropbox_calls: r.dropbox_calls,
    error: r.error,
    errors: (r.errors ?? []).slice(0, ERRORS_SHOWN).map((e) => ({ path: e.path, error: e.error })),
  };
}

export async function listRuns(deps: AppDeps, ctx: RequestContext, entityId: string, page: PageRequest, q: { state?: string; from?: string; to?: string }) {
  const { sql } = deps;
  const [entity] = await sql`select 1 from entities where id = ${entityId} and account_id = ${ctx.accountId}`;
  if (!entity) throw notFound('Entity', entityId);
  const from = parseTime(q.from, '/query/from');
  const to = parseTime(q.to, '/query/to');
  const states = q.state ? [...new Set(q.state.split(','))] : null;
  const rows = await sql<RunRow[]>`
    select ${sql.unsafe(COLUMNS)} from backup_runs
    where entity_id = ${entityId} and account_id = ${ctx.accountId}
      ${states ? sql`and state in ${sql(states)}` : sql``}
      ${from ? sql`and started_at >= ${from.toISOString()}` : sql``}
      ${to ? sql`and started_at < ${to.toISOString()}` : sql``}
      ${page.after ? sql`and id < ${page.after}` : sql``}
    order by id desc limit ${page.limit + 1}`;
  const more = rows.length > page.limit;
  const data = (more ? rows.slice(0, page.limit) : rows).map(toRun);
  return { data, next_cursor: more ? encodeCursor(data[data.length - 1]!.id) : null };
}

export async function getRun(deps: AppDeps, ctx: RequestContext, runId: string): Promise<BackupRun> {
  const [row] = await deps.sql<RunRow[]>`select ${deps.sql.unsafe(COLUMNS)} from backup_runs where id = ${runId} and account_id = ${ctx.accountId}`;
  if (!row) throw notFound('Backup run', runId);
  return toRun(row);
}
