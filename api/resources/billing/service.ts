import { and, asc, desc, eq, gte, inArray, isNull, lt, lte, ne, sql, type SQL } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { newId } from '../../../db/ids.ts';
import { accountRemovals, accounts } from '../../../db/schema.ts';
import {
  billingDetails, billingMessages, billingSubscriptions, billingUsage, invoices, paymentMethods, payments,
} from '../../../db/schema/billing.ts';
import { badRequest, conflict, gone, invalidField, notFound, preconditionFailed } from '../../errors.ts';
import { toPage, type PageRequest } from '../../pagination.ts';
import { TRIAL_DAYS } from '../accounts/service.ts';
import { audit } from '../audit/service.ts';
import { addDays, billingOf, DAY_MS, periodEnd, planPrice } from './plans.ts';
import { paymentProvider } from './provider.ts';
import { emitBillingEvent } from './events.ts';
import { monthlySchedule, paymentOptionsOf } from './payment-settings.ts';
import { customerQuantities, dayOf, invoiceLinesFor, liveQuantities, periodQuantities } from './quantities.ts';
import { linesOf, loadInvoice, openInvoices, serializeInvoice, serializePayment, subscriptionOf } from './records.ts';
import { invoicePdf, openInvoiceLink } from './invoice-document.ts';
import { mailInvoice } from './mail.ts';
import { issueInvoice } from './invoice-issuing.ts';
import { chargeInvoice, InvoiceAlreadyPaid, paymentDeclined } from './invoice-charging.ts';
import type {
  BillingDetails, BillingDetailsInput, BillingMessage, BillingStatus, PaymentMethod, PaymentMethodCreate, Subscription, SubscriptionCreate,
} from './schemas.ts';

type SubscriptionRow = typeof billingSubscriptions.$inferSelect;
type DetailsRow = typeof billingDetails.$inferSelect;
type MethodRow = typeof paymentMethods.$inferSelect;

// ---------------------------------------------------------------------------------------------
// Plans

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

// ---------------------------------------------------------------------------------------------
// Subscription

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

// ---------------------------------------------------------------------------------------------
// Billing details

function serializeDetails(row: DetailsRow): BillingDetails {
  return {
    currency: row.currency, title: row.title, first_name: row.firstName, last_name: row.lastName, email: row.email,
    company_name: row.companyName, company_tax_id: row.companyTaxId, address_line1: row.addressLine1, address_line2: row.addressLine2,
    address_line3: row.addressLine3, country: row.country, state: row.state, city: row.city, zip: row.zip, phone: row.phone,
    invoice_delivery: row.invoiceDelivery, updated_at: row.updatedAt.toISOString(),
  };
}

export async function getDetails(deps: AppDeps, ctx: RequestContext) {
  const [row] = await deps.db.select().from(billingDetails).where(eq(billingDetails.accountId, ctx.accountId));
  if (!row) throw notFound('Billing details');
  return { details: serializeDetails(row), version: row.version };
}

const trimmed = (v: string | null | undefined) => (v === undefined || v === null || v.trim() === '' ? null : v.trim());

