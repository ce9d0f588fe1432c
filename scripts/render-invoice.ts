// Renders a sample invoice PDF (no database needed) to tmp/invoice-sample.pdf and, when poppler's
// `pdftoppm` is installed, page 1 as tmp/invoice-sample.png, to look at what customers receive.
//   node scripts/render-invoice.ts [--status due|paid|overdue] [--out tmp/invoice-sample]
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { billingConfig } from '../api/config.ts';
import { priceLines } from '../api/resources/billing/plans.ts';
import { renderInvoicePdf, type InvoiceDocument } from '../api/resources/billing/pdf.ts';

const { values } = parseArgs({ options: { status: { type: 'string', default: 'paid' }, out: { type: 'string', default: 'tmp/invoice-sample' } } });
const status = values.status as InvoiceDocument['status'];
const out = resolve(values.out!);

const billing = billingConfig({ ...process.env, COFFER_BILLING_STORAGE_GB_MONTHLY_PRICE: process.env.COFFER_BILLING_STORAGE_GB_MONTHLY_PRICE ?? '5' });
const lines = priceLines(billing, 'monthly', { entities: 70, storedBytes: 696_560_000_000 });
const subtotal = lines.reduce((s, l) => s + l.total, 0);
const doc: InvoiceDocument = {
  number: 'INV-000042',
  status,
  issuedAt: new Date('2026-04-16T09:00:00Z'),
  dueAt: new Date('2026-04-23T09:00:00Z'),
  periodStart: new Date('2026-03-16T09:00:00Z'),
  periodEnd: new Date('2026-04-16T09:00:00Z'),
  plan: 'monthly',
  currency: billing.currency,
  purchaseOrderNumber: 'PO-4350123',
  seller: { ...billing.seller, taxId: billing.seller.taxId || 'US 12-3456789' },
  buyer: {
    company_name: 'Pizza Perfecto Ltd', name: 'Ms Bob Smith', email: 'bob.smith@pizza.example',
    address: ['18 Mozarella Lane', 'Floor 2', 'N1 7GU London', 'GB'], tax_id: 'GB307123080',
  },
  accountId: 'acct_01kqsample0000000000000000',
  lines: lines.map((l) => ({ ...l })),
  subtotal,
  taxRateBp: 0,
  tax: 0,
  total: subtotal,
  payments: status === 'paid'
    ? [{ receiptNumber: 'RCT-000017', date: new Date('2026-04-16T09:00:05Z'), method: 'visa •••• 4242 (12/2030)', reference: 'ch_sbx_5f1c0a9e2b7d4c3a1e0f', amount: subtotal }]
    : [],
};

mkdirSync(dirname(out), { recursive: true });
const pdf = await renderInvoicePdf(doc);
writeFileSync(`${out}.pdf`, pdf);
console.log(`wrote ${out}.pdf (${pdf.length} bytes)`);
try {
  execFileSync('pdftoppm', ['-png', '-r', '80', '-f', '1', '-l', '1', '-singlefile', `${out}.pdf`, out], { stdio: 'inherit' });
  console.log(`wrote ${out}.png`);
} catch (err) {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') console.log('pdftoppm is not installed (apt-get install poppler-utils): no PNG');
  else throw err;
}
