// A task's overview: what the portal's home page shows for one task (entities by status, what is
// protected, last and next backup, failing entities, recent smart alerts). The queries are
// set-based over a list of accounts, so one task's overview (GET /v1/tasks/{id}/overview) and the
// overviews of every task of every customer of a partner (GET /v1/partner/health) are the same
// handful of indexed queries, never a query per task or per account. The caller decides which
// accounts it may see: a service passes its own ctx.accountId, the partner roll-up the customers
// it manages.
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

/** The counts of one task's overview, plus what a roll-up needs to judge its health. */
export interface TaskSummary extends Omit<TaskOverview, 'failing_entities' | 'smart_alerts'> {
  account_id: string;
  /**
   * The oldest "last good backup" among the protected entities (an entity never backed up counts
   * from when it was discovered): how long the most neglected protected entity has gone without a
   * completed snapshot. Null when nothing is protected.
   */
  stalest_backup_at: string | null;
  failing_count: number;
  alerts_last_7_days: number;
}

/** Which tasks: every active task of these accounts, or one task of them. */
export interface TaskScope {
  accountIds: string[];
  taskId?: string;
}

/** The counts of every active task in scope, in task id order: three queries whatever the number of tasks. */
export async function taskSummaries(deps: AppDeps, scope: TaskScope): Promise<TaskSummary[]> {
  const { sql } = deps;
  const ids = scope.accountIds;
  if (!ids.length) return [];
  const oneTask = scope.taskId ? sql`and id = ${scope.taskId}` : sql``;
  const oneTaskOfEntity = scope.taskId ? sql`and task_id = ${scope.taskId}` : sql``;
  const since = new Date(deps.clock.now().getTime() - ALERT_WINDOW_MS).toISOString();
  const [tasks, byStatus, alerts] = await Promise.all([
    sql<{ id: string; account_id: string; name: string; connection_status: TaskOverview['connection_status']; paused_at: string | null }[]>`
      select id, account_id, name, connection_status, paused_at from tasks
      where account_id = any(${ids}) and state = 'active' ${oneTask} order by id`,
    sql<{ task_id: string; status: string; n: number; bytes: number; items: number; last: string | null; next: string | null; stalest: string | null }[]>`
      select task_id, status, count(*)::int as n, coalesce(sum(size_bytes::float8), 0) as bytes, coalesce(sum(item_count), 0)::int as items,
        max(last_backup_at) as last, min(next_backup_at) as next, min(coalesce(last_backup_at, created_at)) as stalest
      from entities where account_id = any(${ids}) and state = 'active' ${oneTaskOfEntity}
      group by task_id, status`,
    sql<{ task_id: string; n: number }[]>`
      select task_id, count(*)::int as n from activity_events
      where account_id = any(${ids}) and type = 'smart_alert' and occurred_at >= ${since} and task_id is not null ${oneTaskOfEntity}
      group by task_id`,
  ]);
  const alertCounts = new Map(alerts.map((a) => [a.task_id, a.n]));
  const summaries = new Map<string, TaskSummary>();
  for (const task of tasks) {
    summaries.set(task.id, {
      account_id: task.account_id,
      task_id: task.id,
      name: task.name,
      connection_status: task.connection_status,
      paused_at: iso(task.paused_at),
      entities: { total: 0, by_status: Object.fromEntries(ENTITY_STATUSES.map((s) => [s, 0])), protected: 0 },
      protected_bytes: 0,
      protected_items: 0,
      last_backup_at: null,
      next_backup_at: null,
      stalest_backup_at: null,
      failing_count: 0,
      alerts_last_7_days: alertCounts.get(task.id) ?? 0,
    });
  }
  for (const r of byStatus) {
    const s = summaries.get(r.task_id);
    if (!s) continue;
    s.entities.by_status[r.status] = r.n;
    s.entities.total += r.n;
    const isProtected = ACTIVE_STATUSES.includes(r.status as never);
    if (isProtected) {
      s.entities.protected += r.n;
      if (r.stalest && (!s.stalest_backup_at || new Date(r.stalest) < new Date(s.stalest_backup_at))) s.stalest_backup_at = iso(r.stalest);
      if (r.next && (!s.next_backup_at || new Date(r.next) < new Date(s.next_backup_at))) s.next_backup_at = iso(r.next);
    }
    if (isProtected || r.status === 'paused') {
      s.protected_bytes += Number(r.bytes);
      s.protected_items += r.items;
    }
    if (r.status === 'failed' || r.status === 'partial') s.failing_count += r.n;
    if (r.last && (!s.last_backup_at || new Date(r.last) > new Date(s.last_backup_at))) s.last_backup_at = iso(r.last);
  }
  for (const s of summaries.values()) if (s.paused_at || s.connection_status !== 'connected') s.next_backup_at = null;
  return [...summaries.values()];
}

