// Automatic card payment on or off, the payment day, what they mean for a monthly invoice (when
// it is charged, when it is due), and recording a payment that arrived outside the card (bank
// transfer, PayPal) against an invoice.
import { and, eq, sql } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import type { Tx } from '../../../db/client.ts';
import { billingPaymentSettings, invoices, payments } from '../../../db/schema.ts';
import { newId } from '../../../db/ids.ts';
import { ApiError, conflict, notFound, preconditionFailed } from '../../errors.ts';
import { audit } from '../audit/service.ts';
import { assertAdministrator } from '../users/guard.ts';
import { addDays, billingOf, formatInvoiceNumber, formatMoney } from './plans.ts';
import { emitBillingEvent } from './events.ts';
import { linesOf, serializeInvoice, serializePayment, type InvoiceRow } from './records.ts';
import { mailInvoice } from './mail.ts';
import { resolveMessages } from './messages.ts';
import { settleAccountState } from './dunning.ts';
import type { BillingConfig } from '../../config.ts';
import type { ExternalPaymentCreate, PaymentSettings, PaymentSettingsUpdate } from './payment-schemas.ts';

export interface PaymentOptions { autoPay: boolean; paymentDay: number | null }

export async function paymentOptionsOf(db: Tx, accountId: string): Promise<PaymentOptions & { version: number; updatedAt: Date | null }> {
  const [row] = await db.select().from(billingPaymentSettings).where(eq(billingPaymentSettings.accountId, accountId));
  return { autoPay: row?.autoPay ?? true, paymentDay: row?.paymentDay ?? null, version: row?.version ?? 0, updatedAt: row?.updatedAt ?? null };
}

/** The first `day` of a month at or after `from` (UTC midnight). */
export function nextPaymentDay(from: Date, day: number): Date {
  const candidate = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), day));
  return candidate >= from ? candidate : new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + 1, day));
}

/**
 * When a monthly invoice for a period ending at `periodEnd` is paid: charged to the card on
 * `paymentDate` (automatic payment) or awaited until `dueAt`. The due date is never before the
 * monthly terms, nor before the payment day (a card is not charged after its invoice went overdue).
 */
export function monthlySchedule(billing: BillingConfig, options: PaymentOptions, periodEnd: Date) {
  const terms = addDays(periodEnd, billing.monthlyTermsDays);
  const paymentDay = options.paymentDay === null ? null : nextPaymentDay(periodEnd, options.paymentDay);
  const dueAt = paymentDay && paymentDay > terms ? paymentDay : terms;
  return { autoCharge: options.autoPay, firstAttemptAt: options.autoPay ? paymentDay ?? periodEnd : null, paymentDate: options.autoPay ? paymentDay ?? periodEnd : dueAt, dueAt };
}

function serialize(o: { autoPay: boolean; paymentDay: number | null; updatedAt: Date | null }): PaymentSettings {
  return { auto_pay: o.autoPay, payment_day: o.paymentDay, updated_at: o.updatedAt?.toISOString() ?? null };
}

export async function getPaymentSettings(deps: AppDeps, ctx: RequestContext) {
  const o = await paymentOptionsOf(deps.db, ctx.accountId);
  return { settings: serialize(o), version: o.version };
}

