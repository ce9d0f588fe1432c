// A task's overview: what the portal's home page shows for one task (entities by status, what is
// protected, last and next backup, failing entities, recent smart alerts), in one request and a
// handful of indexed queries scoped by the caller's account.
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { notFound } from '../../errors.ts';
import { ACTIVE_STATUSES } from '../../../db/schedule.ts';
import { ENTITY_STATUSES } from '../entities/schemas.ts';
import type { TaskOverview } from './schemas.ts';

const FAILING_SHOWN = 20;
const ALERTS_SHOWN = 5;
const ALERT_WINDOW_MS = 7 * 86_400_000;

const iso = (v: string | Date | null | undefined) => (v ? new Date(v).toISOString() : null);

export async function taskOverview(deps: AppDeps, ctx: RequestContext, taskId: string): Promise<TaskOverview> {
  const { sql } = deps;
  const [task] = await sql<{ id: string; name: string; connection_status: TaskOverview['connection_status']; paused_at: string | null }[]>`
    select id, name, connection_status, paused_at from tasks where id = ${taskId} and account_id = ${ctx.accountId} and state = 'active'`;
  if (!task) throw notFound('Task', taskId);

  const byStatus = await sql<{ status: string; n: number; bytes: number; items: number; last: string | null; next: string | null }[]>`
    select status, count(*)::int as n, coalesce(sum(size_bytes), 0)::float8 as bytes, coalesce(sum(item_count), 0)::int as items,
      max(last_backup_at) as last, min(next_backup_at) as next
    from entities where account_id = ${ctx.accountId} and task_id = ${taskId} and state = 'active'
    group by status`;
  const counts: Record<string, number> = Object.fromEntries(ENTITY_STATUSES.map((s) => [s, 0]));
  let total = 0;
  let protectedCount = 0;
  let bytes = 0;
  let items = 0;
  let last: string | null = null;
  let next: string | null = null;
  for (const r of byStatus) {
    counts[r.status] = r.n;
    total += r.n;
    const isProtected = ACTIVE_STATUSES.includes(r.status as never);
    if (isProtected) protectedCount += r.n;
    if (isProtected || r.status === 'paused') {
      bytes += Number(r.bytes);
      items += r.items;
    }
    if (r.last && (!last || r.last > last)) last = iso(r.last);
    if (isProtected && r.next && (!next || new Date(r.next) < new Date(next))) next = iso(r.next);
  }
  if (task.paused_at || task.connection_status !== 'connected') next = null;

  const failing = await sql<{ id: string; name: string; kind: 'member' | 'team_folder' | 'shared_folder'; status: TaskOverview['failing_entities']['data'][number]['status']; last_backup_at: string | null; error: string | null; first_error: string | null; total: number }[]>`
    select e.id, e.name, e.kind, e.status, e.last_backup_at, r.error, r.errors -> 0 ->> 'error' as first_error, count(*) over ()::int as total
    from entities e
    left join lateral (
      select error, errors from backup_runs where entity_id = e.id and account_id = e.account_id and state in ('failed', 'partial')
      order by id desc limit 1
    ) r on true
    where e.account_id = ${ctx.accountId} and e.task_id = ${taskId} and e.state = 'active' and e.status in ('failed', 'partial')
    order by e.last_backup_at asc nulls first, e.id
    limit ${FAILING_SHOWN}`;

  const since = new Date(deps.clock.now().getTime() - ALERT_WINDOW_MS).toISOString();
  const alerts = await sql<{ id: string; occurred_at: string; entity_id: string | null; item: string | null; description: string; total: number }[]>`
    select id, occurred_at, entity_id, item, description, count(*) over ()::int as total
    from activity_events
    where account_id = ${ctx.accountId} and task_id = ${taskId} and type = 'smart_alert' and occurred_at >= ${since}
    order by occurred_at desc, id desc
    limit ${ALERTS_SHOWN}`;

  return {
    task_id: task.id,
    name: task.name,
    connection_status: task.connection_status,
    paused_at: iso(task.paused_at),
    entities: { total, by_status: counts, protected: protectedCount },
    protected_bytes: bytes,
    protected_items: items,
    last_backup_at: last,
    next_backup_at: next,
    failing_entities: {
      count: failing[0]?.total ?? 0,
      data: failing.map((f) => ({ id: f.id, name: f.name, kind: f.kind, status: f.status, last_backup_at: iso(f.last_backup_at), last_error: f.error ?? f.first_error ?? null })),
    },
    smart_alerts: {
      last_7_days: alerts[0]?.total ?? 0,
      recent: alerts.map((a) => ({ id: a.id, occurred_at: iso(a.occurred_at)!, entity_id: a.entity_id, item: a.item, description: a.description })),
    },
  };
}
