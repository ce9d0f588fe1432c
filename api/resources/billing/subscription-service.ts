// The plans on offer and the account's subscription: subscribing, canceling, and the account
// activation a starting subscription brings (also run by the billing cycle when a scheduled one starts).
import { and, eq, gte, inArray, isNull, sql } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { accountRemovals, accounts } from '../../../db/schema.ts';
import { billingDetails, billingMessages, billingSubscriptions, invoices, paymentMethods } from '../../../db/schema/billing.ts';
import { conflict, notFound, preconditionFailed } from '../../errors.ts';
import { TRIAL_DAYS } from '../accounts/service.ts';
import { audit } from '../audit/service.ts';
import { addDays, billingOf, periodEnd, planPrice } from './plans.ts';
import { emitBillingEvent } from './events.ts';
import { dayOf, liveQuantities } from './quantities.ts';
import { openInvoices, subscriptionOf } from './records.ts';
import { issueInvoice } from './invoice-issuing.ts';
import type { Subscription, SubscriptionCreate } from './schemas.ts';

type SubscriptionRow = typeof billingSubscriptions.$inferSelect;

export function getPlans(deps: AppDeps) {
  const billing = billingOf(deps.config);
  return {
    currency: billing.currency,
    trial_days: TRIAL_DAYS,
    minimum_entities: billing.minimumEntities,
    plans: (['monthly', 'annual'] as const).map((plan) => {
      const p = planPrice(billing, plan);
      return {
        plan, months: p.months, entity_price: p.entityPrice, storage_gb_price: p.storageGbPrice, discount_percent: p.discountPercent,
        billed: plan === 'monthly' ? 'in_arrears' as const : 'in_advance' as const,
        terms_days: plan === 'monthly' ? billing.monthlyTermsDays : billing.annualTermsDays,
      };
    }),
  };
}

export function serializeSubscription(row: SubscriptionRow): Subscription {
  return {
    plan: row.plan,
    state: row.state,
    purchase_order_number: row.purchaseOrderNumber,
    starts_at: row.startsAt.toISOString(),
    current_period_start: row.currentPeriodStart?.toISOString() ?? null,
    current_period_end: row.currentPeriodEnd?.toISOString() ?? null,
    cancel_at_period_end: row.cancelAtPeriodEnd,
    canceled_at: row.canceledAt?.toISOString() ?? null,
    ended_at: row.endedAt?.toISOString() ?? null,
    created_at: row.createdAt.toISOString(),
  };
}

export async function getSubscription(deps: AppDeps, ctx: RequestContext) {
  const row = await subscriptionOf(deps.db, ctx.accountId);
  if (!row) throw notFound('Subscription', undefined);
  return { subscription: serializeSubscription(row), version: row.version };
}

/**
 * Subscribes the account. During the trial the subscription is `scheduled` and starts when the
 * trial ends; otherwise (trial over, suspended, pending deletion) it starts now and the account is
 * active again. Monthly needs a card (charged at the end of each month); annual is invoiced now,
 * in advance, payable within the annual terms, with the purchase-order number on the invoice.
 */
export async function subscribe(deps: AppDeps, ctx: RequestContext, input: SubscriptionCreate) {
  const now = deps.clock.now();
  const [account] = await deps.db.select().from(accounts).where(eq(accounts.id, ctx.accountId));
  if (!account) throw notFound('Account');
  if (account.state === 'pending_deletion') {
    const [removal] = await deps.db.select().from(accountRemovals).where(eq(accountRemovals.accountId, ctx.accountId));
    if (removal?.requestedByUserId) {
      throw conflict('account_pending_deletion', 'This account is being removed at a user\'s request; undo the removal (DELETE /v1/account/removal) before subscribing.');
    }
  }
  const existing = await subscriptionOf(deps.db, ctx.accountId);
  if (existing && existing.state !== 'canceled') {
    throw conflict('already_subscribed', `The account already has a ${existing.plan} subscription (${existing.state}); cancel it first to change plans.`);
  }
  const [details] = await deps.db.select().from(billingDetails).where(eq(billingDetails.accountId, ctx.accountId));
  if (!details) throw conflict('billing_details_required', 'Fill in the billing details (PUT /v1/billing/details) before subscribing.');
  if (input.plan === 'monthly') {
    const [card] = await deps.db.select({ id: paymentMethods.id }).from(paymentMethods)
      .where(and(eq(paymentMethods.accountId, ctx.accountId), eq(paymentMethods.isDefault, true)));
    if (!card) throw conflict('payment_method_required', 'A monthly subscription is charged to a card: add one (POST /v1/billing/payment-methods) first.');
  }
  const startsAt = account.state === 'trial' && account.trialEndsAt && account.trialEndsAt > now ? account.trialEndsAt : now;
  const startsNow = startsAt.getTime() <= now.getTime();
  const values = {
    plan: input.plan,
    state: startsNow ? 'active' as const : 'scheduled' as const,
    purchaseOrderNumber: input.purchase_order_number ?? null,
    startsAt,
    currentPeriodStart: startsNow ? startsAt : null,
    currentPeriodEnd: startsNow ? periodEnd(input.plan, startsAt) : null,
    cancelAtPeriodEnd: false,
    canceledAt: null,
    endedAt: null,
    updatedAt: now,
  };
  const row = await deps.db.transaction(async (tx) => {
    const [sub] = await tx.insert(billingSubscriptions)
      .values({ accountId: ctx.accountId, ...values, createdAt: now })
      .onConflictDoUpdate({ target: billingSubscriptions.accountId, set: { ...values, createdAt: now, version: sql`${billingSubscriptions.version} + 1` } })
      .returning();
    if (startsNow) await activateAccount(tx, ctx.accountId, now);
    await audit(deps, ctx, {
      type: 'subscription_created',
      description: `${input.plan === 'annual' ? 'Annual' : 'Monthly'} subscription ${startsNow ? 'started' : `scheduled to start ${dayOf(startsAt)}`}`,
      details: { plan: input.plan, starts_at: startsAt.toISOString(), purchase_order_number: input.purchase_order_number ?? null },
    }, tx);
    return sub!;
  });
  if (input.plan === 'annual') {
    await issueInvoice(deps, {
      accountId: ctx.accountId, plan: 'annual', periodStart: startsAt, periodEnd: periodEnd('annual', startsAt),
      quantities: await liveQuantities(deps.db, ctx.accountId), purchaseOrderNumber: row.purchaseOrderNumber, autoCharge: false,
      dueAt: addDays(now, billingOf(deps.config).annualTermsDays),
    });
  }
  const subscription = serializeSubscription(row);
  await emitBillingEvent(deps, { type: 'subscription.created', accountId: ctx.accountId, data: { subscription }, occurredAt: now });
  return { subscription, version: row.version };
}

