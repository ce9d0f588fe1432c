// Partner billing: customers with billing 'partner' are never invoiced themselves (not even with a
// subscription of their own) and their trial does not run out; the partner's monthly invoice has a
// line per such customer, priced from that customer's metered peak; direct and revoked customers
// stay on their own. A partner invoice too long for one page flows onto more pages.
import t from 'tap';
import { eq } from 'drizzle-orm';
import { invoices } from '../../db/schema/billing.ts';
import { runBillingCycle } from '../../workers/jobs/billing/cycle.ts';
import { meterUsage } from '../../workers/jobs/billing/metering.ts';
import { invoicePdf } from '../../api/resources/billing/invoice-document.ts';
import { renderInvoicePdf } from '../../api/resources/billing/pdf.ts';
import { addEntities, CARD, DAY, DETAILS, pdfText, seedEntities, setup, START } from '../helpers/billing.ts';
import { pdfLayout } from '../helpers/pdf-layout.ts';
import { linkCustomer, makePartner, revokeCustomer } from '../helpers/partners.ts';

t.test('one partner invoice a month with a line per partner-billed customer; those customers get none and are not suspended', async (t) => {
  const { api, admin } = await setup(t);
  const partner = admin;
  await makePartner(api, partner.accountId);
  const customer = async (name: string, entities: number) => {
    const c = await api.signUp({ name });
    await seedEntities(api, c.accountId, entities);
    return c;
  };
  const alpha = await customer('Alpha Dental', 4);
  const beta = await customer('Beta Law', 2);
  const direct = await customer('Direct Co', 5);
  const revoked = await customer('Gone Ltd', 7);
  await linkCustomer(api, partner.accountId, alpha.accountId, 'partner');
  await linkCustomer(api, partner.accountId, beta.accountId, 'partner');
  await linkCustomer(api, partner.accountId, direct.accountId, 'direct');
  await linkCustomer(api, partner.accountId, revoked.accountId, 'partner');
  await revokeCustomer(api, revoked.accountId);

  for (const who of [partner, beta]) {
    await api.request('PUT', '/v1/billing/details', { key: who.key, body: DETAILS });
    await api.request('POST', '/v1/billing/payment-methods', { key: who.key, body: CARD });
    t.equal((await api.request('POST', '/v1/billing/subscription', { key: who.key, body: { plan: 'monthly' } })).status, 201);
  }
  const status = await api.request('GET', '/v1/billing/status', { key: partner.key });
  t.same(status.body.forecast.lines.map((l: any) => [l.service, l.billable_quantity, l.total]), [
    ['Dropbox backup: protected entities for Alpha Dental', 4, 1200],
    ['Dropbox backup: protected entities for Beta Law', 2, 600],
  ], 'the forecast already shows a line per customer the partner pays for, and none for the empty partner account');

  const trialEnd = new Date(START.getTime() + 14 * DAY);
  api.clock.set(new Date(trialEnd.getTime() + 3600_000));
  const started = await runBillingCycle(api.deps);
  t.match(started, { started: 2, suspended: 2 }, 'the two subscriptions start; the direct and the revoked customer, without one, are suspended');
  const state = async (key: string) => (await api.request('GET', '/v1/account', { key })).body.state;
  t.equal(await state(alpha.key), 'trial', 'a partner-billed customer needs no subscription: not suspended');
  t.equal(await state(direct.key), 'suspended');
  t.equal(await state(revoked.key), 'suspended', 'a customer that revoked its partner pays for itself again');

  // Metering: Alpha peaks at 6 entities mid-month.
  await meterUsage(api.deps);
  api.clock.advance(DAY);
  const alphaTask = (await api.deps.sql<{ id: string }[]>`select id from tasks where account_id = ${alpha.accountId}`)[0]!.id;
  await addEntities(api, alpha.accountId, alphaTask, 2);
  await meterUsage(api.deps);

  api.clock.set(new Date('2026-04-16T09:01:00Z'));
  const cycle = await runBillingCycle(api.deps);
  t.match(cycle, { invoiced: 1, charged: 1, failed: 0 }, 'one invoice: the partner\'s; Beta\'s own subscription invoices nothing');

  const list = await api.request('GET', '/v1/billing/invoices', { key: partner.key });
  t.equal(list.body.data.length, 1);
  const invoice = list.body.data[0];
  t.match(invoice, { status: 'paid', subtotal: 6 * 300 + 2 * 300, total: 2400, period_start: trialEnd.toISOString() });
  t.same(invoice.lines, [
    {
      service: 'Dropbox backup: protected entities for Alpha Dental', unit: 'entities', total_quantity: 6, billable_quantity: 6, unit_price: 300, total: 1800,
      description: `Customer Alpha Dental (${alpha.accountId}). Protected members and team folders, 1 month`,
    },
    {
      service: 'Dropbox backup: protected entities for Beta Law', unit: 'entities', total_quantity: 2, billable_quantity: 2, unit_price: 300, total: 600,
      description: `Customer Beta Law (${beta.accountId}). Protected members and team folders, 1 month`,
    },
  ], 'a line per customer from its metered peak; the direct and the revoked customer are not on it');
  for (const c of [alpha, beta]) {
    t.same((await api.request('GET', '/v1/billing/invoices', { key: c.key })).body.data, [], 'the customer is not invoiced itself');
  }
  t.equal((await api.deps.sql`select 1 from invoices where account_id <> ${partner.accountId}`).length, 0, 'no other invoice at all');

  const [row] = await api.deps.db.select().from(invoices).where(eq(invoices.id, invoice.id));
  const text = pdfText(await invoicePdf(api.deps, row!));
  for (const expected of ['Alpha Dental', 'Beta Law', '6 entities', '$18.00', '$24.00', 'page 1 of 1']) {
    t.ok(text.includes(expected), `the PDF shows ${expected}`);
  }
});

