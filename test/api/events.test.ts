// The event feed (GET /v1/events): every event emitEvent raises is there, whether or not a webhook
// endpoint subscribes, with exactly the body a delivery carries; filters, pagination, 30-day
// retention by the maintenance job, tenant isolation, the permission, and test events.
import t from 'tap';
import { eq } from 'drizzle-orm';
import { startTestApp } from '../helpers/app.ts';
import { scopedKey } from '../helpers/billing.ts';
import { events, webhookDeliveries } from '../../db/schema.ts';
import { emitEvent } from '../../api/resources/webhooks/service.ts';
import { maintenanceJob } from '../../workers/jobs/maintenance.ts';

const START = new Date('2026-05-01T12:00:00Z');

t.test('the feed lists every emitted event, newest first, as the webhook delivery carries it; ping stays out', async (t) => {
  const api = await startTestApp(t, { start: START });
  const a = await api.signUp();
  const endpoint = await api.request('POST', '/v1/webhooks', { key: a.key, body: { url: 'https://hooks.example.com/coffer', events: ['backup.run_failed'] } });
  t.equal(endpoint.status, 201);
  const failed = await api.deps.db.transaction((tx) => emitEvent(api.deps, tx, a.accountId, 'backup.run_failed', { run_id: 'run_1', error: 'boom' }));
  api.clock.advance(1000);
  // Nobody subscribes to task.disconnected: the feed has it all the same.
  const disconnected = await api.deps.db.transaction((tx) => emitEvent(api.deps, tx, a.accountId, 'task.disconnected', { task_id: 'task_1' }));
  t.equal(disconnected.deliveryIds.length, 0);
  t.equal((await api.request('POST', `/v1/webhooks/${endpoint.body.id}/ping`, { key: a.key })).status, 202);

  const list = await api.request('GET', '/v1/events', { key: a.key });
  t.equal(list.status, 200);
  t.same(list.body.data.map((e: { id: string }) => e.id), [disconnected.eventId, failed.eventId], 'newest first, and no ping');
  t.same(list.body.data[1], {
    id: failed.eventId, type: 'backup.run_failed', created_at: START.toISOString(), account_id: a.accountId, partner_account_id: null, data: { run_id: 'run_1', error: 'boom' },
  });
  const [delivery] = await api.deps.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, failed.eventId));
  t.equal(JSON.stringify(list.body.data[1]), delivery!.body, 'byte for byte the body the webhook delivery signs');

  const one = await api.request('GET', `/v1/events/${failed.eventId}`, { key: a.key });
  t.equal(one.status, 200);
  t.equal(one.text, delivery!.body);
});

t.test('filters: one type or several, from (inclusive) and to (exclusive); pagination; bad filters are 400', async (t) => {
  const api = await startTestApp(t, { start: START });
  const a = await api.signUp();
  const ids: string[] = [];
  for (const type of ['job.state_changed', 'backup.run_failed', 'invoice.paid', 'job.state_changed'] as const) {
    ids.push((await api.deps.db.transaction((tx) => emitEvent(api.deps, tx, a.accountId, type, { n: ids.length }))).eventId);
    api.clock.advance(60_000);
  }
  const get = async (query: string) => {
    const res = await api.request('GET', `/v1/events?${query}`, { key: a.key });
    t.equal(res.status, 200, query);
    return res.body.data.map((e: { id: string }) => e.id);
  };
  t.same(await get('type=job.state_changed'), [ids[3], ids[0]]);
  t.same(await get('type=invoice.paid,backup.run_failed'), [ids[2], ids[1]], 'several types, comma-separated');
  const at = (minutes: number) => new Date(START.getTime() + minutes * 60_000).toISOString();
  t.same(await get(`from=${at(1)}&to=${at(3)}`), [ids[2], ids[1]], 'from inclusive, to exclusive');
  t.same(await get(`type=job.state_changed&from=${at(1)}`), [ids[3]]);

  const first = await api.request('GET', '/v1/events?limit=3', { key: a.key });
  t.same(first.body.data.map((e: { id: string }) => e.id), [ids[3], ids[2], ids[1]]);
  const second = await api.request('GET', `/v1/events?limit=3&cursor=${first.body.next_cursor}`, { key: a.key });
  t.same(second.body.data.map((e: { id: string }) => e.id), [ids[0]]);
  t.equal(second.body.next_cursor, null);

  for (const query of ['type=ping', 'type=job.state_changed,nope', 'type=', `from=${at(3)}&to=${at(1)}`, 'from=yesterday']) {
    const res = await api.request('GET', `/v1/events?${query}`, { key: a.key });
    t.equal(res.status, 400, query);
    t.equal(res.body.code, 'validation_failed', query);
  }
});

