// Invoice, payment and subscription rows as stored, read by account id and serialized for the API.
import { and, desc, eq, inArray } from 'drizzle-orm';
import type { Tx } from '../../../db/client.ts';
import { billingSubscriptions, invoiceLines, invoices, payments } from '../../../db/schema/billing.ts';
import { notFound } from '../../errors.ts';
import { formatInvoiceNumber, formatReceiptNumber } from './plans.ts';
import type { Invoice, Payment } from './schemas.ts';

export type InvoiceRow = typeof invoices.$inferSelect;
export type LineRow = typeof invoiceLines.$inferSelect;
export type PaymentRow = typeof payments.$inferSelect;

export function serializeInvoice(row: InvoiceRow, lines: LineRow[]): Invoice {
  return {
    id: row.id,
    number: formatInvoiceNumber(row.number),
    status: row.status,
    plan: row.plan,
    currency: row.currency,
    period_start: row.periodStart.toISOString(),
    period_end: row.periodEnd.toISOString(),
    issued_at: row.issuedAt.toISOString(),
    due_at: row.dueAt.toISOString(),
    paid_at: row.paidAt?.toISOString() ?? null,
    purchase_order_number: row.purchaseOrderNumber,
    buyer: row.buyer,
    lines: lines.sort((a, b) => a.position - b.position).map((l) => ({
      service: l.service, description: l.description, unit: l.unit, total_quantity: l.quantity,
      billable_quantity: l.billableQuantity, unit_price: l.unitPrice, total: l.total,
    })),
    subtotal: row.subtotal,
    tax_rate_percent: row.taxRateBp / 100,
    tax: row.tax,
    total: row.total,
    amount_due: row.status === 'paid' || row.status === 'void' ? 0 : row.total,
    automatic_charge: row.autoCharge,
    charge_attempts: row.chargeAttempts,
    next_attempt_at: row.nextAttemptAt?.toISOString() ?? null,
    pdf_url: `/v1/billing/invoices/${row.id}/pdf`,
  };
}

export function serializePayment(row: PaymentRow, invoiceNumber: number): Payment {
  return {
    id: row.id,
    receipt_number: row.status === 'succeeded' ? formatReceiptNumber(row.receiptNumber) : null,
    invoice_id: row.invoiceId,
    invoice_number: formatInvoiceNumber(invoiceNumber),
    amount: row.amount,
    currency: row.currency,
    status: row.status,
    failure_code: row.failureCode,
    failure_message: row.failureMessage,
    method: row.methodDescription,
    provider_reference: row.providerReference,
    trigger: row.trigger,
    created_at: row.createdAt.toISOString(),
  };
}

export async function linesOf(db: Tx, invoiceIds: string[]): Promise<Map<string, LineRow[]>> {
  const map = new Map<string, LineRow[]>();
  if (!invoiceIds.length) return map;
  const rows = await db.select().from(invoiceLines).where(inArray(invoiceLines.invoiceId, invoiceIds));
  for (const r of rows) map.set(r.invoiceId, [...(map.get(r.invoiceId) ?? []), r]);
  return map;
}

export async function loadInvoice(db: Tx, accountId: string, id: string): Promise<{ row: InvoiceRow; invoice: Invoice }> {
  const [row] = await db.select().from(invoices).where(and(eq(invoices.accountId, accountId), eq(invoices.id, id)));
  if (!row) throw notFound('Invoice', id);
  const lines = await linesOf(db, [row.id]);
  return { row, invoice: serializeInvoice(row, lines.get(row.id) ?? []) };
}

export async function openInvoices(db: Tx, accountId: string): Promise<InvoiceRow[]> {
  return db.select().from(invoices)
    .where(and(eq(invoices.accountId, accountId), inArray(invoices.status, ['due', 'overdue'])))
    .orderBy(desc(invoices.id));
}

export async function subscriptionOf(db: Tx, accountId: string) {
  const [row] = await db.select().from(billingSubscriptions).where(eq(billingSubscriptions.accountId, accountId));
  return row;
}
