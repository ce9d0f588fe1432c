// GET /v1/partner/usage?month=YYYY-MM: what each customer used in a calendar month and what it
// costs, priced exactly as the invoices are (billing's quantities.ts and plans.ts prices),
// in three queries over all customers (usage peaks, live counts for customers without recorded
// days, restore and export jobs).
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { toCsv } from '../../csv.ts';
import { invalidField } from '../../errors.ts';
import { periodQuantitiesOf } from '../billing/quantities.ts';
import { addMonths, billingOf, priceLines } from '../billing/plans.ts';
import { customersOf, requirePartner } from './customers.ts';
import type { PartnerUsage } from './schemas.ts';

/** `YYYY-MM` (already matched by the query schema) → its first instant and the next month's, UTC; 400 for a month not yet begun. */
export function monthRange(month: string, now: Date): { from: Date; to: Date } {
  const from = new Date(`${month}-01T00:00:00.000Z`);
  if (Number.isNaN(from.getTime())) throw invalidField('/query/month', 'must be a month, YYYY-MM');
  if (from > now) throw invalidField('/query/month', 'The month has not begun yet.');
  return { from, to: addMonths(from, 1) };
}

export async function partnerUsage(deps: AppDeps, ctx: RequestContext, month: string): Promise<PartnerUsage> {
  await requirePartner(deps, ctx);
  const { from, to } = monthRange(month, deps.clock.now());
  const customers = await customersOf(deps, ctx);
  const ids = customers.map((c) => c.id);
  const billing = billingOf(deps.config);
  const [quantities, jobs] = await Promise.all([
    periodQuantitiesOf(deps.db, ids, from, to),
    ids.length
      ? deps.sql<{ account_id: string; restores: number; exports: number }[]>`
          select account_id, count(*) filter (where type = 'restore')::int as restores, count(*) filter (where type = 'export')::int as exports
          from jobs where account_id = any(${ids}) and created_at >= ${from.toISOString()} and created_at < ${to.toISOString()}
          group by account_id`
      : Promise.resolve([]),
  ]);
  const jobsOf = new Map(jobs.map((j) => [j.account_id, j]));
  const data = customers.map((c) => {
    const q = quantities.get(c.id) ?? { entities: 0, storedBytes: 0 };
    return {
      account_id: c.id, name: c.name, region: c.region, billing: c.billing,
      protected_entities: q.entities, stored_bytes: q.storedBytes,
      restores: jobsOf.get(c.id)?.restores ?? 0, exports: jobsOf.get(c.id)?.exports ?? 0,
      amount: priceLines(billing, 'monthly', q).reduce((s, l) => s + l.total, 0),
    };
  });
  const sum = (pick: (d: (typeof data)[number]) => number, rows = data) => rows.reduce((s, d) => s + pick(d), 0);
  return {
    month,
    currency: billing.currency,
    totals: {
      customers: data.length,
      protected_entities: sum((d) => d.protected_entities),
      stored_bytes: sum((d) => d.stored_bytes),
      restores: sum((d) => d.restores),
      exports: sum((d) => d.exports),
      amount: sum((d) => d.amount),
      partner_billed_amount: sum((d) => d.amount, data.filter((d) => d.billing === 'partner')),
    },
    data,
  };
}

export const USAGE_CSV_COLUMNS = ['account_id', 'name', 'region', 'billing', 'protected_entities', 'stored_bytes', 'restores', 'exports', 'amount', 'currency'];

/** One row per customer (amounts in minor units of the currency column). */
export async function partnerUsageCsv(deps: AppDeps, ctx: RequestContext, month: string): Promise<string> {
  const usage = await partnerUsage(deps, ctx, month);
  return toCsv(usage.data.map((d) => [
    d.account_id, d.name, d.region, d.billing, d.protected_entities, d.stored_bytes, d.restores, d.exports, d.amount, usage.currency,
  ]), { columns: USAGE_CSV_COLUMNS });
}
