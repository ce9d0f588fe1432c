import t from 'tap';
import { eq } from 'drizzle-orm';
import { entities } from '../../db/schema.ts';
import { invoices } from '../../db/schema/billing.ts';
import { runBillingCycle } from '../../workers/jobs/billing/cycle.ts';
import { meterUsage } from '../../workers/jobs/billing/metering.ts';
import { invoicePdf } from '../../api/resources/billing/invoice-document.ts';
import { addEntities, CARD, DAY, DETAILS, NO_FUNDS, pdfText, seedEntities, setup, START } from '../helpers/billing.ts';
import { pdfLayout } from '../helpers/pdf-layout.ts';

t.test('monthly: subscribe during the trial, start at its end, meter usage, invoice the month, charge the card, receipt, PDF', async (t) => {
  const { api, admin, smtp } = await setup(t, { smtp: true });
  const key = admin.key;
  const { taskId } = await seedEntities(api, admin.accountId, 3);

  const noDetails = await api.request('POST', '/v1/billing/subscription', { key, body: { plan: 'monthly' } });
  t.equal(noDetails.status, 409);
  t.equal(noDetails.body.code, 'billing_details_required');
  await api.request('PUT', '/v1/billing/details', { key, body: DETAILS });
  const noCard = await api.request('POST', '/v1/billing/subscription', { key, body: { plan: 'monthly' } });
  t.equal(noCard.status, 409);
  t.equal(noCard.body.code, 'payment_method_required');
  await api.request('POST', '/v1/billing/payment-methods', { key, body: CARD });

  const trialStatus = await api.request('GET', '/v1/billing/status', { key });
  t.match(trialStatus.body, {
    account_state: 'trial', payment_status: 'trial', subscription: null, amount_due: 0, unpaid_invoices: [], next_renewal_date: null,
    forecast: {
      plan: 'monthly', period_start: new Date(START.getTime() + 14 * DAY).toISOString(), total: 900,
      lines: [{ service: 'Dropbox backup: protected entities', total_quantity: 3, billable_quantity: 3, unit_price: 300, total: 900 }],
    },
  });

  const sub = await api.request('POST', '/v1/billing/subscription', { key, body: { plan: 'monthly' } });
  t.equal(sub.status, 201);
  const trialEnd = new Date(START.getTime() + 14 * DAY);
  t.match(sub.body, { plan: 'monthly', state: 'scheduled', starts_at: trialEnd.toISOString(), current_period_start: null, cancel_at_period_end: false });
  const twice = await api.request('POST', '/v1/billing/subscription', { key, body: { plan: 'annual' } });
  t.equal(twice.status, 409);
  t.equal(twice.body.code, 'already_subscribed');
  t.match(await runBillingCycle(api.deps), { started: 0, invoiced: 0, suspended: 0 }, 'nothing happens during the trial');

  api.clock.set(new Date(trialEnd.getTime() + 3600_000));
  t.match(await runBillingCycle(api.deps), { started: 1, suspended: 0 });
  const started = await api.request('GET', '/v1/billing/subscription', { key });
  const periodEnd = new Date('2026-04-16T09:00:00Z');
  t.match(started.body, { state: 'active', current_period_start: trialEnd.toISOString(), current_period_end: periodEnd.toISOString() });
  t.equal((await api.request('GET', '/v1/account', { key })).body.state, 'active');

  // Metering: three entities for a few days, then five (the peak), then four.
  await meterUsage(api.deps);
  api.clock.advance(DAY);
  await meterUsage(api.deps);
  await addEntities(api, admin.accountId, taskId, 2);
  api.clock.advance(DAY);
  await meterUsage(api.deps);
  await meterUsage(api.deps);
  await api.deps.db.update(entities).set({ status: 'paused' }).where(eq(entities.name, 'Folder 0'));
  await api.deps.db.update(entities).set({ status: 'not_active' }).where(eq(entities.name, 'Folder 1'));
  api.clock.advance(DAY);
  await meterUsage(api.deps);
  const usage = await api.request('GET', '/v1/billing/usage?from=2026-03-01', { key });
  t.same(usage.body.data.map((u: { day: string; active_entities: number; stored_bytes: number }) => [u.day, u.active_entities, u.stored_bytes]), [
    ['2026-03-16', 3, 3 * 2_500_000_000 + 2_500_000_000],
    ['2026-03-17', 3, 10_000_000_000],
    ['2026-03-18', 5, 12_000_000_000],
    ['2026-03-19', 4, 12_000_000_000],
  ], 'archived entities are not billed but their data is stored; not_active are neither');

  const mid = await api.request('GET', '/v1/billing/status', { key });
  t.match(mid.body, { payment_status: 'paid', next_renewal_date: periodEnd.toISOString(), forecast: { plan: 'monthly', total: 1500, lines: [{ total_quantity: 5, billable_quantity: 5 }] } });

  api.clock.set(new Date(periodEnd.getTime() + 60_000));
  const cycle = await runBillingCycle(api.deps);
  t.match(cycle, { invoiced: 1, charged: 1, failed: 0, overdue: 0 });
  t.match(await runBillingCycle(api.deps), { invoiced: 0, charged: 0 }, 'the cycle is idempotent');

  const list = await api.request('GET', '/v1/billing/invoices', { key });
  t.equal(list.body.data.length, 1);
  const invoice = list.body.data[0];
  t.match(invoice, {
    number: /^INV-\d{6}$/, status: 'paid', plan: 'monthly', currency: 'USD', period_start: trialEnd.toISOString(), period_end: periodEnd.toISOString(),
    due_at: new Date(periodEnd.getTime() + 7 * DAY).toISOString(), subtotal: 1500, tax_rate_percent: 0, tax: 0, total: 1500, amount_due: 0,
    automatic_charge: true, charge_attempts: 1, next_attempt_at: null, purchase_order_number: null,
    buyer: { company_name: 'Pizza Perfecto Ltd', name: 'Ms Bob Smith', email: 'bob.smith@pizza.example', address: ['18 Mozarella Lane', 'Floor 2', 'N1 7GU London', 'GB'], tax_id: 'GB307123080' },
  });
  t.same(invoice.lines, [{
    service: 'Dropbox backup: protected entities', description: 'Protected members and team folders, 1 month', unit: 'entities',
    total_quantity: 5, billable_quantity: 5, unit_price: 300, total: 1500,
  }]);
  t.same((await api.request('GET', `/v1/billing/invoices/${invoice.id}`, { key })).body, invoice);

  const paymentsList = await api.request('GET', '/v1/billing/payments', { key });
  t.equal(paymentsList.body.data.length, 1);
  t.match(paymentsList.body.data[0], {
    receipt_number: /^RCT-\d{6}$/, invoice_id: invoice.id, invoice_number: invoice.number, amount: 1500, currency: 'USD', status: 'succeeded',
    method: 'visa •••• 4242 (12/2030)', trigger: 'automatic', failure_code: null, provider_reference: /^ch_sbx_/,
  });
  t.same((await api.request('GET', `/v1/billing/payments/${paymentsList.body.data[0].id}`, { key })).body, paymentsList.body.data[0]);

  const receipt = smtp!.last('bob.smith@pizza.example');
  t.equal(receipt.subject, `Receipt for invoice ${invoice.number}`);
  t.match(receipt.raw, new RegExp(`filename=${invoice.number}\\.pdf`));
  t.match(receipt.raw, /Content-Type: application\/pdf/i);

  const pdf = await api.request('GET', `/v1/billing/invoices/${invoice.id}/pdf`, { key });
  t.equal(pdf.status, 200);
  t.equal(pdf.headers.get('content-type'), 'application/pdf');
  const bytes = Buffer.from(await (await fetch(`${api.url}/v1/billing/invoices/${invoice.id}/pdf`, { headers: { authorization: `Bearer ${key}` } })).arrayBuffer());
  t.equal(bytes.subarray(0, 5).toString(), '%PDF-');
  t.match(bytes.subarray(-8).toString(), /%%EOF/);
  const text = pdfText(bytes);
  for (const expected of [invoice.number, 'INVOICE / RECEIPT', 'PAID', 'Pizza Perfecto Ltd', 'GB307123080', 'Dropbox backup: protected entities', '5 entities', '$3.00', '$15.00', 'Total paid', 'Tax 0 %', paymentsList.body.data[0].receipt_number, 'Coffer']) {
    t.ok(text.includes(expected), `the PDF shows ${expected}`);
  }
  await t.test('one A4 page; header at the top, rows aligned, nothing overflowing into the lower page', async (t) => {
    const { pages, mediaBox, runs } = pdfLayout(bytes);
    t.equal(pages, 1, 'one page');
    t.same(mediaBox, [0, 0, 595.28, 841.89], 'A4');
    const height = mediaBox[3]!;
    const find = (text: string, y?: number) => {
      const run = runs.find((r) => r.text === text && (y === undefined || Math.abs(r.y - y) < 0.5));
      t.ok(run, `"${text}" is drawn${y === undefined ? '' : ` on the line at y=${y.toFixed(1)}`}`);
      return run ?? { text, x: NaN, y: NaN, size: 0 };
    };
    const inOrder = (label: string, row: { x: number }[]) => t.ok(row.every((r, i) => i === 0 || r.x > row[i - 1]!.x), `${label}: left to right`);
    t.ok(find('INVOICE / RECEIPT').y > height * 0.75, 'the title is in the top quarter');
    t.ok(find('Coffer').y > height * 0.75, 'the seller is in the top quarter');
    const number = find('Invoice number');
    inOrder('invoice number', [number, find(invoice.number, number.y)]);
    const service = find('Dropbox backup: protected entities');
    const quantities = runs.filter((r) => r.text === '5 entities' && Math.abs(r.y - service.y) < 0.5);
    t.equal(quantities.length, 2, 'total and billable quantity on the service line');
    inOrder('the service line', [service, ...quantities, find('$3.00', service.y), find('$15.00', service.y)]);
    const total = find('Total paid');
    inOrder('the total', [total, find('$15.00', total.y)]);
    t.ok(total.y < service.y, 'the total is below the lines');
    const low = runs.filter((r) => r.y < height * 0.25 && r.y > height * 0.1);
    t.same(low.map((r) => r.text), [], 'the lower page is blank (nothing overflowed)');
    t.ok(runs.every((r) => r.x >= 0 && r.x < mediaBox[2]! && r.y > 0 && r.y < height), 'every run is on the page');
  });

  const [row] = await api.deps.db.select().from(invoices).where(eq(invoices.id, invoice.id));
  const plain = await invoicePdf(api.deps, row!, { compress: false });
  t.ok(plain.toString('latin1').includes('/Type /Page'), 'an uncompressed rendering is a PDF too');
  t.ok(pdfText(plain).includes('$15.00'));

  // Email it again: attachment (the details' default delivery).
  const emailed = await api.request('POST', `/v1/billing/invoices/${invoice.id}/email`, { key });
  t.same(emailed.body, { sent_to: 'bob.smith@pizza.example', delivery: 'attachment', link_expires_at: null });
  t.equal(smtp!.to('bob.smith@pizza.example').length, 2);

  const paid = await api.request('POST', `/v1/billing/invoices/${invoice.id}/pay`, { key });
  t.equal(paid.status, 409);
  t.equal(paid.body.code, 'invoice_paid');
});