t.test('the maintenance job deletes events older than 30 days, and only those', async (t) => {
  const api = await startTestApp(t, { start: START });
  const a = await api.signUp();
  const old = await api.deps.db.transaction((tx) => emitEvent(api.deps, tx, a.accountId, 'invoice.created', { invoice_id: 'inv_1' }));
  api.clock.advance(2 * 24 * 3600_000);
  const recent = await api.deps.db.transaction((tx) => emitEvent(api.deps, tx, a.accountId, 'invoice.paid', { invoice_id: 'inv_1' }));
  api.clock.advance(29 * 24 * 3600_000); // the first is 31 days old, the second 29
  t.match(await maintenanceJob(api.deps), { events_removed: 1 });
  t.same((await api.deps.db.select({ id: events.id }).from(events)).map((r) => r.id), [recent.eventId]);
  t.equal((await api.request('GET', `/v1/events/${old.eventId}`, { key: a.key })).status, 404);
  t.match(await maintenanceJob(api.deps), { events_removed: 0 }, 'a second run finds nothing');
});

t.test('tenant isolation and the permission: another account sees none of it; notifications:manage is needed', async (t) => {
  const api = await startTestApp(t, { start: START });
  const a = await api.signUp();
  const b = await api.signUp();
  const { eventId } = await api.deps.db.transaction((tx) => emitEvent(api.deps, tx, a.accountId, 'task.disconnected', { task_id: 'task_1' }));
  t.same((await api.request('GET', '/v1/events', { key: b.key })).body, { data: [], next_cursor: null });
  const foreign = await api.request('GET', `/v1/events/${eventId}`, { key: b.key });
  t.equal(foreign.status, 404);
  t.equal(foreign.body.code, 'not_found');

  const reader = await scopedKey(api, a.key, ['activity:read', 'backups:read']);
  for (const path of ['/v1/events', `/v1/events/${eventId}`, '/v1/events/stream']) {
    const res = await api.request('GET', path, { key: reader });
    t.equal(res.status, 403, path);
  }
  t.equal((await api.request('POST', '/v1/events/test', { key: reader, body: { type: 'invoice.paid' } })).status, 403);
  const manager = await scopedKey(api, a.key, ['notifications:manage']);
  t.equal((await api.request('GET', '/v1/events', { key: manager })).body.data[0].id, eventId);
  t.equal((await api.request('GET', '/v1/events')).status, 401);
});

t.test('POST /v1/events/test records a test event in the feed only: no webhook endpoint receives it', async (t) => {
  const api = await startTestApp(t, { start: START });
  const a = await api.signUp();
  t.equal((await api.request('POST', '/v1/webhooks', { key: a.key, body: { url: 'https://hooks.example.com/coffer', events: ['invoice.paid'] } })).status, 201);
  const res = await api.request('POST', '/v1/events/test', { key: a.key, body: { type: 'invoice.paid' } });
  t.equal(res.status, 201);
  t.match(res.body, { type: 'invoice.paid', account_id: a.accountId, created_at: START.toISOString(), data: { test: true } });
  t.equal(res.headers.get('location'), `/v1/events/${res.body.id}`);
  t.same((await api.request('GET', '/v1/events', { key: a.key })).body.data, [res.body]);
  t.equal((await api.deps.db.select().from(webhookDeliveries)).length, 0, 'no delivery to the subscribed endpoint');
  for (const type of ['ping', 'nope']) {
    t.equal((await api.request('POST', '/v1/events/test', { key: a.key, body: { type } })).status, 400, type);
  }
});
