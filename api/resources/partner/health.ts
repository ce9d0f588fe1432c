// GET /v1/partner/health: every customer's tasks, entities, failures and alerts with a health
// state, in one request. It is the task overview (api/resources/tasks/overview.ts) run set-based
// over all the partner's customers at once: the counts of every task of every customer (three
// queries), the health and the totals from them, then the lists (failing entities, recent alerts)
// of the page's tasks only (two queries). Nothing runs per customer.
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { toCsv } from '../../csv.ts';
import { encodeCursor, type PageRequest } from '../../pagination.ts';
import { ENTITY_STATUSES } from '../entities/schemas.ts';
import { taskLists, taskSummaries, type TaskSummary } from '../tasks/overview.ts';
import { customersOf, requirePartner, type CustomerRow } from './customers.ts';
import type { CustomerHealth, HealthQuery, HealthReason, HealthState, PartnerHealth } from './schemas.ts';

const HOUR_MS = 3_600_000;
const WARNING_AFTER_MS = 24 * HOUR_MS;
const CRITICAL_AFTER_MS = 48 * HOUR_MS;

const CRITICAL_REASONS: readonly HealthReason[] = ['backup_overdue_48h', 'billing_past_due', 'billing_suspended'];

type Rolled = Omit<CustomerHealth, 'tasks'> & { summaries: TaskSummary[] };

const zeroByStatus = () => Object.fromEntries(ENTITY_STATUSES.map((s) => [s, 0])) as Record<string, number>;

/** The health rule (documented in HEALTH_RULE, schemas.ts) applied to one customer's task summaries. */
export function judge(account: Pick<CustomerRow, 'state'>, summaries: TaskSummary[], now: Date): { health: HealthState; reasons: HealthReason[] } {
  const reasons: HealthReason[] = [];
  let stalest: number | null = null;
  for (const s of summaries) {
    if (s.paused_at || !s.stalest_backup_at) continue;
    const at = new Date(s.stalest_backup_at).getTime();
    if (stalest === null || at < stalest) stalest = at;
  }
  if (stalest !== null && now.getTime() - stalest > CRITICAL_AFTER_MS) reasons.push('backup_overdue_48h');
  else if (stalest !== null && now.getTime() - stalest > WARNING_AFTER_MS) reasons.push('backup_overdue_24h');
  if (summaries.some((s) => s.connection_status === 'disconnected')) reasons.push('task_disconnected');
  if (account.state === 'past_due') reasons.push('billing_past_due');
  if (account.state === 'suspended') reasons.push('billing_suspended');
  const health: HealthState = reasons.some((r) => CRITICAL_REASONS.includes(r)) ? 'critical' : reasons.length ? 'warning' : 'healthy';
  return { health, reasons };
}

function rollUp(c: CustomerRow, summaries: TaskSummary[], now: Date): Rolled {
  const byStatus = zeroByStatus();
  let total = 0;
  let protectedCount = 0;
  let bytes = 0;
  let failing = 0;
  let alerts = 0;
  let last: string | null = null;
  let stalest: string | null = null;
  for (const s of summaries) {
    for (const [status, n] of Object.entries(s.entities.by_status)) byStatus[status] = (byStatus[status] ?? 0) + n;
    total += s.entities.total;
    protectedCount += s.entities.protected;
    bytes += s.protected_bytes;
    failing += s.failing_count;
    alerts += s.alerts_last_7_days;
    if (s.last_backup_at && (!last || s.last_backup_at > last)) last = s.last_backup_at;
    if (!s.paused_at && s.stalest_backup_at && (!stalest || s.stalest_backup_at < stalest)) stalest = s.stalest_backup_at;
  }
  return {
    account_id: c.id, name: c.name, region: c.region, account_state: c.state, billing: c.billing,
    ...judge(c, summaries, now),
    entities: { total, protected: protectedCount, by_status: byStatus },
    protected_bytes: bytes, last_backup_at: last, stalest_backup_at: stalest,
    failing_entities: failing, smart_alerts_last_7_days: alerts,
    disconnected_tasks: summaries.filter((s) => s.connection_status === 'disconnected').length,
    summaries,
  };
}

