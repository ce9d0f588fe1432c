import t from 'tap';
import { eq } from 'drizzle-orm';
import { entities, tasks } from '../../db/schema.ts';
import { runBillingCycle } from '../../workers/jobs/billing/cycle.ts';
import { CARD, DAY, DECLINE, DETAILS, NO_FUNDS, scopedKey, seedEntities, setup } from '../helpers/billing.ts';

t.test('dunning: a declined charge makes the account past_due, notifies, retries on schedule; a new card pays and clears it', async (t) => {
  const { api, admin, smtp } = await setup(t, { smtp: true });
  const key = admin.key;
  const viewer = await scopedKey(api, key, ['billing:notifications']);
  await seedEntities(api, admin.accountId, 2);
  await api.request('PUT', '/v1/billing/details', { key, body: DETAILS });
  await api.request('POST', '/v1/billing/payment-methods', { key, body: DECLINE });

  // The trial runs out first: suspended (backups stop) until a subscription starts.
  api.clock.advance(14 * DAY + 60_000);
  t.match(await runBillingCycle(api.deps), { suspended: 1 });
  t.equal((await api.request('GET', '/v1/account', { key })).body.state, 'suspended');
  const trialMail = smtp!.last('bob.smith@pizza.example');
  t.equal(trialMail.subject, 'Your Coffer trial has ended');
  t.match((await api.request('GET', '/v1/billing/messages', { key: viewer })).body.data, [{ kind: 'trial_ended', invoice_id: null }]);

  const sub = await api.request('POST', '/v1/billing/subscription', { key, body: { plan: 'monthly' } });
  t.equal(sub.status, 201);
  t.equal(sub.body.state, 'active', 'after the trial a subscription starts at once');
  t.equal((await api.request('GET', '/v1/account', { key })).body.state, 'active');
  t.same((await api.request('GET', '/v1/billing/messages', { key: viewer })).body.data, [], 'the trial message is resolved');

  const firstEnd = new Date(sub.body.current_period_end);
  api.clock.set(new Date(firstEnd.getTime() + 60_000));
  t.match(await runBillingCycle(api.deps), { invoiced: 1, charged: 0, failed: 1 });
  const failedAt = api.clock.now();
  let status = await api.request('GET', '/v1/billing/status', { key });
  t.match(status.body, { account_state: 'past_due', payment_status: 'failed', amount_due: 600, unpaid_invoices: [{ status: 'due', charge_attempts: 1 }] });
  const invoiceId = status.body.unpaid_invoices[0].id;
  t.equal(status.body.unpaid_invoices[0].next_attempt_at, new Date(failedAt.getTime() + DAY).toISOString(), 'first retry one day later');
  const failMail = smtp!.last('bob.smith@pizza.example');
  t.match(failMail.subject, /^Payment failed for invoice INV-/);
  t.match(failMail.text, /The card was declined/);
  const messages = await api.request('GET', '/v1/billing/messages', { key: viewer });
  t.match(messages.body.data, [{ kind: 'payment_failed', invoice_id: invoiceId, message: /Payment failed: unable to charge your card/ }]);

  // A manual payment with the same card fails with the reason (and counts as an attempt, not a retry).
  const manual = await api.request('POST', `/v1/billing/invoices/${invoiceId}/pay`, { key });
  t.equal(manual.status, 402);
  t.match(manual.body, { code: 'card_declined', detail: 'The card was declined.', invoice_id: invoiceId, payment_id: /^pay_/ });

  api.clock.advance(DAY);
  t.match(await runBillingCycle(api.deps), { failed: 1 }, 'retry 1 (day 1) fails');
  status = await api.request('GET', '/v1/billing/status', { key });
  t.equal(status.body.unpaid_invoices[0].next_attempt_at, new Date(failedAt.getTime() + 3 * DAY).toISOString(), 'next retry on day 3');
  t.match(await runBillingCycle(api.deps), { failed: 0, charged: 0 }, 'no retry before it is due');

  // The customer replaces the card; the day-3 retry succeeds.
  const good = await api.request('POST', '/v1/billing/payment-methods', { key, body: CARD });
  await api.request('POST', `/v1/billing/payment-methods/${good.body.id}/activate`, { key });
  api.clock.set(new Date(failedAt.getTime() + 3 * DAY));
  t.match(await runBillingCycle(api.deps), { charged: 1, failed: 0 });
  status = await api.request('GET', '/v1/billing/status', { key });
  t.match(status.body, { account_state: 'active', payment_status: 'paid', amount_due: 0, unpaid_invoices: [] });
  const history = await api.request('GET', '/v1/billing/payments', { key });
  t.same(history.body.data.map((p: { status: string; trigger: string; failure_code: string | null }) => [p.status, p.trigger, p.failure_code]), [
    ['succeeded', 'automatic', null], ['failed', 'automatic', 'card_declined'], ['failed', 'manual', 'card_declined'], ['failed', 'automatic', 'card_declined'],
  ]);
  t.equal((await api.request('GET', '/v1/billing/payments?status=failed', { key })).body.data.length, 3);
  t.same((await api.request('GET', '/v1/billing/messages', { key: viewer })).body.data, [], 'paying resolves the messages');
  const resolved = await api.request('GET', '/v1/billing/messages?include_resolved=true', { key: viewer });
  t.same(resolved.body.data.map((m: { kind: string; resolved_at: string | null }) => [m.kind, m.resolved_at !== null]), [['payment_failed', true], ['trial_ended', true]]);
  t.equal(smtp!.last('bob.smith@pizza.example').subject, `Receipt for invoice ${status.body.unpaid_invoices.length === 0 ? history.body.data[0].invoice_number : ''}`);
});

