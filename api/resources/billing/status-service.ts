// What the account sees of its billing: the status with the next payment's forecast, the recorded
// daily usage, and the billing messages.
import { and, asc, desc, eq, gte, isNull, lt, lte } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { accounts } from '../../../db/schema.ts';
import { billingMessages, billingUsage, paymentMethods } from '../../../db/schema/billing.ts';
import { notFound } from '../../errors.ts';
import { toPage, type PageRequest } from '../../pagination.ts';
import { billingOf, DAY_MS, periodEnd } from './plans.ts';
import { monthlySchedule, paymentOptionsOf } from './payment-settings.ts';
import { customerQuantities, dayOf, invoiceLinesFor, liveQuantities, periodQuantities } from './quantities.ts';
import { linesOf, openInvoices, serializeInvoice, subscriptionOf } from './records.ts';
import { serializeSubscription } from './subscription-service.ts';
import { serializeMethod } from './payment-method-service.ts';
import type { BillingMessage, BillingStatus } from './schemas.ts';

/** When and how the forecast payment is made: monthly invoices follow the payment settings; annual ones are due when the period starts. */
async function forecastPayment(deps: AppDeps, accountId: string, plan: 'monthly' | 'annual', start: Date) {
  if (plan === 'annual') return { payment_date: start.toISOString(), automatic_payment: false };
  const options = await paymentOptionsOf(deps.db, accountId);
  const schedule = monthlySchedule(billingOf(deps.config), options, periodEnd(plan, start));
  return { payment_date: schedule.paymentDate.toISOString(), automatic_payment: options.autoPay };
}

export async function getStatus(deps: AppDeps, ctx: RequestContext): Promise<BillingStatus> {
  const now = deps.clock.now();
  const billing = billingOf(deps.config);
  const [account] = await deps.db.select().from(accounts).where(eq(accounts.id, ctx.accountId));
  if (!account) throw notFound('Account');
  const sub = await subscriptionOf(deps.db, ctx.accountId);
  const open = await openInvoices(deps.db, ctx.accountId);
  const lines = await linesOf(deps.db, open.map((r) => r.id));
  const unpaid = open.map((r) => serializeInvoice(r, lines.get(r.id) ?? []));
  const [card] = await deps.db.select().from(paymentMethods).where(and(eq(paymentMethods.accountId, ctx.accountId), eq(paymentMethods.isDefault, true)));
  const live = sub?.state !== 'canceled' ? sub : undefined;

  let plan: 'monthly' | 'annual' = live?.plan ?? 'monthly';
  let start: Date;
  let quantities;
  if (live?.state === 'active' && live.plan === 'monthly') {
    start = live.currentPeriodStart!;
    quantities = await periodQuantities(deps.db, ctx.accountId, start, live.currentPeriodEnd!);
  } else if (live?.state === 'active') {
    start = live.currentPeriodEnd!;
    quantities = await liveQuantities(deps.db, ctx.accountId);
  } else if (live?.state === 'scheduled') {
    start = live.startsAt;
    quantities = await liveQuantities(deps.db, ctx.accountId);
  } else {
    plan = 'monthly';
    start = account.state === 'trial' && account.trialEndsAt && account.trialEndsAt > now ? account.trialEndsAt : now;
    quantities = await liveQuantities(deps.db, ctx.accountId);
  }
  const customers = await customerQuantities(deps.db, ctx.accountId, live?.state === 'active' && live.plan === 'monthly'
    ? { from: start, to: live.currentPeriodEnd! } : 'live');
  const forecastLines = invoiceLinesFor(billing, plan, quantities, customers).map((l) => ({
    service: l.service, description: l.description, unit: l.unit, total_quantity: l.quantity, billable_quantity: l.billableQuantity,
    unit_price: l.unitPrice, total: l.total,
  }));

  let paymentStatus: BillingStatus['payment_status'];
  if (open.some((i) => i.firstFailedAt !== null)) paymentStatus = 'failed';
  else if (open.some((i) => i.status === 'overdue')) paymentStatus = 'overdue';
  else if (open.length) paymentStatus = 'due';
  else if (account.state === 'trial' && !live) paymentStatus = 'trial';
  else if (!live) paymentStatus = 'no_subscription';
  else paymentStatus = 'paid';

  const nextRenewal = live?.state === 'scheduled' ? live.startsAt : live?.state === 'active' && !live.cancelAtPeriodEnd ? live.currentPeriodEnd : null;
  return {
    account_state: account.state,
    trial_ends_at: account.trialEndsAt?.toISOString() ?? null,
    subscription: sub ? serializeSubscription(sub) : null,
    payment_status: paymentStatus,
    currency: billing.currency,
    amount_due: unpaid.reduce((s, i) => s + i.amount_due, 0),
    unpaid_invoices: unpaid,
    next_renewal_date: nextRenewal?.toISOString() ?? null,
    default_payment_method: card ? serializeMethod(card) : null,
    forecast: {
      plan, period_start: start.toISOString(), period_end: periodEnd(plan, start).toISOString(),
      lines: forecastLines, total: forecastLines.reduce((s, l) => s + l.total, 0),
      ...(await forecastPayment(deps, ctx.accountId, plan, start)),
    },
  };
}

export async function listUsage(deps: AppDeps, ctx: RequestContext, query: { from?: string; to?: string }) {
  const now = deps.clock.now();
  const from = query.from ?? dayOf(new Date(now.getTime() - 31 * DAY_MS));
  const to = query.to ?? dayOf(now);
  const rows = await deps.db.select().from(billingUsage)
    .where(and(eq(billingUsage.accountId, ctx.accountId), gte(billingUsage.day, from), lte(billingUsage.day, to)))
    .orderBy(asc(billingUsage.day)).limit(400);
  return { data: rows.map((r) => ({ day: r.day, active_entities: r.activeEntities, stored_bytes: r.storedBytes, recorded_at: r.recordedAt.toISOString() })) };
}

export async function listMessages(deps: AppDeps, ctx: RequestContext, page: PageRequest, includeResolved: boolean) {
  const rows = await deps.db.select().from(billingMessages)
    .where(and(
      eq(billingMessages.accountId, ctx.accountId), page.after ? lt(billingMessages.id, page.after) : undefined,
      includeResolved ? undefined : isNull(billingMessages.resolvedAt),
    ))
    .orderBy(desc(billingMessages.id)).limit(page.limit + 1);
  return toPage(rows, page.limit, (r): BillingMessage => ({
    id: r.id, kind: r.kind, invoice_id: r.invoiceId, message: r.message, created_at: r.createdAt.toISOString(), resolved_at: r.resolvedAt?.toISOString() ?? null,
  }));
}