t.test('annual: invoiced in advance with the PO number, link delivery, overdue after the terms, paid through the provider', async (t) => {
  const { api, admin, smtp } = await setup(t, { smtp: true });
  const key = admin.key;
  await seedEntities(api, admin.accountId, 6);
  await api.request('PUT', '/v1/billing/details', { key, body: { ...DETAILS, invoice_delivery: 'link' } });
  const sub = await api.request('POST', '/v1/billing/subscription', { key, body: { plan: 'annual', purchase_order_number: 'PO-4350123' } });
  t.equal(sub.status, 201, 'annual needs no card');
  const trialEnd = new Date(START.getTime() + 14 * DAY);
  t.match(sub.body, { plan: 'annual', state: 'scheduled', purchase_order_number: 'PO-4350123', starts_at: trialEnd.toISOString() });

  const invoices = await api.request('GET', '/v1/billing/invoices?status=due', { key });
  t.equal(invoices.body.data.length, 1);
  const invoice = invoices.body.data[0];
  t.match(invoice, {
    status: 'due', plan: 'annual', purchase_order_number: 'PO-4350123', period_start: trialEnd.toISOString(),
    period_end: '2027-03-16T09:00:00.000Z', issued_at: START.toISOString(), due_at: new Date(START.getTime() + 30 * DAY).toISOString(),
    total: 6 * 3240, automatic_charge: false, next_attempt_at: null,
  });
  t.match(invoice.lines, [{ total_quantity: 6, billable_quantity: 6, unit_price: 3240, total: 19440, description: /12 months, 10 % annual discount/ }]);

  const mail = smtp!.last('bob.smith@pizza.example');
  t.equal(mail.subject, `Invoice ${invoice.number} from Coffer`);
  t.match(mail.text, /Purchase order: PO-4350123/);
  const link = mail.links.find((l) => l.includes('/v1/billing/invoice-document?token='));
  t.ok(link, 'the invoice is linked, not attached');
  t.notMatch(mail.raw, /application\/pdf/);
  const path = new URL(link!).pathname + new URL(link!).search;
  const viaLink = await fetch(api.url + path);
  t.equal(viaLink.status, 200, 'the link needs no credentials');
  const linked = Buffer.from(await viaLink.arrayBuffer());
  const text = pdfText(linked);
  for (const expected of [invoice.number, 'PAYMENT DUE', 'PO-4350123', '6 entities', '$32.40', '$194.40', 'Amount due']) t.ok(text.includes(expected), `the PDF shows ${expected}`);
  const resent = await api.request('POST', `/v1/billing/invoices/${invoice.id}/email`, { key });
  t.match(resent.body, { sent_to: 'bob.smith@pizza.example', delivery: 'link', link_expires_at: new Date(START.getTime() + 30 * DAY).toISOString() });
  t.equal((await fetch(api.url + path)).status, 200, 'the first link still works after another mail');
  t.equal((await fetch(api.url + '/v1/billing/invoice-document?token=cfi_' + 'x'.repeat(60))).status, 404, 'a forged token');
  const at = path.length - 20;
  const tampered = path.slice(0, at) + (path[at] === 'A' ? 'B' : 'A') + path.slice(at + 1);
  t.equal((await fetch(api.url + tampered)).status, 404, 'a tampered token');

  let status = await api.request('GET', '/v1/billing/status', { key });
  t.match(status.body, { payment_status: 'due', amount_due: 19440, next_renewal_date: trialEnd.toISOString() });
  const messages = await api.request('GET', '/v1/billing/messages', { key });
  t.match(messages.body.data, [{ kind: 'payment_due', invoice_id: invoice.id, message: new RegExp(`${invoice.number} for \\$194\\.40 is due on 2026-04-01`) }]);

  api.clock.advance(14 * DAY + 1000);
  await runBillingCycle(api.deps);
  t.equal((await api.request('GET', '/v1/account', { key })).body.state, 'active');
  api.clock.set(new Date(START.getTime() + 30 * DAY + 1000));
  t.match(await runBillingCycle(api.deps), { overdue: 1, charged: 0 }, 'annual invoices are not charged automatically');
  status = await api.request('GET', '/v1/billing/status', { key });
  t.match(status.body, { account_state: 'past_due', payment_status: 'overdue', unpaid_invoices: [{ status: 'overdue' }] });
  t.equal(smtp!.last('bob.smith@pizza.example').subject, `Overdue: invoice ${invoice.number}`);
  const expired = await fetch(api.url + path);
  t.equal(expired.status, 410, 'links expire after 30 days');
  t.equal(((await expired.json()) as { code: string }).code, 'link_expired');
  const overdueLink = smtp!.last('bob.smith@pizza.example').links.find((l) => l.includes('/v1/billing/invoice-document?token='))!;
  t.equal((await fetch(overdueLink.replace('https://coffer.example.test', api.url))).status, 200, 'the overdue mail brings a fresh link');

  const noCard = await api.request('POST', `/v1/billing/invoices/${invoice.id}/pay`, { key });
  t.equal(noCard.status, 409);
  t.equal(noCard.body.code, 'payment_method_required');
  await api.request('POST', '/v1/billing/payment-methods', { key, body: NO_FUNDS });
  const poor = await api.request('POST', `/v1/billing/invoices/${invoice.id}/pay`, { key });
  t.equal(poor.status, 402);
  t.equal(poor.body.code, 'insufficient_funds');
  const good = await api.request('POST', '/v1/billing/payment-methods', { key, body: CARD });
  await api.request('POST', `/v1/billing/payment-methods/${good.body.id}/activate`, { key });
  const paid = await api.request('POST', `/v1/billing/invoices/${invoice.id}/pay`, { key });
  t.equal(paid.status, 200);
  t.match(paid.body, { invoice: { status: 'paid', amount_due: 0 }, payment: { status: 'succeeded', amount: 19440, trigger: 'manual', receipt_number: /^RCT-/ } });
  status = await api.request('GET', '/v1/billing/status', { key });
  t.match(status.body, { account_state: 'active', payment_status: 'paid', amount_due: 0 });

  // Renewal: invoiced 30 days before the year ends.
  api.clock.set(new Date('2027-02-10T00:00:00Z'));
  t.match(await runBillingCycle(api.deps), { invoiced: 0 });
  api.clock.set(new Date('2027-02-15T10:00:00Z'));
  t.match(await runBillingCycle(api.deps), { invoiced: 1 });
  const renewal = (await api.request('GET', '/v1/billing/invoices?status=due', { key })).body.data[0];
  t.match(renewal, { period_start: '2027-03-16T09:00:00.000Z', due_at: '2027-03-16T09:00:00.000Z', purchase_order_number: 'PO-4350123', total: 19440 });
});

