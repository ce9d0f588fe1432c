// Charging an invoice to the account's default card through the payment provider: the payment
// record, the retry schedule after a decline, and the mail and events of the outcome.
import { and, eq, sql } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import { newId } from '../../../db/ids.ts';
import { invoices, paymentMethods, payments } from '../../../db/schema/billing.ts';
import { conflict, notFound, ApiError } from '../../errors.ts';
import { addDays, billingOf, formatInvoiceNumber, formatMoney } from './plans.ts';
import { paymentProvider, type DeclineCode } from './provider.ts';
import { emitBillingEvent } from './events.ts';
import { dayOf } from './quantities.ts';
import { addMessage, resolveMessages } from './messages.ts';
import { settleAccountState } from './dunning.ts';
import { mailInvoice, mailNotice } from './mail.ts';
import { linesOf, serializeInvoice, serializePayment, type InvoiceRow } from './records.ts';
import type { Invoice, Payment } from './schemas.ts';

function describeCard(pm: { brand: string; last4: string; expMonth: number; expYear: number }): string {
  return `${pm.brand} •••• ${pm.last4} (${String(pm.expMonth).padStart(2, '0')}/${pm.expYear})`;
}

/**
 * The invoice is paid already (another charge got there first). A domain error, not an HTTP one:
 * the billing cycle, which runs this in a worker, skips such an invoice; payInvoice answers it with
 * 409 invoice_paid.
 */
export class InvoiceAlreadyPaid extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvoiceAlreadyPaid';
  }
}

export interface ChargeOutcome {
  invoice: Invoice;
  payment: Payment;
  declined: { code: DeclineCode | 'no_payment_method'; message: string } | null;
}

/**
 * Charges an unpaid invoice to the account's default card. The invoice row is locked for the
 * attempt (no two charges of one invoice run at once) and the provider gets an idempotency key
 * per attempt, so a retried request never charges twice.
 */
