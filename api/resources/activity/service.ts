// System activity (seed 5.1.1): what backups, restores, exports and discovery did, per entity.
// Read-only here; the workers write the rows. Newest first by the event's time; the cursor carries
// (time, id) of the last row, so events with the same time page without gaps or repeats.
import { and, desc, eq, gte, lt, or, sql, type SQL } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import { toCsv } from '../../csv.ts';
import type { RequestContext } from '../../context.ts';
import { activityEvents } from '../../../db/schema.ts';
import { badRequest, notFound } from '../../errors.ts';
import { encodeCursor, type PageRequest } from '../../pagination.ts';
import type { ActivityEvent, ActivityEventDetail, ActivityListQuery } from './schemas.ts';
import { containsPattern } from '../../../db/like.ts';

type Row = typeof activityEvents.$inferSelect;

export function serializeActivity(row: Row): ActivityEvent {
  return {
    id: row.id,
    date: row.occurredAt.toISOString(),
    activity: row.type,
    service: row.service,
    sub_service: row.subService,
    status: row.status,
    task_id: row.taskId,
    task_name: row.taskName,
    entity_id: row.entityId,
    item: row.item,
    job_id: row.jobId,
    description: row.description,
    duration_ms: row.durationMs,
    size_bytes: row.sizeBytes,
    counts: row.counts ?? null,
  };
}

/** 3723000 → "1h 02m 03s"; 45000 → "45s"; 250 → "0.3s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${(ms / 1000).toFixed(1)}s`;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h) return `${h}h ${pad(m)}m ${pad(s)}s`;
  if (m) return `${m}m ${pad(s)}s`;
  return `${s}s`;
}


function conditions(ctx: RequestContext, q: ActivityListQuery): SQL[] {
  const where: SQL[] = [eq(activityEvents.accountId, ctx.accountId)];
  if (q.from && q.to && new Date(q.from) > new Date(q.to)) {
    throw badRequest('validation_failed', '`from` is after `to`.', [{ pointer: '/query/from', detail: 'must not be after `to`' }]);
  }
  if (q.from) where.push(gte(activityEvents.occurredAt, new Date(q.from)));
  if (q.to) where.push(lt(activityEvents.occurredAt, new Date(q.to)));
  if (q.activity) where.push(eq(activityEvents.type, q.activity));
  if (q.service) where.push(sql`lower(${activityEvents.service}) = ${q.service.toLowerCase()}`);
  if (q.status) where.push(eq(activityEvents.status, q.status));
  if (q.task_name) where.push(sql`${activityEvents.taskName} ilike ${containsPattern(q.task_name)}`);
  if (q.item) where.push(sql`${activityEvents.item} ilike ${containsPattern(q.item)}`);
  if (q.task_id) where.push(eq(activityEvents.taskId, q.task_id));
  if (q.entity_id) where.push(eq(activityEvents.entityId, q.entity_id));
  if (q.job_id) where.push(eq(activityEvents.jobId, q.job_id));
  return where;
}

function afterCursor(after: string): SQL {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\|(evt_[0-9a-z]{26})$/.exec(after);
  if (!match || Number.isNaN(Date.parse(match[1]!))) throw badRequest('invalid_cursor', 'The cursor is not one this API returned.');
  const at = new Date(match[1]!);
  return or(lt(activityEvents.occurredAt, at), and(eq(activityEvents.occurredAt, at), lt(activityEvents.id, match[2]!)))!;
}

export async function listActivity(deps: AppDeps, ctx: RequestContext, page: PageRequest, q: ActivityListQuery) {
  const where = conditions(ctx, q);
  if (page.after !== undefined) where.push(afterCursor(page.after));
  const rows = await deps.db
    .select()
    .from(activityEvents)
    .where(and(...where))
    .orderBy(desc(activityEvents.occurredAt), desc(activityEvents.id))
    .limit(page.limit + 1);
  const more = rows.length > page.limit;
  const shown = more ? rows.slice(0, page.limit) : rows;
  const last = shown[shown.length - 1];
  return { data: shown.map(serializeActivity), next_cursor: more && last ? encodeCursor(`${last.occurredAt.toISOString()}|${last.id}`) : null };
}

export async function getActivity(deps: AppDeps, ctx: RequestContext, id: string): Promise<ActivityEventDetail> {
  const [row] = await deps.db.select().from(activityEvents).where(and(eq(activityEvents.accountId, ctx.accountId), eq(activityEvents.id, id)));
  if (!row) throw notFound('Activity event', id);
  return {
    ...serializeActivity(row),
    execution_time: row.durationMs === null ? null : formatDuration(row.durationMs),
    summary: row.description,
    details: row.details ?? null,
  };
}

export const CSV_MAX_ROWS = 100_000;
export const CSV_COLUMNS = [
  'date', 'activity', 'service', 'sub_service', 'status', 'task_name', 'item', 'execution_time', 'duration_ms', 'size_bytes', 'counts', 'description', 'id',
] as const;

/** Every matching event (newest first, at most CSV_MAX_ROWS) as CSV with a header row. */
export async function activityCsv(deps: AppDeps, ctx: RequestContext, q: ActivityListQuery): Promise<string> {
  const rows = await deps.db
    .select()
    .from(activityEvents)
    .where(and(...conditions(ctx, q)))
    .orderBy(desc(activityEvents.occurredAt), desc(activityEvents.id))
    .limit(CSV_MAX_ROWS);
  const records = rows.map((r) => {
    const e = serializeActivity(r);
    const values: Record<(typeof CSV_COLUMNS)[number], string | number> = {
      ...Object.fromEntries(CSV_COLUMNS.map((c) => [c, ''])) as Record<(typeof CSV_COLUMNS)[number], string>,
      date: e.date, activity: e.activity, service: e.service, sub_service: e.sub_service ?? '', status: e.status, task_name: e.task_name ?? '',
      item: e.item ?? '', execution_time: r.durationMs === null ? '' : formatDuration(r.durationMs), duration_ms: e.duration_ms ?? '',
      size_bytes: e.size_bytes ?? '', counts: e.counts ? Object.entries(e.counts).map(([k, v]) => `${k}=${v}`).join('; ') : '', description: e.description, id: e.id,
    };
    return CSV_COLUMNS.map((c) => values[c]);
  });
  return toCsv(records, { columns: [...CSV_COLUMNS] });
}