/** Replaces the billing details. Israeli companies (country IL) must give their tax id (VAT). */
export async function putDetails(deps: AppDeps, ctx: RequestContext, input: BillingDetailsInput, expected: number | undefined) {
  const billing = billingOf(deps.config);
  if (input.currency !== billing.currency) {
    throw invalidField('/body/currency', `invoices are issued in ${billing.currency}; to change the billing currency contact support`);
  }
  const taxId = trimmed(input.company_tax_id);
  if (input.country === 'IL' && !taxId) {
    throw invalidField('/body/company_tax_id', 'the company tax id is mandatory for companies in Israel (VAT)');
  }
  if (input.country === 'IL' && taxId && !/^\d{9}$/.test(taxId.replace(/[\s-]/g, ''))) {
    throw invalidField('/body/company_tax_id', 'an Israeli company tax id has 9 digits');
  }
  for (const field of ['first_name', 'last_name', 'company_name', 'address_line1', 'city', 'zip'] as const) {
    if (!trimmed(input[field])) throw invalidField(`/body/${field}`, 'must not be blank');
  }
  const now = deps.clock.now();
  const values = {
    currency: input.currency, title: trimmed(input.title), firstName: input.first_name.trim(), lastName: input.last_name.trim(),
    email: input.email.trim().toLowerCase(), companyName: input.company_name.trim(), companyTaxId: taxId,
    addressLine1: input.address_line1.trim(), addressLine2: trimmed(input.address_line2), addressLine3: trimmed(input.address_line3),
    country: input.country, state: trimmed(input.state), city: input.city.trim(), zip: input.zip.trim(), phone: input.phone.trim(),
    invoiceDelivery: input.invoice_delivery ?? 'attachment' as const, updatedAt: now,
  };
  const [current] = await deps.db.select().from(billingDetails).where(eq(billingDetails.accountId, ctx.accountId));
  if (current && expected !== undefined && expected !== current.version) throw preconditionFailed(`The billing details are at version ${current.version}.`);
  if (!current && expected !== undefined && expected !== 0) throw preconditionFailed('The billing details do not exist yet.');
  let row: DetailsRow | undefined;
  if (current) {
    [row] = await deps.db.update(billingDetails).set({ ...values, version: current.version + 1 })
      .where(and(eq(billingDetails.accountId, ctx.accountId), eq(billingDetails.version, current.version))).returning();
  } else {
    [row] = await deps.db.insert(billingDetails).values({ accountId: ctx.accountId, ...values, createdAt: now }).onConflictDoNothing().returning();
  }
  if (!row) throw preconditionFailed('The billing details changed while this request ran; fetch them again.');
  await audit(deps, ctx, { type: 'billing_details_updated', description: 'Billing details updated', details: { country: row.country, email: row.email } });
  return { details: serializeDetails(row), version: row.version, created: !current };
}

// ---------------------------------------------------------------------------------------------
// Payment methods

function serializeMethod(row: MethodRow): PaymentMethod {
  return {
    id: row.id, type: 'card', brand: row.brand, last4: row.last4, exp_month: row.expMonth, exp_year: row.expYear,
    holder_name: row.holderName, is_default: row.isDefault, created_at: row.createdAt.toISOString(),
  };
}

const CARD_POINTERS = {
  invalid_number: '/body/number', invalid_expiry: '/body/exp_month', expired_card: '/body/exp_year', invalid_cvc: '/body/cvc',
} as const;

/**
 * Adds a card: the number, expiry, CVC and holder go to the payment provider, which returns a
 * token; Coffer stores the token, brand, last four digits and expiry. The first card (and a card
 * added when there is none) becomes the default; a card added later is activated explicitly.
 */