export async function chargeInvoice(deps: AppDeps, accountId: string, invoiceId: string, trigger: 'manual' | 'automatic'): Promise<ChargeOutcome> {
  const now = deps.clock.now();
  const billing = billingOf(deps.config);
  const provider = paymentProvider(deps);
  const result = await deps.db.transaction(async (tx) => {
    const [inv] = await tx.select().from(invoices).where(and(eq(invoices.accountId, accountId), eq(invoices.id, invoiceId))).for('update');
    if (!inv) throw notFound('Invoice', invoiceId);
    if (inv.status === 'paid') throw new InvoiceAlreadyPaid(`Invoice ${formatInvoiceNumber(inv.number)} is already paid.`);
    if (inv.status === 'void') throw conflict('invoice_void', `Invoice ${formatInvoiceNumber(inv.number)} is void.`);
    const [pm] = await tx.select().from(paymentMethods).where(and(eq(paymentMethods.accountId, accountId), eq(paymentMethods.isDefault, true)));
    if (!pm && trigger === 'manual') {
      throw conflict('payment_method_required', 'Add a card (POST /v1/billing/payment-methods) before paying an invoice.');
    }
    const [{ n }] = (await tx.select({ n: sql<number>`count(*)::int` }).from(payments).where(eq(payments.invoiceId, inv.id))) as [{ n: number }];
    let outcome: { ok: true; reference: string } | { ok: false; code: DeclineCode | 'no_payment_method'; message: string; reference: string | null };
    if (!pm) {
      outcome = { ok: false, code: 'no_payment_method', message: 'No card is on file.', reference: null };
    } else {
      const charged = await provider.charge({
        token: pm.providerToken, amount: inv.total, currency: inv.currency, idempotencyKey: `${inv.id}:${n + 1}`,
        description: `Coffer invoice ${formatInvoiceNumber(inv.number)}`,
      }, now);
      outcome = charged.status === 'succeeded' ? { ok: true, reference: charged.reference } : { ok: false, code: charged.code, message: charged.message, reference: charged.reference };
    }
    const [payment] = await tx.insert(payments).values({
      id: newId('pay'), accountId, invoiceId: inv.id, paymentMethodId: pm?.id ?? null, methodDescription: pm ? describeCard(pm) : 'none',
      amount: inv.total, currency: inv.currency, status: outcome.ok ? 'succeeded' : 'failed',
      failureCode: outcome.ok ? null : outcome.code, failureMessage: outcome.ok ? null : outcome.message,
      providerReference: outcome.reference, trigger, createdAt: now,
    }).returning();
    let updated: InvoiceRow;
    if (outcome.ok) {
      [updated] = (await tx.update(invoices)
        .set({ status: 'paid', paidAt: now, nextAttemptAt: null, chargeAttempts: inv.chargeAttempts + 1, updatedAt: now, version: inv.version + 1 })
        .where(eq(invoices.id, inv.id)).returning()) as [InvoiceRow];
      await resolveMessages(tx, accountId, now, { invoiceId: inv.id });
    } else {
      const firstFailedAt = inv.firstFailedAt ?? now;
      const failures = (await tx.select({ n: sql<number>`count(*)::int` }).from(payments)
        .where(and(eq(payments.invoiceId, inv.id), eq(payments.status, 'failed'), eq(payments.trigger, 'automatic'))))[0]!.n;
      // Retries follow the schedule from the first failure: 1st failure → retryDays[0], 2nd → retryDays[1], … then none.
      let nextAttemptAt = inv.nextAttemptAt;
      if (inv.autoCharge && trigger === 'automatic') {
        const wait = billing.retryDays[failures - 1];
        nextAttemptAt = wait === undefined ? null : addDays(firstFailedAt, wait);
      }
      [updated] = (await tx.update(invoices)
        .set({ chargeAttempts: inv.chargeAttempts + 1, firstFailedAt, nextAttemptAt, updatedAt: now, version: inv.version + 1 })
        .where(eq(invoices.id, inv.id)).returning()) as [InvoiceRow];
      await addMessage(tx, accountId, 'payment_failed',
        `Payment failed: unable to charge your card for invoice ${formatInvoiceNumber(inv.number)} (${outcome.message}) Update your card details.`, now, inv.id);
    }
    await settleAccountState(tx, accountId, now);
    return { inv: updated, payment: payment!, outcome };
  });
  const lines = (await linesOf(deps.db, [result.inv.id])).get(result.inv.id) ?? [];
  const invoice = serializeInvoice(result.inv, lines);
  const payment = serializePayment(result.payment, result.inv.number);
  const number = formatInvoiceNumber(result.inv.number);
  if (result.outcome.ok) {
    await mailInvoice(deps, result.inv, `Receipt for invoice ${number}`,
      `Thank you: ${formatMoney(result.inv.total, result.inv.currency)} was charged to ${result.payment.methodDescription} (receipt ${payment.receipt_number}).`);
    await emitBillingEvent(deps, { type: 'invoice.paid', accountId, data: { invoice, payment }, occurredAt: now });
    return { invoice, payment, declined: null };
  }
  const retry = result.inv.nextAttemptAt ? ` We will try again on ${dayOf(result.inv.nextAttemptAt)}.` : '';
  await mailNotice(deps, accountId, `Payment failed for invoice ${number}`, [
    `We were unable to charge your card for invoice ${number} (${formatMoney(result.inv.total, result.inv.currency)}): ${result.outcome.message}${retry}`,
    'Please update your card details (POST /v1/billing/payment-methods, then activate it) or pay the invoice.',
  ]);
  await emitBillingEvent(deps, { type: 'invoice.payment_failed', accountId, data: { invoice, payment }, occurredAt: now });
  return { invoice, payment, declined: { code: result.outcome.code, message: result.outcome.message } };
}

/** The charge was declined: a 402 problem naming the reason and the recorded payment. */
export function paymentDeclined(outcome: ChargeOutcome): ApiError {
  return new ApiError(402, outcome.declined!.code, 'Payment Required', outcome.declined!.message, {
    extra: { payment_id: outcome.payment.id, invoice_id: outcome.invoice.id },
  });
}
