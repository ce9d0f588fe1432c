// Invoice PDFs (pdfkit): seller and buyer, invoice number, dates, purchase order, lines, totals,
// payment status and payments, on one A4 page (more when the lines do not fit: a partner's invoice
// has a line per customer; the column headings are repeated on each page). Built from a plain
// document object, so scripts/render-invoice.ts can render a sample without a database.
import PDFDocument from 'pdfkit';
import { formatMoney } from './plans.ts';

export interface InvoiceDocument {
  number: string;
  status: 'due' | 'paid' | 'overdue' | 'void';
  issuedAt: Date;
  dueAt: Date;
  periodStart: Date;
  periodEnd: Date;
  plan: 'monthly' | 'annual';
  currency: string;
  purchaseOrderNumber: string | null;
  seller: { name: string; address: string; taxId: string; email: string };
  buyer: { company_name: string; name: string; email: string; address: string[]; tax_id: string | null };
  accountId: string;
  lines: { service: string; description: string; unit: string; quantity: number; billableQuantity: number; unitPrice: number; total: number }[];
  subtotal: number;
  taxRateBp: number;
  tax: number;
  total: number;
  payments: { receiptNumber: string; date: Date; method: string; reference: string | null; amount: number }[];
}

/** Lines and totals stay above this; the footer is below. */
const CONTENT_BOTTOM = 740;

const date = (d: Date) => d.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

