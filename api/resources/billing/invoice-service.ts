// The account's invoices and payments: listing, PDFs (also behind an emailed link), mailing and paying.
import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { invoices, payments } from '../../../db/schema/billing.ts';
import { conflict, gone, notFound } from '../../errors.ts';
import { toPage, type PageRequest } from '../../pagination.ts';
import { audit } from '../audit/service.ts';
import { billingOf } from './plans.ts';
import { dayOf } from './quantities.ts';
import { linesOf, loadInvoice, serializeInvoice, serializePayment } from './records.ts';
import { invoicePdf, openInvoiceLink } from './invoice-document.ts';
import { mailInvoice } from './mail.ts';
import { chargeInvoice, InvoiceAlreadyPaid, paymentDeclined } from './invoice-charging.ts';

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
