// A partner's webhook endpoint with scope `customers` receives its customers' events (each naming
// the customer and the partner), signed with the partner's secret and listed among the partner's
// deliveries; a customer that revokes the partner stops sending them; another partner's and a
// standard account's events never reach it. The feed lists them with scope=customers.
import t from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { webhookDeliveries } from '../../db/schema.ts';
import { emitEvent } from '../../api/resources/webhooks/service.ts';
import { attemptDelivery } from '../../api/resources/webhooks/delivery.ts';
import { verifyWebhookSignature } from '../../sdk/webhooks.ts';
import { startTestApp } from '../helpers/app.ts';
import { linkCustomer, makePartner, revokeCustomer } from '../helpers/partners.ts';

async function receiver(t: Parameters<typeof startTestApp>[0]) {
  const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, received };
}

t.test('scope customers: the partner receives its current customers\' events, each naming customer and partner', async (t) => {
  const api = await startTestApp(t, { config: { webhooks: { allowPrivateTargets: true, retrySchedule: [1] } } });
  const rx = await receiver(t);
  const partner = await api.signUp({ name: 'MSP' });
  await makePartner(api, partner.accountId);
  const alpha = await api.signUp({ name: 'Alpha' });
  const beta = await api.signUp({ name: 'Beta' });
  const loner = await api.signUp({ name: 'Standard' });
  const rival = await api.signUp({ name: 'Rival MSP' });
  await makePartner(api, rival.accountId);
  const rivalsCustomer = await api.signUp({ name: 'Rival customer' });
  await linkCustomer(api, partner.accountId, alpha.accountId);
  await linkCustomer(api, partner.accountId, beta.accountId, 'direct');
  await linkCustomer(api, rival.accountId, rivalsCustomer.accountId);

  const created = await api.request('POST', '/v1/webhooks', { key: partner.key, body: { url: rx.url, events: ['backup.run_failed'], scope: 'customers' } });
  t.equal(created.status, 201);
  t.equal(created.body.scope, 'customers');
  const own = await api.request('POST', '/v1/webhooks', { key: partner.key, body: { url: rx.url, events: ['backup.run_failed'] } });
  t.equal(own.body.scope, 'account', 'the default scope is the account\'s own events');
  const alphasOwn = await api.request('POST', '/v1/webhooks', { key: alpha.key, body: { url: rx.url, events: ['backup.run_failed'] } });

  const emit = (accountId: string) => api.deps.db.transaction((tx) => emitEvent(api.deps, tx, accountId, 'backup.run_failed', { run_id: 'run_1', error: 'boom' }));
  const fromAlpha = await emit(alpha.accountId);
  const rows = await api.deps.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, fromAlpha.eventId));
  t.same(rows.map((r) => [r.endpointId, r.accountId]).sort(), [[created.body.id, partner.accountId], [alphasOwn.body.id, alpha.accountId]].sort(),
    'the customer\'s own endpoint and the partner\'s customers endpoint (as a delivery of the partner), not the partner\'s own-events endpoint');
  const partnerDelivery = rows.find((r) => r.endpointId === created.body.id)!;
  t.equal(await attemptDelivery(api.deps, { deliveryId: partnerDelivery.id, attempt: 1 }), 'succeeded');
  const got = rx.received[0]!;
  t.same(JSON.parse(got.body), {
    id: fromAlpha.eventId, type: 'backup.run_failed', created_at: api.clock.now().toISOString(), account_id: alpha.accountId,
    partner_account_id: partner.accountId, data: { run_id: 'run_1', error: 'boom' },
  });
  t.equal((await verifyWebhookSignature(created.body.secret, got.headers['coffer-signature'] as string, got.body, { now: api.clock.now() })).valid, true,
    'signed with the partner endpoint\'s secret');
  const listed = await api.request('GET', `/v1/webhooks/${created.body.id}/deliveries`, { key: partner.key });
  t.same(listed.body.data.map((d: any) => d.event_id), [fromAlpha.eventId], 'the partner lists the delivery');
  t.equal((await api.request('GET', `/v1/webhooks/${created.body.id}/deliveries`, { key: alpha.key })).status, 404, 'the customer does not see the partner\'s endpoint');

  t.equal((await emit(beta.accountId)).deliveryIds.length, 1, 'a direct-billed customer is a customer too');
  t.equal((await emit(loner.accountId)).deliveryIds.length, 0, 'a standard account\'s events never reach the partner');
  t.equal((await emit(rivalsCustomer.accountId)).deliveryIds.length, 0, 'nor another partner\'s customer\'s');
  t.equal((await emit(partner.accountId)).deliveryIds.length, 1, 'the partner\'s own events go to its own-events endpoint only');

  await revokeCustomer(api, beta.accountId);
  const afterRevoke = await emit(beta.accountId);
  t.equal(afterRevoke.deliveryIds.length, 0, 'a customer that revoked the partner sends it nothing more');
  const betaEvent = await api.request('GET', `/v1/events/${afterRevoke.eventId}`, { key: beta.key });
  t.equal(betaEvent.body.partner_account_id, null, 'and its events no longer name the partner');

  // The feed: scope=customers lists the current customers' events, newest first.
  const feed = await api.request('GET', '/v1/events?scope=customers', { key: partner.key });
  t.equal(feed.status, 200);
  t.same(feed.body.data.map((e: any) => [e.account_id, e.partner_account_id]), [[alpha.accountId, partner.accountId]],
    'Alpha\'s event; not Beta\'s (revoked), nor anyone else\'s');
  const ownFeed = await api.request('GET', '/v1/events', { key: partner.key });
  t.same(ownFeed.body.data.map((e: any) => e.account_id), [partner.accountId], 'without scope: the partner\'s own events');
  t.equal((await api.request('GET', '/v1/events', { key: alpha.key })).body.data[0].partner_account_id, partner.accountId, 'the customer sees who manages it');
});

t.test('only a partner may subscribe to or list customers\' events (403 not_a_partner)', async (t) => {
  const api = await startTestApp(t, { config: { webhooks: { allowPrivateTargets: true, retrySchedule: [1] } } });
  const standard = await api.signUp();
  const create = await api.request('POST', '/v1/webhooks', { key: standard.key, body: { url: 'http://127.0.0.1:9/x', events: ['ping'], scope: 'customers' } });
  t.equal(create.status, 403);
  t.equal(create.body.code, 'not_a_partner');
  t.equal((await api.request('GET', '/v1/webhooks', { key: standard.key })).body.data.length, 0, 'nothing was created');
  const ok = await api.request('POST', '/v1/webhooks', { key: standard.key, body: { url: 'http://127.0.0.1:9/x', events: ['ping'] } });
  const patch = await api.request('PATCH', `/v1/webhooks/${ok.body.id}`, { key: standard.key, body: { scope: 'customers' } });
  t.equal(patch.body.code, 'not_a_partner', 'nor be changed to it');
  t.equal((await api.request('GET', `/v1/webhooks/${ok.body.id}`, { key: standard.key })).body.scope, 'account');
  const feed = await api.request('GET', '/v1/events?scope=customers', { key: standard.key });
  t.equal(feed.status, 403);
  t.equal(feed.body.code, 'not_a_partner');
  t.equal((await api.request('GET', '/v1/events?scope=everyone', { key: standard.key })).status, 400);
});