export async function addPaymentMethod(deps: AppDeps, ctx: RequestContext, input: PaymentMethodCreate) {
  const now = deps.clock.now();
  const provider = paymentProvider(deps);
  const result = await provider.tokenize({ number: input.number, expMonth: input.exp_month, expYear: input.exp_year, cvc: input.cvc, holderName: input.holder_name }, now);
  if (!result.ok) {
    throw badRequest(`card_${result.code}`, result.message, [{ pointer: CARD_POINTERS[result.code], detail: result.message }]);
  }
  const row = await deps.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${'payment_methods:' + ctx.accountId}))`);
    const [existing] = await tx.select({ id: paymentMethods.id }).from(paymentMethods)
      .where(and(eq(paymentMethods.accountId, ctx.accountId), eq(paymentMethods.isDefault, true)));
    const [pm] = await tx.insert(paymentMethods).values({
      id: newId('pm'), accountId: ctx.accountId, provider: provider.name, providerToken: result.card.token, brand: result.card.brand,
      last4: result.card.last4, expMonth: result.card.expMonth, expYear: result.card.expYear, holderName: input.holder_name.trim(),
      isDefault: !existing, createdAt: now,
    }).returning();
    await audit(deps, ctx, { type: 'payment_method_added', description: `Card ${pm!.brand} •••• ${pm!.last4} added`, details: { payment_method_id: pm!.id } }, tx);
    return pm!;
  });
  return serializeMethod(row);
}

export async function listPaymentMethods(deps: AppDeps, ctx: RequestContext, page: PageRequest) {
  const rows = await deps.db.select().from(paymentMethods)
    .where(and(eq(paymentMethods.accountId, ctx.accountId), page.after ? lt(paymentMethods.id, page.after) : undefined))
    .orderBy(desc(paymentMethods.id)).limit(page.limit + 1);
  return toPage(rows, page.limit, serializeMethod);
}

async function findMethod(deps: AppDeps, ctx: RequestContext, id: string) {
  const [row] = await deps.db.select().from(paymentMethods).where(and(eq(paymentMethods.accountId, ctx.accountId), eq(paymentMethods.id, id)));
  if (!row) throw notFound('Payment method', id);
  return row;
}

export async function getPaymentMethod(deps: AppDeps, ctx: RequestContext, id: string) {
  return serializeMethod(await findMethod(deps, ctx, id));
}

/** Makes a card the default: the one invoices are charged to. */
export async function activatePaymentMethod(deps: AppDeps, ctx: RequestContext, id: string) {
  await findMethod(deps, ctx, id);
  const row = await deps.db.transaction(async (tx) => {
    await tx.update(paymentMethods).set({ isDefault: false }).where(and(eq(paymentMethods.accountId, ctx.accountId), eq(paymentMethods.isDefault, true), ne(paymentMethods.id, id)));
    const [pm] = await tx.update(paymentMethods).set({ isDefault: true }).where(and(eq(paymentMethods.accountId, ctx.accountId), eq(paymentMethods.id, id))).returning();
    await audit(deps, ctx, { type: 'payment_method_activated', description: `Card ${pm!.brand} •••• ${pm!.last4} is now the default`, details: { payment_method_id: id } }, tx);
    return pm!;
  });
  return serializeMethod(row);
}

/** Deletes a card; when it was the default, the most recently added other card becomes the default. */
export async function deletePaymentMethod(deps: AppDeps, ctx: RequestContext, id: string) {
  const current = await findMethod(deps, ctx, id);
  await deps.db.transaction(async (tx) => {
    await tx.delete(paymentMethods).where(and(eq(paymentMethods.accountId, ctx.accountId), eq(paymentMethods.id, id)));
    if (current.isDefault) {
      const [next] = await tx.select({ id: paymentMethods.id }).from(paymentMethods).where(eq(paymentMethods.accountId, ctx.accountId)).orderBy(desc(paymentMethods.id)).limit(1);
      if (next) await tx.update(paymentMethods).set({ isDefault: true }).where(eq(paymentMethods.id, next.id));
    }
    await audit(deps, ctx, { type: 'payment_method_deleted', description: `Card ${current.brand} •••• ${current.last4} deleted`, details: { payment_method_id: id } }, tx);
  });
}

// ---------------------------------------------------------------------------------------------
// Usage

export async function listUsage(deps: AppDeps, ctx: RequestContext, query: { from?: string; to?: string }) {
  const now = deps.clock.now();
  const from = query.from ?? dayOf(new Date(now.getTime() - 31 * DAY_MS));
  const to = query.to ?? dayOf(now);
  const rows = await deps.db.select().from(billingUsage)
    .where(and(eq(billingUsage.accountId, ctx.accountId), gte(billingUsage.day, from), lte(billingUsage.day, to)))
    .orderBy(asc(billingUsage.day)).limit(400);
  return { data: rows.map((r) => ({ day: r.day, active_entities: r.activeEntities, stored_bytes: r.storedBytes, recorded_at: r.recordedAt.toISOString() })) };
}

// ---------------------------------------------------------------------------------------------
// Invoices and payments

export async function listInvoices(deps: AppDeps, ctx: RequestContext, page: PageRequest, filter: { status?: 'due' | 'paid' | 'overdue' | 'void' }) {
  const conditions: (SQL | undefined)[] = [eq(invoices.accountId, ctx.accountId)];
  if (page.after) conditions.push(lt(invoices.id, page.after));
  if (filter.status) conditions.push(eq(invoices.status, filter.status));
  const rows = await deps.db.select().from(invoices).where(and(...conditions)).orderBy(desc(invoices.id)).limit(page.limit + 1);
  const lines = await linesOf(deps.db, rows.map((r) => r.id));
  return toPage(rows, page.limit, (r) => serializeInvoice(r, lines.get(r.id) ?? []));
}

export async function getInvoice(deps: AppDeps, ctx: RequestContext, id: string) {
  const { row, invoice } = await loadInvoice(deps.db, ctx.accountId, id);
  return { invoice, version: row.version };
}

export async function getInvoicePdf(deps: AppDeps, ctx: RequestContext, id: string) {
  const { row, invoice } = await loadInvoice(deps.db, ctx.accountId, id);
  return { pdf: await invoicePdf(deps, row), filename: `${invoice.number}.pdf` };
}

/** The PDF behind an emailed link: the token is the credential (public route). */
export async function getInvoicePdfByToken(deps: AppDeps, token: string) {
  const opened = openInvoiceLink(deps, token, deps.clock.now());
  if (opened === 'invalid') throw notFound('Invoice link');
  if (opened === 'expired') throw gone('link_expired', 'This invoice link has expired; ask for the invoice to be emailed again.');
  const [row] = await deps.db.select().from(invoices).where(eq(invoices.id, opened.invoiceId));
  if (!row) throw notFound('Invoice link');
  return { pdf: await invoicePdf(deps, row), filename: `${serializeInvoice(row, []).number}.pdf` };
}

export async function emailInvoice(deps: AppDeps, ctx: RequestContext, id: string) {
  const { row, invoice } = await loadInvoice(deps.db, ctx.accountId, id);
  const sent = await mailInvoice(deps, row, `Invoice ${invoice.number} from ${billingOf(deps.config).seller.name}`,
    row.status === 'paid' ? `Here is invoice ${invoice.number}, paid on ${dayOf(row.paidAt!)}.` : `Here is invoice ${invoice.number}, due on ${dayOf(row.dueAt)}.`);
  await audit(deps, ctx, { type: 'invoice_emailed', description: `Invoice ${invoice.number} emailed to ${sent.sent_to}`, details: { invoice_id: id, delivery: sent.delivery } });
  return sent;
}

/** Pays an invoice with the default card now. A declined charge is recorded, then answered with 402. */
export async function payInvoice(deps: AppDeps, ctx: RequestContext, id: string) {
  await loadInvoice(deps.db, ctx.accountId, id);
  const outcome = await chargeInvoice(deps, ctx.accountId, id, 'manual').catch((err: unknown) => {
    throw err instanceof InvoiceAlreadyPaid ? conflict('invoice_paid', err.message) : err;
  });
  await audit(deps, ctx, {
    type: outcome.declined ? 'payment_failed' : 'payment_succeeded',
    description: `Payment of invoice ${outcome.invoice.number} ${outcome.declined ? `declined (${outcome.declined.code})` : 'succeeded'}`,
    details: { invoice_id: id, payment_id: outcome.payment.id },
  });
  if (outcome.declined) throw paymentDeclined(outcome);
  return { invoice: outcome.invoice, payment: outcome.payment };
}

export async function listPayments(deps: AppDeps, ctx: RequestContext, page: PageRequest, filter: { status?: 'succeeded' | 'failed' }) {
  const rows = await deps.db.select({ payment: payments, number: invoices.number }).from(payments)
    .innerJoin(invoices, eq(invoices.id, payments.invoiceId))
    .where(and(
      eq(payments.accountId, ctx.accountId), page.after ? lt(payments.id, page.after) : undefined,
      filter.status ? eq(payments.status, filter.status) : undefined,
    ))
    .orderBy(desc(payments.id)).limit(page.limit + 1);
  return toPage(rows.map((r) => ({ id: r.payment.id, ...r })), page.limit, (r) => serializePayment(r.payment, r.number));
}

export async function getPayment(deps: AppDeps, ctx: RequestContext, id: string) {
  const [row] = await deps.db.select({ payment: payments, number: invoices.number }).from(payments)
    .innerJoin(invoices, eq(invoices.id, payments.invoiceId))
    .where(and(eq(payments.accountId, ctx.accountId), eq(payments.id, id)));
  if (!row) throw notFound('Payment', id);
  return serializePayment(row.payment, row.number);
}

// ---------------------------------------------------------------------------------------------
// Status

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

// ---------------------------------------------------------------------------------------------
// Messages

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