type FailingEntity = TaskOverview['failing_entities']['data'][number];
type RecentAlert = TaskOverview['smart_alerts']['recent'][number];

/** The lists of the overviews (the first failing entities, the latest alerts) of these tasks, by task id: two queries. */
export async function taskLists(deps: AppDeps, accountIds: string[], taskIds: string[]) {
  const { sql } = deps;
  const failingByTask = new Map<string, FailingEntity[]>();
  const alertsByTask = new Map<string, RecentAlert[]>();
  if (!accountIds.length || !taskIds.length) return { failingByTask, alertsByTask };
  const since = new Date(deps.clock.now().getTime() - ALERT_WINDOW_MS).toISOString();
  const [failing, alerts] = await Promise.all([
    sql<{ task_id: string; id: string; name: string; kind: FailingEntity['kind']; status: FailingEntity['status']; last_backup_at: string | null; error: string | null; first_error: string | null }[]>`
      select e.task_id, e.id, e.name, e.kind, e.status, e.last_backup_at, r.error, r.errors -> 0 ->> 'error' as first_error
      from (
        select id, account_id, task_id, name, kind, status, last_backup_at,
          row_number() over (partition by task_id order by last_backup_at asc nulls first, id) as rn
        from entities
        where account_id = any(${accountIds}) and task_id = any(${taskIds}) and state = 'active' and status in ('failed', 'partial')
      ) e
      left join lateral (
        select error, errors from backup_runs where entity_id = e.id and account_id = e.account_id and state in ('failed', 'partial')
        order by id desc limit 1
      ) r on true
      where e.rn <= ${FAILING_SHOWN}
      order by e.task_id, e.rn`,
    sql<{ task_id: string; id: string; occurred_at: string; entity_id: string | null; item: string | null; description: string }[]>`
      select task_id, id, occurred_at, entity_id, item, description from (
        select task_id, id, occurred_at, entity_id, item, description,
          row_number() over (partition by task_id order by occurred_at desc, id desc) as rn
        from activity_events
        where account_id = any(${accountIds}) and task_id = any(${taskIds}) and type = 'smart_alert' and occurred_at >= ${since}
      ) a
      where rn <= ${ALERTS_SHOWN}
      order by task_id, rn`,
  ]);
  for (const f of failing) {
    const list = failingByTask.get(f.task_id) ?? [];
    list.push({ id: f.id, name: f.name, kind: f.kind, status: f.status, last_backup_at: iso(f.last_backup_at), last_error: f.error ?? f.first_error ?? null });
    failingByTask.set(f.task_id, list);
  }
  for (const a of alerts) {
    const list = alertsByTask.get(a.task_id) ?? [];
    list.push({ id: a.id, occurred_at: iso(a.occurred_at)!, entity_id: a.entity_id, item: a.item, description: a.description });
    alertsByTask.set(a.task_id, list);
  }
  return { failingByTask, alertsByTask };
}

/** The overviews of every active task in scope: five queries however many tasks and accounts. */
export async function taskOverviews(deps: AppDeps, scope: TaskScope): Promise<(TaskOverview & { account_id: string; stalest_backup_at: string | null })[]> {
  const summaries = await taskSummaries(deps, scope);
  const { failingByTask, alertsByTask } = await taskLists(deps, scope.accountIds, summaries.map((s) => s.task_id));
  return summaries.map((s) => toOverview(s, failingByTask.get(s.task_id) ?? [], alertsByTask.get(s.task_id) ?? []));
}

function toOverview(s: TaskSummary, failing: FailingEntity[], alerts: RecentAlert[]) {
  const { failing_count, alerts_last_7_days, ...rest } = s;
  return {
    ...rest,
    failing_entities: { count: failing_count, data: failing },
    smart_alerts: { last_7_days: alerts_last_7_days, recent: alerts },
  };
}

export async function taskOverview(deps: AppDeps, ctx: RequestContext, taskId: string): Promise<TaskOverview> {
  const [overview] = await taskOverviews(deps, { accountIds: [ctx.accountId], taskId });
  if (!overview) throw notFound('Task', taskId);
  const { account_id: _account, stalest_backup_at: _stalest, ...shown } = overview;
  return shown;
}