/** A subscription that starts (now or at the end of the trial) makes the account active again. */
export async function activateAccount(tx: Parameters<typeof openInvoices>[0], accountId: string, now: Date) {
  await tx.update(accounts)
    .set({ state: 'active', purgeAt: null, updatedAt: now, version: sql`${accounts.version} + 1` })
    .where(and(
      eq(accounts.id, accountId), inArray(accounts.state, ['trial', 'suspended', 'pending_deletion']),
      sql`not exists (select 1 from ${accountRemovals} where ${accountRemovals.accountId} = ${accountId} and ${accountRemovals.requestedByUserId} is not null)`,
    ));
  // A deletion billing scheduled (no requesting user) is called off; a user's own removal request is not.
  await tx.delete(accountRemovals).where(and(eq(accountRemovals.accountId, accountId), isNull(accountRemovals.requestedByUserId)));
  await tx.update(billingMessages).set({ resolvedAt: now })
    .where(and(eq(billingMessages.accountId, accountId), isNull(billingMessages.resolvedAt), inArray(billingMessages.kind, ['trial_ended', 'account_suspended'])));
}

/**
 * Cancels: a scheduled subscription ends at once; an active one stops renewing and serves until the
 * end of the paid period (then backups are suspended). Canceling a canceled subscription is a no-op.
 */
export async function cancelSubscription(deps: AppDeps, ctx: RequestContext, expected: number | undefined) {
  const now = deps.clock.now();
  const current = await subscriptionOf(deps.db, ctx.accountId);
  if (!current) throw notFound('Subscription');
  if (expected !== undefined && expected !== current.version) throw preconditionFailed(`The subscription is at version ${current.version}.`);
  if (current.state === 'canceled' || current.cancelAtPeriodEnd) return { subscription: serializeSubscription(current), version: current.version };
  const set = current.state === 'scheduled'
    ? { state: 'canceled' as const, canceledAt: now, endedAt: now }
    : { cancelAtPeriodEnd: true, canceledAt: now };
  const row = await deps.db.transaction(async (tx) => {
    const [updated] = await tx.update(billingSubscriptions)
      .set({ ...set, updatedAt: now, version: current.version + 1 })
      .where(and(eq(billingSubscriptions.accountId, ctx.accountId), eq(billingSubscriptions.version, current.version)))
      .returning();
    if (!updated) throw preconditionFailed('The subscription changed while this request ran; fetch it again.');
    if (current.state === 'scheduled') {
      // Never started: an annual invoice issued in advance for it is void.
      const voided = await tx.update(invoices)
        .set({ status: 'void', nextAttemptAt: null, updatedAt: now, version: sql`${invoices.version} + 1` })
        .where(and(
          eq(invoices.accountId, ctx.accountId), inArray(invoices.status, ['due', 'overdue']), eq(invoices.plan, current.plan),
          gte(invoices.periodStart, current.startsAt),
        ))
        .returning({ id: invoices.id });
      if (voided.length) {
        await tx.update(billingMessages).set({ resolvedAt: now })
          .where(and(eq(billingMessages.accountId, ctx.accountId), isNull(billingMessages.resolvedAt), inArray(billingMessages.invoiceId, voided.map((v) => v.id))));
      }
    }
    return updated;
  });
  await audit(deps, ctx, { type: 'subscription_canceled', description: `${row.plan} subscription canceled`, details: { ends_at: row.currentPeriodEnd?.toISOString() ?? now.toISOString() } });
  const subscription = serializeSubscription(row);
  await emitBillingEvent(deps, { type: 'subscription.canceled', accountId: ctx.accountId, data: { subscription }, occurredAt: now });
  return { subscription, version: row.version };
}