export async function updatePaymentSettings(deps: AppDeps, ctx: RequestContext, input: PaymentSettingsUpdate, expected: number | undefined) {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('billing_payment_settings'), hashtext(${ctx.accountId}))`);
    const before = await paymentOptionsOf(tx, ctx.accountId);
    if (expected !== undefined && expected !== before.version) throw preconditionFailed(`The payment settings are at version ${before.version}.`);
    const after = { autoPay: input.auto_pay ?? before.autoPay, paymentDay: input.payment_day === undefined ? before.paymentDay : input.payment_day };
    const [row] = await tx.insert(billingPaymentSettings)
      .values({ accountId: ctx.accountId, ...after, version: before.version + 1, updatedAt: now })
      .onConflictDoUpdate({ target: billingPaymentSettings.accountId, set: { ...after, version: before.version + 1, updatedAt: now } })
      .returning();
    await audit(deps, ctx, {
      type: 'payment_settings_changed',
      description: `Automatic card payment ${after.autoPay ? 'on' : 'off'}, payment day ${after.paymentDay ?? 'none'}`,
      details: { before: { auto_pay: before.autoPay, payment_day: before.paymentDay }, after: { auto_pay: after.autoPay, payment_day: after.paymentDay } },
    }, tx);
    return { settings: serialize(row!), version: row!.version };
  });
}

const METHOD_LABEL = { bank_transfer: 'Bank transfer', paypal: 'PayPal' } as const;

/**
 * POST /v1/billing/invoices/{id}/payments: a payment that reached the seller outside the card.
 * With a real payment company its notification records this; with the sandbox an account
 * administrator records it (there is no money to check), which is why only the sandbox allows it.
 */
export async function recordExternalPayment(deps: AppDeps, ctx: RequestContext, invoiceId: string, input: ExternalPaymentCreate) {
  assertAdministrator(ctx, 'record a payment received by bank transfer or PayPal');
  if (billingOf(deps.config).provider !== 'sandbox') {
    throw conflict('sandbox_only', 'Payments by bank transfer or PayPal are recorded by the payment provider; recording them by hand is for the sandbox provider only.');
  }
  const now = deps.clock.now();
  const method = `${METHOD_LABEL[input.method]} (ref. ${input.reference})`;
  const result = await deps.db.transaction(async (tx) => {
    const [inv] = await tx.select().from(invoices).where(and(eq(invoices.accountId, ctx.accountId), eq(invoices.id, invoiceId))).for('update');
    if (!inv) throw notFound('Invoice', invoiceId);
    if (inv.status === 'paid') throw conflict('invoice_paid', `Invoice ${formatInvoiceNumber(inv.number)} is already paid.`);
    if (inv.status === 'void') throw conflict('invoice_void', `Invoice ${formatInvoiceNumber(inv.number)} is void.`);
    if (input.amount !== inv.total) {
      throw new ApiError(422, 'amount_mismatch', 'Unprocessable Content', `Invoice ${formatInvoiceNumber(inv.number)} is for ${formatMoney(inv.total, inv.currency)}, not ${formatMoney(input.amount, inv.currency)}.`,
        { errors: [{ pointer: '/body/amount', detail: `must be ${inv.total}` }] });
    }
    const [payment] = await tx.insert(payments).values({
      id: newId('pay'), accountId: ctx.accountId, invoiceId: inv.id, paymentMethodId: null, methodDescription: method,
      amount: inv.total, currency: inv.currency, status: 'succeeded', failureCode: null, failureMessage: null,
      providerReference: input.reference, trigger: 'manual', createdAt: now,
    }).returning();
    const [updated] = (await tx.update(invoices)
      .set({ status: 'paid', paidAt: now, nextAttemptAt: null, updatedAt: now, version: inv.version + 1 })
      .where(eq(invoices.id, inv.id)).returning()) as [InvoiceRow];
    await resolveMessages(tx, ctx.accountId, now, { invoiceId: inv.id });
    await settleAccountState(tx, ctx.accountId, now);
    await audit(deps, ctx, {
      type: 'payment_recorded', description: `${method}: ${formatMoney(inv.total, inv.currency)} received for invoice ${formatInvoiceNumber(inv.number)}`,
      details: { invoice_id: inv.id, payment_id: payment!.id, method: input.method, amount: inv.total, reference: input.reference },
    }, tx);
    return { inv: updated, payment: payment! };
  });
  const invoice = serializeInvoice(result.inv, (await linesOf(deps.db, [result.inv.id])).get(result.inv.id) ?? []);
  const payment = serializePayment(result.payment, result.inv.number);
  await mailInvoice(deps, result.inv, `Receipt for invoice ${invoice.number}`,
    `Thank you: ${formatMoney(result.inv.total, result.inv.currency)} was received by ${method} (receipt ${payment.receipt_number}).`);
  await emitBillingEvent(deps, { type: 'invoice.paid', accountId: ctx.accountId, data: { invoice, payment }, occurredAt: now });
  return { invoice, payment };
}