/** Every matching customer rolled up (counts only), in account id order. */
async function rolledUp(deps: AppDeps, ctx: RequestContext, q: Pick<HealthQuery, 'health' | 'name' | 'region'>): Promise<Rolled[]> {
  // Both at once: a standard account has no customers, so the list is empty when the check fails.
  const [, customers] = await Promise.all([requirePartner(deps, ctx), customersOf(deps, ctx, { name: q.name, region: q.region })]);
  const summaries = await taskSummaries(deps, { accountIds: customers.map((c) => c.id) });
  const byAccount = new Map<string, TaskSummary[]>();
  for (const s of summaries) {
    const list = byAccount.get(s.account_id) ?? [];
    list.push(s);
    byAccount.set(s.account_id, list);
  }
  const now = deps.clock.now();
  const rolled = customers.map((c) => rollUp(c, byAccount.get(c.id) ?? [], now));
  return q.health ? rolled.filter((r) => r.health === q.health) : rolled;
}

function totalsOf(rows: Rolled[]): PartnerHealth['totals'] {
  const totals: PartnerHealth['totals'] = {
    customers: rows.length, by_health: { healthy: 0, warning: 0, critical: 0 },
    entities: { total: 0, protected: 0, by_status: zeroByStatus() },
    protected_bytes: 0, failing_entities: 0, smart_alerts_last_7_days: 0, tasks: 0, disconnected_tasks: 0,
  };
  for (const r of rows) {
    totals.by_health[r.health]++;
    totals.entities.total += r.entities.total;
    totals.entities.protected += r.entities.protected;
    for (const [status, n] of Object.entries(r.entities.by_status)) totals.entities.by_status[status] = (totals.entities.by_status[status] ?? 0) + n;
    totals.protected_bytes += r.protected_bytes;
    totals.failing_entities += r.failing_entities;
    totals.smart_alerts_last_7_days += r.smart_alerts_last_7_days;
    totals.tasks += r.summaries.length;
    totals.disconnected_tasks += r.disconnected_tasks;
  }
  return totals;
}

export async function partnerHealth(deps: AppDeps, ctx: RequestContext, page: PageRequest, q: HealthQuery): Promise<PartnerHealth> {
  const rows = await rolledUp(deps, ctx, q);
  const after = page.after;
  const rest = after === undefined ? rows : rows.filter((r) => r.account_id > after);
  const shown = rest.slice(0, page.limit);
  const { failingByTask, alertsByTask } = await taskLists(deps, shown.map((r) => r.account_id), shown.flatMap((r) => r.summaries.map((s) => s.task_id)));
  const data: CustomerHealth[] = shown.map(({ summaries, ...r }) => ({
    ...r,
    tasks: summaries.map(({ account_id: _account, stalest_backup_at: _stalest, failing_count, alerts_last_7_days, ...s }) => ({
      ...s,
      failing_entities: { count: failing_count, data: failingByTask.get(s.task_id) ?? [] },
      smart_alerts: { last_7_days: alerts_last_7_days, recent: alertsByTask.get(s.task_id) ?? [] },
    })),
  }));
  return {
    totals: totalsOf(rows),
    data,
    next_cursor: rest.length > page.limit ? encodeCursor(shown[shown.length - 1]!.account_id) : null,
  };
}

export const HEALTH_CSV_COLUMNS = [
  'account_id', 'name', 'region', 'health', 'reasons', 'account_state', 'billing', 'tasks', 'disconnected_tasks', 'entities',
  'protected_entities', 'failing_entities', 'smart_alerts_last_7_days', 'protected_bytes', 'last_backup_at', 'stalest_backup_at',
];

/** Every matching customer (not one page) as CSV, one row each. */
export async function partnerHealthCsv(deps: AppDeps, ctx: RequestContext, q: HealthQuery): Promise<string> {
  const rows = await rolledUp(deps, ctx, q);
  return toCsv(rows.map((r) => [
    r.account_id, r.name, r.region, r.health, r.reasons.join(' '), r.account_state, r.billing, r.summaries.length, r.disconnected_tasks,
    r.entities.total, r.entities.protected, r.failing_entities, r.smart_alerts_last_7_days, r.protected_bytes, r.last_backup_at ?? '', r.stalest_backup_at ?? '',
  ]), { columns: HEALTH_CSV_COLUMNS });
}