t.test('a partner invoice with many customers flows onto more pages, every line and the total on a page', async (t) => {
  const lines = Array.from({ length: 60 }, (_, i) => ({
    service: `Dropbox backup: protected entities for Customer ${i + 1}`, description: `Customer ${i + 1} (acct_${i}). Protected members and team folders, 1 month`,
    unit: 'entities', quantity: 3, billableQuantity: 3, unitPrice: 300, total: 900,
  }));
  const pdf = await renderInvoicePdf({
    number: 'INV-000042', status: 'due', issuedAt: START, dueAt: START, periodStart: START, periodEnd: new Date(START.getTime() + 30 * DAY), plan: 'monthly',
    currency: 'USD', purchaseOrderNumber: null, seller: { name: 'Coffer', address: '1 Example Street', taxId: '', email: 'billing@coffer.localhost' },
    buyer: { company_name: 'MSP Ltd', name: 'Ann MSP', email: 'ann@msp.example', address: [], tax_id: null }, accountId: 'acct_msp',
    lines, subtotal: 54_000, taxRateBp: 0, tax: 0, total: 54_000, payments: [],
  }, { compress: false });
  const { pages, mediaBox, runs } = pdfLayout(pdf);
  t.ok(pages >= 3, `${pages} pages`);
  const height = mediaBox[3]!;
  t.ok(runs.every((r) => r.y > 0 && r.y < height), 'every run is on a page');
  const text = pdfText(pdf);
  t.equal(runs.filter((r) => r.text === '$9.00').length, 60, 'every line\'s total is drawn');
  t.equal(runs.filter((r) => r.text === '3 entities').length, 120, 'every line\'s quantities are drawn');
  t.ok(text.includes('$540.00'), 'the total');
  t.ok(text.includes(`page 1 of ${pages}`) && text.includes(`page ${pages} of ${pages}`), 'each page numbered');
  t.ok(runs.filter((r) => r.text === 'Unit price').length >= 2, 'headings on more than one page');
});
