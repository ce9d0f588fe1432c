// Billing mail: invoices and receipts (PDF attached or linked) and notices, to the billing email.
import type { AppDeps } from '../../deps.ts';
import { addDays, billingOf, formatInvoiceNumber, formatMoney } from './plans.ts';
import { dayOf } from './quantities.ts';
import { billingEmail } from './buyer.ts';
import { invoicePdf, LINK_DAYS, newInvoiceLink } from './invoice-document.ts';
import type { InvoiceRow } from './records.ts';

/**
 * Mails an invoice (or, once paid, the invoice / receipt) to the billing email, with the PDF
 * attached or linked as the billing details choose. `intro` is the first paragraph.
 */
export async function mailInvoice(deps: AppDeps, row: InvoiceRow, subject: string, intro: string) {
  const { to, delivery } = await billingEmail(deps.db, row.accountId);
  const now = deps.clock.now();
  const number = formatInvoiceNumber(row.number);
  const money = (n: number) => formatMoney(n, row.currency);
  const body = [
    intro,
    '',
    `Invoice:        ${number}`,
    `Issued:         ${dayOf(row.issuedAt)}`,
    `Due:            ${dayOf(row.dueAt)}`,
    `Service period: ${dayOf(row.periodStart)} to ${dayOf(addDays(row.periodEnd, -1))}`,
    ...(row.purchaseOrderNumber ? [`Purchase order: ${row.purchaseOrderNumber}`] : []),
    `Total:          ${money(row.total)}`,
    `Status:         ${row.status}`,
    '',
  ];
  let linkExpiresAt: Date | null = null;
  const attachments = [];
  if (delivery === 'link') {
    const link = newInvoiceLink(deps, row.id, now);
    linkExpiresAt = link.expiresAt;
    body.push(`Download the PDF (the link works for ${LINK_DAYS} days):`, link.url, '');
  } else {
    attachments.push({ filename: `${number}.pdf`, content: await invoicePdf(deps, row), contentType: 'application/pdf' });
    body.push(`The invoice is attached as ${number}.pdf.`, '');
  }
  body.push(`Billing status: ${deps.config.publicUrl}/v1/billing/status`, '', `— ${billingOf(deps.config).seller.name}`);
  await deps.mailer.send({ to, subject, text: body.join('\n'), attachments });
  return { sent_to: to, delivery, link_expires_at: linkExpiresAt?.toISOString() ?? null };
}

export async function mailNotice(deps: AppDeps, accountId: string, subject: string, lines: string[]) {
  const { to } = await billingEmail(deps.db, accountId);
  await deps.mailer.send({
    to, subject,
    text: [...lines, '', `Billing status: ${deps.config.publicUrl}/v1/billing/status`, '', `— ${billingOf(deps.config).seller.name}`].join('\n'),
  });
}
