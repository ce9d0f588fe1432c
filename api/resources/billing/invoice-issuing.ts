// Issuing an invoice for a period: its lines, totals, buyer, the payment_due message and mail.
import type { AppDeps } from '../../deps.ts';
import { newId } from '../../../db/ids.ts';
import { invoiceLines, invoices, type BillingPlan } from '../../../db/schema/billing.ts';
import { billingOf, formatInvoiceNumber, formatMoney, type Quantities } from './plans.ts';
import { emitBillingEvent } from './events.ts';
import { billedByPartner, dayOf, invoiceLinesFor, type CustomerQuantities } from './quantities.ts';
import { accountAndDetails, buyerOf } from './buyer.ts';
import { addMessage } from './messages.ts';
import { loadInvoice, type InvoiceRow } from './records.ts';
import { mailInvoice } from './mail.ts';

export interface IssueRequest {
  accountId: string;
  plan: BillingPlan;
  periodStart: Date;
  periodEnd: Date;
  quantities: Quantities;
  /** A partner's customers billed to it: a line each. */
  customers?: CustomerQuantities[];
  purchaseOrderNumber: string | null;
  /** Monthly: Coffer charges the default card (at `firstAttemptAt`, then per the retry schedule). */
  autoCharge: boolean;
  /** When the first automatic charge runs (the payment day); default: at issue. */
  firstAttemptAt?: Date | null;
  dueAt: Date;
}

/** Issues an invoice once per (account, plan, period start); returns null when it already exists. */
export async function issueInvoice(deps: AppDeps, req: IssueRequest): Promise<InvoiceRow | null> {
  const now = deps.clock.now();
  const billing = billingOf(deps.config);
  // A customer its partner pays for is on the partner's invoice, never on one of its own.
  if (await billedByPartner(deps.db, req.accountId)) return null;
  const row = await deps.db.transaction(async (tx) => {
    const { account, details } = await accountAndDetails(tx, req.accountId);
    const lines = invoiceLinesFor(billing, req.plan, req.quantities, req.customers);
    const subtotal = lines.reduce((s, l) => s + l.total, 0);
    const taxRateBp = 0;
    const tax = Math.round((subtotal * taxRateBp) / 10_000);
    const [inv] = await tx
      .insert(invoices)
      .values({
        id: newId('inv'), accountId: req.accountId, plan: req.plan, currency: details?.currency ?? billing.currency,
        periodStart: req.periodStart, periodEnd: req.periodEnd, issuedAt: now, dueAt: req.dueAt,
        subtotal, taxRateBp, tax, total: subtotal + tax, status: subtotal + tax === 0 ? 'paid' : 'due', paidAt: subtotal + tax === 0 ? now : null,
        purchaseOrderNumber: req.purchaseOrderNumber, buyer: buyerOf(details, account),
        autoCharge: req.autoCharge, nextAttemptAt: req.autoCharge && subtotal + tax > 0 ? (req.firstAttemptAt && req.firstAttemptAt > now ? req.firstAttemptAt : now) : null,
        createdAt: now, updatedAt: now,
      })
      .onConflictDoNothing()
      .returning();
    if (!inv) return null;
    await tx.insert(invoiceLines).values(lines.map((l, i) => ({
      invoiceId: inv.id, position: i + 1, service: l.service, description: l.description, unit: l.unit,
      quantity: l.quantity, billableQuantity: l.billableQuantity, unitPrice: l.unitPrice, total: l.total,
    })));
    if (inv.status === 'due' && !req.autoCharge) {
      await addMessage(tx, req.accountId, 'payment_due',
        `Invoice ${formatInvoiceNumber(inv.number)} for ${formatMoney(inv.total, inv.currency)} is due on ${dayOf(inv.dueAt)}.`, now, inv.id);
    }
    return inv;
  });
  if (!row) return null;
  const { invoice } = await loadInvoice(deps.db, row.accountId, row.id);
  await emitBillingEvent(deps, { type: 'invoice.created', accountId: row.accountId, data: { invoice }, occurredAt: now });
  if (!row.autoCharge && row.status === 'due') {
    await mailInvoice(deps, row, `Invoice ${formatInvoiceNumber(row.number)} from ${billingOf(deps.config).seller.name}`,
      `Your ${row.plan} Coffer invoice is ready, payable by ${dayOf(row.dueAt)}.`);
  }
  return row;
}