t.test('cancel: a scheduled subscription ends at once; an active one serves to the end of the period, then backups are suspended', async (t) => {
  const { api, admin } = await setup(t);
  const key = admin.key;
  await api.request('PUT', '/v1/billing/details', { key, body: DETAILS });
  await api.request('POST', '/v1/billing/payment-methods', { key, body: CARD });
  t.equal((await api.request('DELETE', '/v1/billing/subscription', { key })).status, 404);
  await api.request('POST', '/v1/billing/subscription', { key, body: { plan: 'monthly' } });
  const canceled = await api.request('DELETE', '/v1/billing/subscription', { key });
  t.match(canceled.body, { state: 'canceled', ended_at: START.toISOString() });
  const annual = await api.request('POST', '/v1/billing/subscription', { key, body: { plan: 'annual', purchase_order_number: 'PO-1' } });
  t.equal(annual.status, 201, 'a canceled subscription can be replaced');
  t.match((await api.request('GET', '/v1/billing/status', { key })).body, { payment_status: 'due', amount_due: 3240 });
  await api.request('DELETE', '/v1/billing/subscription', { key });
  t.match((await api.request('GET', '/v1/billing/invoices', { key })).body.data, [{ plan: 'annual', status: 'void', amount_due: 0 }],
    'the advance invoice of a subscription that never started is void');
  t.match((await api.request('GET', '/v1/billing/status', { key })).body, { payment_status: 'trial', amount_due: 0, unpaid_invoices: [] });
  t.same((await api.request('GET', '/v1/billing/messages', { key })).body.data, []);
  const again = await api.request('POST', '/v1/billing/subscription', { key, body: { plan: 'monthly' } });
  t.equal(again.status, 201);
  api.clock.advance(14 * DAY);
  await runBillingCycle(api.deps);
  const active = await api.request('GET', '/v1/billing/subscription', { key });
  t.equal(active.body.state, 'active');
  const stale = await api.request('DELETE', '/v1/billing/subscription', { key, headers: { 'if-match': '"v1"' } });
  t.equal(stale.status, 412);
  const ending = await api.request('DELETE', '/v1/billing/subscription', { key, headers: { 'if-match': active.headers.get('etag')! } });
  t.match(ending.body, { state: 'active', cancel_at_period_end: true, canceled_at: api.clock.now().toISOString() });
  t.equal((await api.request('GET', '/v1/billing/status', { key })).body.next_renewal_date, null);
  api.clock.set(new Date(ending.body.current_period_end));
  t.match(await runBillingCycle(api.deps), { invoiced: 1, charged: 1, suspended: 1 }, 'the last month is invoiced, then the service stops');
  t.match((await api.request('GET', '/v1/billing/subscription', { key })).body, { state: 'canceled', ended_at: ending.body.current_period_end });
  t.equal((await api.request('GET', '/v1/account', { key })).body.state, 'suspended');
});


t.test("subscribing does not call off a removal a user asked for (only the one billing scheduled)", async (t) => {
  const { api, admin } = await setup(t);
  const key = admin.key;
  await api.request('PUT', '/v1/billing/details', { key, body: DETAILS });
  const removal = await api.request('POST', '/v1/account/removal', { key, body: { approve_data_removal: true } });
  t.equal(removal.body.state, 'pending_deletion', removal.text);
  const refused = await api.request('POST', '/v1/billing/subscription', { key, body: { plan: 'annual' } });
  t.equal(refused.status, 409);
  t.equal(refused.body.code, 'account_pending_deletion');
  t.equal((await api.request('GET', '/v1/account', { key })).body.state, 'pending_deletion');
  t.equal((await api.request('GET', '/v1/billing/invoices', { key })).body.data.length, 0);
});