export function renderInvoicePdf(doc: InvoiceDocument, opts: { compress?: boolean } = {}): Promise<Buffer> {
  const pdf = new PDFDocument({
    size: 'A4', margin: 50, compress: opts.compress ?? true, bufferPages: true,
    info: { Title: `Invoice ${doc.number}`, Author: doc.seller.name, Subject: `Invoice ${doc.number} for ${doc.buyer.company_name}`, CreationDate: doc.issuedAt },
  });
  const chunks: Buffer[] = [];
  pdf.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    pdf.on('end', () => resolve(Buffer.concat(chunks)));
    pdf.on('error', reject);
  });
  const money = (n: number) => formatMoney(n, doc.currency);
  const left = 50;
  const right = 545;
  const width = right - left;

  // Seller (top left) and the document title (top right).
  pdf.font('Helvetica-Bold').fontSize(18).text(doc.seller.name, left, 50);
  pdf.font('Helvetica').fontSize(9).fillColor('#333333');
  pdf.text(doc.seller.address, left, 74, { width: 250 });
  if (doc.seller.taxId) pdf.text(`Tax ID: ${doc.seller.taxId}`, { width: 250 });
  pdf.text(doc.seller.email, { width: 250 });

  pdf.fillColor('#000000').font('Helvetica-Bold').fontSize(20).text(doc.status === 'paid' ? 'INVOICE / RECEIPT' : 'INVOICE', 300, 50, { width: 245, align: 'right' });
  pdf.font('Helvetica').fontSize(10);
  const meta: [string, string][] = [
    ['Invoice number', doc.number],
    ['Issue date', date(doc.issuedAt)],
    ['Due date', date(doc.dueAt)],
    ['Effective date', date(doc.periodStart)],
  ];
  if (doc.purchaseOrderNumber) meta.push(['Purchase order', doc.purchaseOrderNumber]);
  let y = 80;
  for (const [k, v] of meta) {
    pdf.font('Helvetica').text(k, 330, y, { width: 100 });
    pdf.font('Helvetica-Bold').text(v, 430, y, { width: 115, align: 'right' });
    y += 15;
  }

  // Buyer.
  y = Math.max(y, 140) + 15;
  pdf.font('Helvetica-Bold').fontSize(10).text('Bill to', left, y);
  pdf.font('Helvetica').fontSize(10);
  const buyerLines = [doc.buyer.company_name, doc.buyer.name, ...doc.buyer.address, doc.buyer.email];
  if (doc.buyer.tax_id) buyerLines.push(`Tax ID: ${doc.buyer.tax_id}`);
  buyerLines.push(`Coffer account: ${doc.accountId}`);
  pdf.text(buyerLines.join('\n'), left, y + 14, { width: 260 });
  const buyerEnd = pdf.y;

  // Status badge.
  const statusText = doc.status === 'paid' ? 'PAID' : doc.status === 'overdue' ? 'OVERDUE' : doc.status === 'void' ? 'VOID' : 'PAYMENT DUE';
  const statusColor = doc.status === 'paid' ? '#1a7f37' : doc.status === 'overdue' ? '#cf222e' : '#9a6700';
  pdf.roundedRect(395, y, 150, 28, 4).lineWidth(1.5).strokeColor(statusColor).stroke();
  pdf.fillColor(statusColor).font('Helvetica-Bold').fontSize(13).text(statusText, 395, y + 8, { width: 150, align: 'center' });
  pdf.fillColor('#000000');

  y = Math.max(buyerEnd, y + 40) + 20;
  pdf.font('Helvetica').fontSize(10).text(
    `${doc.plan === 'annual' ? 'Annual' : 'Monthly'} subscription, service period ${date(doc.periodStart)} – ${date(new Date(doc.periodEnd.getTime() - 1))}, ${doc.currency}`,
    left, y, { width },
  );
  y = pdf.y + 12;

  // Lines.
  const cols = [
    { title: 'Service', x: left, w: 185, align: 'left' as const },
    { title: 'Total quantity', x: 240, w: 70, align: 'right' as const },
    { title: 'Billable quantity', x: 315, w: 75, align: 'right' as const },
    { title: 'Unit price', x: 395, w: 70, align: 'right' as const },
    { title: 'Total', x: 470, w: 75, align: 'right' as const },
  ];
  const headings = () => {
    pdf.rect(left, y, width, 20).fill('#f0f0f0');
    pdf.fillColor('#000000').font('Helvetica-Bold').fontSize(9);
    for (const c of cols) pdf.text(c.title, c.x + 2, y + 6, { width: c.w - 4, align: c.align });
    y += 24;
    pdf.font('Helvetica').fontSize(9);
  };
  /** A new page when `needed` points would run into the footer. */
  const room = (needed: number, then?: () => void) => {
    if (y + needed <= CONTENT_BOTTOM) return;
    pdf.addPage();
    y = 50;
    then?.();
  };
  headings();
  for (const line of doc.lines) {
    room(40, headings);
    const qty = `${line.quantity} ${line.unit}`;
    const billable = `${line.billableQuantity} ${line.unit}`;
    pdf.font('Helvetica-Bold').text(line.service, cols[0]!.x + 2, y, { width: cols[0]!.w - 4 });
    pdf.font('Helvetica').fillColor('#555555').text(line.description, cols[0]!.x + 2, pdf.y + 1, { width: cols[0]!.w - 4 });
    const rowEnd = pdf.y;
    pdf.fillColor('#000000');
    pdf.text(qty, cols[1]!.x + 2, y, { width: cols[1]!.w - 4, align: 'right' });
    pdf.text(billable, cols[2]!.x + 2, y, { width: cols[2]!.w - 4, align: 'right' });
    pdf.text(money(line.unitPrice), cols[3]!.x + 2, y, { width: cols[3]!.w - 4, align: 'right' });
    pdf.text(money(line.total), cols[4]!.x + 2, y, { width: cols[4]!.w - 4, align: 'right' });
    y = Math.max(rowEnd, pdf.y) + 8;
    pdf.moveTo(left, y - 4).lineTo(right, y - 4).lineWidth(0.5).strokeColor('#cccccc').stroke();
  }

  // Totals (kept together with the payment details).
  y += 6;
  room(150);
  const total = (label: string, value: string, bold = false) => {
    pdf.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(bold ? 11 : 10);
    pdf.text(label, 330, y, { width: 130 });
    pdf.text(value, 460, y, { width: 85, align: 'right' });
    y += bold ? 18 : 15;
  };
  total('Subtotal', money(doc.subtotal));
  total(`Tax ${(doc.taxRateBp / 100).toString()} %`, money(doc.tax));
  pdf.moveTo(330, y - 2).lineTo(right, y - 2).lineWidth(1).strokeColor('#000000').stroke();
  y += 3;
  total(doc.status === 'paid' ? 'Total paid' : 'Total payable', money(doc.total), true);
  const paid = doc.payments.reduce((s, p) => s + p.amount, 0);
  if (doc.status !== 'paid') total('Amount due', money(Math.max(0, doc.total - paid)), true);

  // Payments.
  y += 15;
  pdf.font('Helvetica-Bold').fontSize(11).text('Payment details', left, y);
  y = pdf.y + 6;
  pdf.font('Helvetica').fontSize(9);
  if (doc.payments.length === 0) {
    pdf.text(`No payment received yet. Please pay ${money(doc.total)} by ${date(doc.dueAt)}, quoting invoice ${doc.number}${doc.purchaseOrderNumber ? ` and purchase order ${doc.purchaseOrderNumber}` : ''}.`, left, y, { width });
  } else {
    for (const p of doc.payments) {
      pdf.text(`${p.receiptNumber}  ·  ${date(p.date)}  ·  ${p.method}${p.reference ? `  ·  transaction ${p.reference}` : ''}  ·  ${money(p.amount)}`, left, y, { width });
      y = pdf.y + 3;
    }
  }

  const { start, count } = pdf.bufferedPageRange();
  for (let i = start; i < start + count; i++) {
    pdf.switchToPage(i);
    pdf.font('Helvetica').fontSize(8).fillColor('#666666').text(
      `${doc.seller.name} · ${doc.seller.email} · Invoice ${doc.number} · page ${i - start + 1} of ${count}. Amounts in ${doc.currency}.`,
      left, 780, { width, align: 'center' },
    );
  }
  pdf.end();
  return done;
}
