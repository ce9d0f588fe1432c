// An invoice as a PDF, and the sealed links that download it without credentials.
import { and, asc, eq } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import { payments } from '../../../db/schema/billing.ts';
import { addDays, billingOf, formatInvoiceNumber, formatReceiptNumber } from './plans.ts';
import { renderInvoicePdf, type InvoiceDocument } from './pdf.ts';
import { linesOf, type InvoiceRow } from './records.ts';

export async function invoiceDocument(deps: Pick<AppDeps, 'db' | 'config'>, row: InvoiceRow): Promise<InvoiceDocument> {
  const lines = (await linesOf(deps.db, [row.id])).get(row.id) ?? [];
  const paid = await deps.db.select().from(payments)
    .where(and(eq(payments.invoiceId, row.id), eq(payments.status, 'succeeded'))).orderBy(asc(payments.id));
  return {
    number: formatInvoiceNumber(row.number),
    status: row.status,
    issuedAt: row.issuedAt,
    dueAt: row.dueAt,
    periodStart: row.periodStart,
    periodEnd: row.periodEnd,
    plan: row.plan,
    currency: row.currency,
    purchaseOrderNumber: row.purchaseOrderNumber,
    seller: billingOf(deps.config).seller,
    buyer: row.buyer,
    accountId: row.accountId,
    lines: lines.sort((a, b) => a.position - b.position),
    subtotal: row.subtotal,
    taxRateBp: row.taxRateBp,
    tax: row.tax,
    total: row.total,
    payments: paid.map((p) => ({
      receiptNumber: formatReceiptNumber(p.receiptNumber), date: p.createdAt, method: p.methodDescription, reference: p.providerReference, amount: p.amount,
    })),
  };
}

export async function invoicePdf(deps: Pick<AppDeps, 'db' | 'config'>, row: InvoiceRow, opts: { compress?: boolean } = {}): Promise<Buffer> {
  return renderInvoicePdf(await invoiceDocument(deps, row), opts);
}

export const LINK_DAYS = 30;
const LINK_CONTEXT = 'invoice-link';

/**
 * A download link for the PDF that works for 30 days without credentials: the token is the
 * invoice id and the expiry, sealed (AES-GCM) under the master key, so nothing is stored, every
 * emailed link keeps working until it expires, and a token cannot be forged or pointed elsewhere.
 */
export function newInvoiceLink(deps: Pick<AppDeps, 'keyring' | 'config'>, invoiceId: string, now: Date): { url: string; expiresAt: Date } {
  const expiresAt = addDays(now, LINK_DAYS);
  const sealed = deps.keyring.sealSecret(JSON.stringify({ i: invoiceId, e: expiresAt.getTime() }), LINK_CONTEXT);
  return { url: `${deps.config.publicUrl}/v1/billing/invoice-document?token=cfi_${sealed.slice(3)}`, expiresAt };
}

/** The invoice a link token names, or why not. */
export function openInvoiceLink(deps: Pick<AppDeps, 'keyring'>, token: string, now: Date): { invoiceId: string } | 'invalid' | 'expired' {
  try {
    const { i, e } = JSON.parse(deps.keyring.openSecret(`s1.${token.slice(4)}`, LINK_CONTEXT)) as { i: string; e: number };
    if (typeof i !== 'string' || typeof e !== 'number') return 'invalid';
    return e <= now.getTime() ? 'expired' : { invoiceId: i };
  } catch {
    return 'invalid';
  }
}