t.test('dunning gives up after the last retry; the invoice goes overdue', async (t) => {
  const { api, admin } = await setup(t);
  const key = admin.key;
  await api.request('PUT', '/v1/billing/details', { key, body: DETAILS });
  await api.request('POST', '/v1/billing/payment-methods', { key, body: NO_FUNDS });
  await api.request('POST', '/v1/billing/subscription', { key, body: { plan: 'monthly' } });
  api.clock.advance(14 * DAY);
  await runBillingCycle(api.deps);
  api.clock.advance(31 * DAY);
  t.match(await runBillingCycle(api.deps), { invoiced: 1, failed: 1 });
  const attempts: string[] = [];
  for (let day = 0; day < 10; day++) {
    api.clock.advance(DAY);
    const r = await runBillingCycle(api.deps);
    if (r.failed) attempts.push(`day ${day + 1}`);
    if (r.overdue) attempts.push(`overdue day ${day + 1}`);
  }
  t.same(attempts, ['day 1', 'day 3', 'day 7', 'overdue day 8'], 'retries on days 1, 3 and 7; overdue once the 7-day terms have passed');
  const invoice = (await api.request('GET', '/v1/billing/invoices', { key })).body.data[0];
  t.match(invoice, { status: 'overdue', charge_attempts: 4, next_attempt_at: null, amount_due: 300 }, 'minimum one entity billed');
  const paid = await api.request('GET', '/v1/billing/payments', { key });
  t.ok(paid.body.data.every((p: { failure_code: string }) => p.failure_code === 'insufficient_funds'));
  const status = await api.request('GET', '/v1/billing/status', { key });
  t.match(status.body, { account_state: 'past_due', payment_status: 'failed' });
  const messages = await api.request('GET', '/v1/billing/messages', { key });
  t.same(messages.body.data.map((m: { kind: string }) => m.kind).sort(), ['payment_failed', 'payment_overdue']);
});

t.test('trial expiry without a subscription: suspended (no backups scheduled), then pending_deletion with a purge time', async (t) => {
  const { api, admin, smtp } = await setup(t, { smtp: true });
  const key = admin.key;
  const { ids } = await seedEntities(api, admin.accountId, 1);
  api.clock.advance(13 * DAY);
  t.match(await runBillingCycle(api.deps), { suspended: 0 });
  api.clock.advance(DAY + 1000);
  t.match(await runBillingCycle(api.deps), { suspended: 1, pendingDeletion: 0 });
  const account = (await api.request('GET', '/v1/account', { key })).body;
  t.match(account, { state: 'suspended', purge_time: null });
  t.equal(smtp!.last(admin.body.account.email).subject, 'Your Coffer trial has ended', 'without billing details the account email is told');

  const { schedulerJob } = await import('../../workers/jobs/scheduler.ts');
  await api.deps.db.update(entities).set({ nextBackupAt: new Date(0), status: 'scheduled' }).where(eq(entities.id, ids[0]!));
  await api.deps.db.update(tasks).set({ connectionStatus: 'connected' });
  t.match(await schedulerJob(api.deps), { enqueued: 0 }, 'a suspended account gets no scheduled backups');

  api.clock.advance(13 * DAY);
  t.match(await runBillingCycle(api.deps), { pendingDeletion: 0 });
  api.clock.advance(DAY);
  t.match(await runBillingCycle(api.deps), { pendingDeletion: 1 });
  const doomed = (await api.request('GET', '/v1/account', { key })).body;
  t.equal(doomed.state, 'pending_deletion');
  t.equal(doomed.purge_time, new Date(api.clock.now().getTime() + 7 * DAY).toISOString());
  t.equal(smtp!.last(admin.body.account.email).subject, 'Your Coffer backups will be deleted');
  t.match(await runBillingCycle(api.deps), { pendingDeletion: 0, suspended: 0 }, 'idempotent');

  // Subscribing inside the grace period keeps the data.
  await api.request('PUT', '/v1/billing/details', { key, body: DETAILS });
  const sub = await api.request('POST', '/v1/billing/subscription', { key, body: { plan: 'annual' } });
  t.equal(sub.body.state, 'active');
  t.match((await api.request('GET', '/v1/account', { key })).body, { state: 'active', purge_time: null });
});
