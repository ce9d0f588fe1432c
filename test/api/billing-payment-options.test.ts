import t from 'tap';
import { runBillingCycle } from '../../workers/jobs/billing/cycle.ts';
import { CARD, DAY, DETAILS, seedEntities, setup } from '../helpers/billing.ts';
import { inviteAndConfirm, sessionFor } from '../helpers/security.ts';

t.test('automatic payment off: the monthly invoice waits for a bank transfer, which an administrator records; the forecast says so', async (t) => {
  const { api, admin, smtp } = await setup(t, { smtp: true });
  const key = admin.key;
  await seedEntities(api, admin.accountId, 2);
  await api.request('PUT', '/v1/billing/details', { key, body: DETAILS });
  await api.request('POST', '/v1/billing/payment-methods', { key, body: CARD });
  const sub = await api.request('POST', '/v1/billing/subscription', { key, body: { plan: 'monthly' } });
  api.clock.advance(14 * DAY);
  await runBillingCycle(api.deps);

  const before = await api.request('GET', '/v1/billing/payment-settings', { key });
  t.same(before.body, { auto_pay: true, payment_day: null, updated_at: null });
  const off = await api.request('PATCH', '/v1/billing/payment-settings', { key, body: { auto_pay: false }, headers: { 'if-match': before.headers.get('etag')! } });
  t.equal(off.status, 200);
  t.match(off.body, { auto_pay: false, payment_day: null });
  const stale = await api.request('PATCH', '/v1/billing/payment-settings', { key, body: { auto_pay: true }, headers: { 'if-match': before.headers.get('etag')! } });
  t.equal(stale.status, 412);

  const periodEnd = new Date((await api.request('GET', '/v1/billing/subscription', { key })).body.current_period_end);
  const dueAt = new Date(periodEnd.getTime() + 7 * DAY).toISOString();
  const status = await api.request('GET', '/v1/billing/status', { key });
  t.match(status.body.forecast, { plan: 'monthly', total: 600, automatic_payment: false, payment_date: dueAt });

  api.clock.set(new Date(periodEnd.getTime() + 60_000));
  t.match(await runBillingCycle(api.deps), { invoiced: 1, charged: 0, failed: 0 }, 'the card on file is not charged');
  const invoice = (await api.request('GET', '/v1/billing/invoices', { key })).body.data[0];
  t.match(invoice, { status: 'due', automatic_charge: false, next_attempt_at: null, due_at: dueAt, total: 600 });
  t.match(smtp!.last('bob.smith@pizza.example').text, /payable by/);
  t.match((await api.request('GET', '/v1/billing/messages', { key })).body.data, [{ kind: 'payment_due', invoice_id: invoice.id }]);

  // A custom user who manages billing may not record money as received.
  const clerk = await inviteAndConfirm(api, smtp!, key, { permissions: ['billing:manage'] });
  const clerkKey = await sessionFor(api, clerk.email);
  const refused = await api.request('POST', `/v1/billing/invoices/${invoice.id}/payments`, { key: clerkKey, body: { method: 'bank_transfer', amount: 600, reference: 'X' } });
  t.equal(refused.status, 403);
  t.equal(refused.body.code, 'administrator_required');
  const wrongAmount = await api.request('POST', `/v1/billing/invoices/${invoice.id}/payments`, { key, body: { method: 'bank_transfer', amount: 500, reference: 'BANK-1' } });
  t.equal(wrongAmount.status, 422);
  t.equal(wrongAmount.body.code, 'amount_mismatch');

  const paid = await api.request('POST', `/v1/billing/invoices/${invoice.id}/payments`, { key, body: { method: 'bank_transfer', amount: 600, reference: 'BANK-1' } });
  t.equal(paid.status, 201, paid.text);
  t.match(paid.body, { invoice: { id: invoice.id, status: 'paid', amount_due: 0 }, payment: { status: 'succeeded', amount: 600, method: 'Bank transfer (ref. BANK-1)', provider_reference: 'BANK-1', trigger: 'manual', receipt_number: /\S/ } });
  t.match(smtp!.last('bob.smith@pizza.example'), { subject: `Receipt for invoice ${invoice.number}`, text: /received by Bank transfer \(ref\. BANK-1\)/ });
  t.same((await api.request('GET', '/v1/billing/messages', { key })).body.data, [], 'the payment_due message is resolved');
  t.match((await api.request('GET', '/v1/billing/status', { key })).body, { payment_status: 'paid', amount_due: 0 });
  const again = await api.request('POST', `/v1/billing/invoices/${invoice.id}/payments`, { key, body: { method: 'paypal', amount: 600, reference: 'PP-2' } });
  t.equal(again.status, 409);
  t.equal(again.body.code, 'invoice_paid');

  const audit = (await api.request('GET', '/v1/audit?limit=100', { key })).body.data;
  t.match(audit.find((e: { type: string }) => e.type === 'payment_recorded'), { details: { invoice_id: invoice.id, method: 'bank_transfer', amount: 600 } });
  t.match(audit.find((e: { type: string }) => e.type === 'payment_settings_changed'), { details: { before: { auto_pay: true }, after: { auto_pay: false } } });
  t.equal(sub.status, 201);
});

t.test('the payment day: the card is charged on that day, not when the invoice is issued; the forecast names the day', async (t) => {
  const { api, admin } = await setup(t);
  const key = admin.key;
  await api.request('PUT', '/v1/billing/details', { key, body: DETAILS });
  await api.request('POST', '/v1/billing/payment-methods', { key, body: CARD });
  await api.request('POST', '/v1/billing/subscription', { key, body: { plan: 'monthly' } });
  api.clock.advance(14 * DAY);
  await runBillingCycle(api.deps);
  t.equal((await api.request('PATCH', '/v1/billing/payment-settings', { key, body: { payment_day: 29 } })).status, 400, 'days 1–28 only');
  t.match((await api.request('PATCH', '/v1/billing/payment-settings', { key, body: { payment_day: 20 } })).body, { auto_pay: true, payment_day: 20 });

  const periodEnd = new Date((await api.request('GET', '/v1/billing/subscription', { key })).body.current_period_end);
  t.equal(periodEnd.toISOString(), '2026-04-16T09:00:00.000Z');
  t.match((await api.request('GET', '/v1/billing/status', { key })).body.forecast, { automatic_payment: true, payment_date: '2026-04-20T00:00:00.000Z' });

  api.clock.set(new Date(periodEnd.getTime() + 60_000));
  t.match(await runBillingCycle(api.deps), { invoiced: 1, charged: 0 }, 'issued, not charged yet');
  t.match((await api.request('GET', '/v1/billing/invoices', { key })).body.data[0], { status: 'due', automatic_charge: true, next_attempt_at: '2026-04-20T00:00:00.000Z', due_at: '2026-04-23T09:00:00.000Z' });
  api.clock.set(new Date('2026-04-19T23:59:00Z'));
  t.match(await runBillingCycle(api.deps), { charged: 0 });
  api.clock.set(new Date('2026-04-20T00:00:00Z'));
  t.match(await runBillingCycle(api.deps), { charged: 1 }, 'charged on the payment day');
  t.equal((await api.request('GET', '/v1/billing/invoices', { key })).body.data[0].status, 'paid');
});
