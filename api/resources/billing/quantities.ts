// What an account is billed for: the protected entities and stored bytes, live or as the peak
// recorded in a period, including the customers a partner pays for, and the invoice lines they price to.
import { and, asc, eq, gte, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Tx } from '../../../db/client.ts';
import type { BillingConfig } from '../../config.ts';
import { accounts, entities, partnerCustomers } from '../../../db/schema.ts';
import { billingUsage, type BillingPlan } from '../../../db/schema/billing.ts';
import { priceLines, type Quantities } from './plans.ts';

/** Entity statuses that are not protected (not billed): not activated, or backed up by another task, or archived. */
export const UNPROTECTED_STATUSES = ['not_active', 'backed_up_in_another_task', 'archived'] as const;

export function dayOf(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** Protected entities and stored bytes right now (what the metering job records each day). */
export async function liveQuantities(db: Tx, accountId: string): Promise<Quantities> {
  return (await liveQuantitiesOf(db, [accountId])).get(accountId)!;
}

/** liveQuantities of many accounts in one query (every account given has an entry, zero when it has no entity). */
export async function liveQuantitiesOf(db: Tx, accountIds: string[]): Promise<Map<string, Quantities>> {
  const out = new Map<string, Quantities>(accountIds.map((id) => [id, { entities: 0, storedBytes: 0 }]));
  if (!accountIds.length) return out;
  const rows = await db
    .select({
      accountId: entities.accountId,
      entities: sql<number>`count(*) filter (where ${entities.status} not in ('not_active', 'backed_up_in_another_task', 'archived'))::int`,
      storedBytes: sql<string>`coalesce(sum(${entities.sizeBytes}), 0)::text`,
    })
    .from(entities)
    .where(and(inArray(entities.accountId, accountIds), eq(entities.state, 'active')))
    .groupBy(entities.accountId);
  for (const r of rows) out.set(r.accountId, { entities: r.entities, storedBytes: Number(r.storedBytes) });
  return out;
}

/** The peak of the recorded daily usage in [from, to); the live numbers when no day was recorded. */
export async function periodQuantities(db: Tx, accountId: string, from: Date, to: Date): Promise<Quantities> {
  return (await periodQuantitiesOf(db, [accountId], from, to)).get(accountId)!;
}

/** periodQuantities of many accounts in two queries at most. */
export async function periodQuantitiesOf(db: Tx, accountIds: string[], from: Date, to: Date): Promise<Map<string, Quantities>> {
  const out = new Map<string, Quantities>();
  if (!accountIds.length) return out;
  const rows = await db
    .select({
      accountId: billingUsage.accountId,
      entities: sql<number>`coalesce(max(${billingUsage.activeEntities}), 0)::int`,
      storedBytes: sql<string>`coalesce(max(${billingUsage.storedBytes}), 0)::text`,
    })
    .from(billingUsage)
    .where(and(inArray(billingUsage.accountId, accountIds), gte(billingUsage.day, dayOf(from)), lt(billingUsage.day, dayOf(to))))
    .groupBy(billingUsage.accountId);
  for (const r of rows) out.set(r.accountId, { entities: r.entities, storedBytes: Number(r.storedBytes) });
  const unrecorded = accountIds.filter((id) => !out.has(id));
  for (const [id, q] of await liveQuantitiesOf(db, unrecorded)) out.set(id, q);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Partners: customers whose billing is 'partner' are invoiced to their partner, a line each.

export interface CustomerQuantities {
  accountId: string;
  name: string;
  quantities: Quantities;
}

/** The customers a partner pays for now: billing 'partner' and access not revoked, by account id. */
export async function partnerBilledCustomers(db: Tx, partnerId: string): Promise<{ id: string; name: string }[]> {
  return db.select({ id: accounts.id, name: accounts.name }).from(partnerCustomers)
    .innerJoin(accounts, eq(accounts.id, partnerCustomers.customerAccountId))
    .where(and(eq(partnerCustomers.partnerAccountId, partnerId), eq(partnerCustomers.billing, 'partner'), isNull(partnerCustomers.revokedAt)))
    .orderBy(asc(accounts.id));
}

/** Whether the account's partner pays for it (then it is never invoiced itself, and its trial does not run out). */
export async function billedByPartner(db: Tx, accountId: string): Promise<boolean> {
  const [row] = await db.select({ id: partnerCustomers.customerAccountId }).from(partnerCustomers)
    .where(and(eq(partnerCustomers.customerAccountId, accountId), eq(partnerCustomers.billing, 'partner'), isNull(partnerCustomers.revokedAt)));
  return !!row;
}

/**
 * The quantities of each customer a partner pays for: the period's recorded peaks (monthly, in
 * arrears) or the live figures (annual, in advance), as the partner's own are counted.
 */
export async function customerQuantities(db: Tx, partnerId: string, period: { from: Date; to: Date } | 'live'): Promise<CustomerQuantities[]> {
  const customers = await partnerBilledCustomers(db, partnerId);
  const ids = customers.map((c) => c.id);
  const q = period === 'live' ? await liveQuantitiesOf(db, ids) : await periodQuantitiesOf(db, ids, period.from, period.to);
  return customers.map((c) => ({ accountId: c.id, name: c.name, quantities: q.get(c.id)! }));
}

/**
 * An invoice's lines: the account's own, then each customer's (priced alone, its own plan minimum
 * included, named in the line). A partner's own line is left out when it protects nothing itself
 * and has customers on the invoice, so the minimum is not charged for an empty partner account.
 */
export function invoiceLinesFor(billing: BillingConfig, plan: BillingPlan, own: Quantities, customers: CustomerQuantities[] = []) {
  const ownLines = customers.length && own.entities === 0 && own.storedBytes === 0 ? [] : priceLines(billing, plan, own);
  return [
    ...ownLines,
    ...customers.flatMap((c) => priceLines(billing, plan, c.quantities).map((l) => ({
      ...l, service: `${l.service} for ${c.name}`, description: `Customer ${c.name} (${c.accountId}). ${l.description}`,
    }))),
  ];
}

export async function recordUsage(db: Tx, accountId: string, now: Date): Promise<Quantities> {
  const q = await liveQuantities(db, accountId);
  await db
    .insert(billingUsage)
    .values({ accountId, day: dayOf(now), activeEntities: q.entities, storedBytes: q.storedBytes, recordedAt: now })
    .onConflictDoUpdate({
      target: [billingUsage.accountId, billingUsage.day],
      set: {
        activeEntities: sql`greatest(${billingUsage.activeEntities}, excluded.active_entities)`,
        storedBytes: sql`greatest(${billingUsage.storedBytes}, excluded.stored_bytes)`,
        recordedAt: now,
      },
    });
  return q;
}
