import t from 'tap';
import { runBillingCycle } from '../../workers/jobs/billing/cycle.ts';
import { CARD, DAY, DECLINE, DETAILS, setup } from '../helpers/billing.ts';

t.test('invoice events reach the webhook endpoints subscribed to them', async (t) => {
  const { api, admin } = await setup(t, { config: { webhooks: { allowPrivateTargets: true, retrySchedule: [60] } } });
  const key = admin.key;
  const hook = await api.request('POST', '/v1/webhooks', {
    key, body: { url: 'http://127.0.0.1:9/coffer-hook', events: ['invoice.created', 'invoice.paid', 'invoice.payment_failed'] },
  });
  t.equal(hook.status, 201, hook.text);
  await api.request('PUT', '/v1/billing/details', { key, body: DETAILS });
  await api.request('POST', '/v1/billing/payment-methods', { key, body: DECLINE });
  await api.request('POST', '/v1/billing/subscription', { key, body: { plan: 'monthly' } });
  api.clock.advance(14 * DAY + 1000);
  await runBillingCycle(api.deps);
  api.clock.advance(31 * DAY);
  t.match(await runBillingCycle(api.deps), { invoiced: 1, failed: 1 });
  const card = await api.request('POST', '/v1/billing/payment-methods', { key, body: CARD });
  await api.request('POST', `/v1/billing/payment-methods/${card.body.id}/activate`, { key });
  const invoice = (await api.request('GET', '/v1/billing/invoices', { key })).body.data[0];
  t.equal((await api.request('POST', `/v1/billing/invoices/${invoice.id}/pay`, { key })).status, 200);
  const deliveries = await api.request('GET', `/v1/webhooks/${hook.body.id}/deliveries`, { key });
  t.same(deliveries.body.data.map((d: { event_type: string }) => d.event_type).reverse(), ['invoice.created', 'invoice.payment_failed', 'invoice.paid']);
  const [body] = await api.database.sql<{ body: string }[]>`select body::text as body from webhook_deliveries where event_type = 'invoice.paid'`;
  const event = JSON.parse(body!.body.startsWith('"') ? JSON.parse(body!.body) : body!.body);
  t.match(event, { type: 'invoice.paid', data: { invoice: { id: invoice.id, status: 'paid', total: 300 }, payment: { status: 'succeeded', amount: 300 } } });
});

t.test('through the SDK: details, cards, subscription, status, invoices, payment; declines and bad tax ids are CofferErrors', async (t) => {
  const { Coffer, CofferError } = await import('../../sdk/client.ts');
  const { api, admin } = await setup(t);
  const coffer = new Coffer({ baseUrl: api.url, apiKey: admin.key, retry: { maxRetries: 0 } });
  const badTax = await coffer.put('/v1/billing/details', { body: { ...DETAILS, country: 'IL', company_tax_id: null } }).catch((e: unknown) => e);
  t.ok(badTax instanceof CofferError);
  t.match(badTax, { status: 400, code: 'validation_failed', problem: { errors: [{ pointer: '/body/company_tax_id' }] } });
  const details = await coffer.put('/v1/billing/details', { body: DETAILS });
  t.equal(details.company_name, 'Pizza Perfecto Ltd');
  const declining = await coffer.post('/v1/billing/payment-methods', { body: DECLINE });
  t.equal(declining.last4, '0002');
  const sub = await coffer.post('/v1/billing/subscription', { body: { plan: 'monthly' } });
  t.equal(sub.state, 'scheduled');
  api.clock.advance(14 * DAY + 1000);
  await runBillingCycle(api.deps);
  api.clock.advance(31 * DAY);
  await runBillingCycle(api.deps);
  const status = await coffer.get('/v1/billing/status');
  t.match(status, { account_state: 'past_due', payment_status: 'failed', amount_due: 300 });
  const invoices = [];
  for await (const invoice of coffer.paginate('/v1/billing/invoices', { limit: 1 })) invoices.push(invoice);
  t.equal(invoices.length, 1);
  const declined = await coffer.post('/v1/billing/invoices/{id}/pay', { params: { path: { id: invoices[0]!.id } } }).catch((e: unknown) => e);
  t.match(declined, { status: 402, code: 'card_declined' });
  const good = await coffer.post('/v1/billing/payment-methods', { body: CARD });
  await coffer.post('/v1/billing/payment-methods/{id}/activate', { params: { path: { id: good.id } } });
  const paid = await coffer.post('/v1/billing/invoices/{id}/pay', { params: { path: { id: invoices[0]!.id } } });
  t.match(paid, { invoice: { status: 'paid' }, payment: { status: 'succeeded', method: 'visa •••• 4242 (12/2030)' } });
  t.equal((await coffer.get('/v1/billing/status')).account_state, 'active');
});

t.test('the billing and metering jobs run through pg-boss', async (t) => {
  const { startTestApp } = await import('../helpers/app.ts');
  const { QUEUES } = await import('../../workers/queue.ts');
  const api = await startTestApp(t, { workers: true, start: new Date('2026-03-02T09:00:00Z') });
  const admin = await api.signUp();
  api.clock.advance(14 * DAY + 1000);
  await api.deps.boss!.send(QUEUES.metering, {});
  await api.deps.boss!.send(QUEUES.billing, {});
  const deadline = Date.now() + 30_000;
  let state = '';
  let usage: unknown[] = [];
  while (Date.now() < deadline) {
    state = (await api.request('GET', '/v1/account', { key: admin.key })).body.state;
    usage = (await api.request('GET', '/v1/billing/usage', { key: admin.key })).body.data;
    if (state === 'suspended' && usage.length) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  t.equal(state, 'suspended', 'the billing job suspended the expired trial');
  t.match(usage, [{ day: '2026-03-16', active_entities: 0, stored_bytes: 0 }], 'the metering job recorded the day');
});
