// Webhooks: endpoints over the API (secret shown once, SSRF guard, enable / disable, tenant
// isolation), signed deliveries received by a real HTTP server and verified with the SDK's
// verifier, retries with back-off through pg-boss while the endpoint is down, and the delivery log.
import t from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { backupRuns, entities, tasks, webhookDeliveries, webhookEndpoints } from '../../db/schema.ts';
import { newId } from '../../db/ids.ts';
import { notifyRunFinished } from '../../api/resources/notifications/triggers.ts';
import { emitEvent } from '../../api/resources/webhooks/service.ts';
import { attemptDelivery, post } from '../../api/resources/webhooks/delivery.ts';
import { checkTargetUrl, isPublicAddress } from '../../workers/outbound/target.ts';
import { parseWebhookEvent, verifyWebhookSignature } from '../../sdk/webhooks.ts';
import { Coffer } from '../../sdk/client.ts';

interface Received {
  at: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver: answers each request with the next status of `statuses` (the last one repeats). */
async function receiver(t: Parameters<typeof startTestApp>[0], statuses: number[], port = 0) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = statuses[Math.min(received.length - 1, statuses.length - 1)]!;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'thanks' : 'unavailable');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/coffer`, received, server };
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const allowLocal = { webhooks: { allowPrivateTargets: true, retrySchedule: [1, 2] } };

// Two apps for the file (a fresh database each is the slow part): one with the default
// configuration and no workers, one allowing loopback targets with pg-boss workers running.
let plainApp: Promise<TestApp> | undefined;
let workerApp: Promise<TestApp> | undefined;
const plain = () => (plainApp ??= startTestApp(t));
const withWorkers = () => (workerApp ??= startTestApp(t, { workers: true, config: allowLocal }));

t.test('endpoints: create shows the secret once; SSRF guard; validation; enable / disable; tenant isolation', async (t) => {
  const api = await plain(); // default config: private targets refused
  const a = await api.signUp();
  const b = await api.signUp();
  for (const url of ['http://127.0.0.1:8080/hook', 'http://localhost/hook', 'http://10.1.2.3/x', 'http://[::1]/x', 'http://169.254.169.254/latest/meta-data', 'http://metadata.internal/x', 'ftp://hooks.example.com/x', 'https://user:pw@hooks.example.com/x']) {
    const res = await api.request('POST', '/v1/webhooks', { key: a.key, body: { url, events: ['ping'] } });
    t.equal(res.status, 400, `${url} is refused`);
    if (res.status === 400) t.equal(res.body.errors?.[0]?.pointer ?? '/body/url', '/body/url');
  }
  t.equal((await api.request('POST', '/v1/webhooks', { key: a.key, body: { url: 'https://hooks.example.com/x', events: ['nope'] } })).status, 400, 'unknown event type');
  t.equal((await api.request('POST', '/v1/webhooks', { key: a.key, body: { url: 'https://hooks.example.com/x', events: [] } })).status, 400, 'no events');

  const created = await api.request('POST', '/v1/webhooks', {
    key: a.key, body: { url: 'https://hooks.example.com/coffer', events: ['backup.run_failed', 'invoice.paid'], description: 'Ops pager' },
  });
  t.equal(created.status, 201);
  t.equal(created.headers.get('location'), `/v1/webhooks/${created.body.id}`);
  const secret: string = created.body.secret;
  t.match(secret, /^whsec_[A-Za-z0-9_-]{43}$/);
  t.match(created.body, { url: 'https://hooks.example.com/coffer', events: ['backup.run_failed', 'invoice.paid'], description: 'Ops pager', enabled: true, secret_hint: secret.slice(-4) });
  const [row] = await api.deps.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, created.body.id));
  t.notOk(row!.secret.includes(secret.slice(6)), 'stored sealed, not in the clear');

  const got = await api.request('GET', `/v1/webhooks/${created.body.id}`, { key: a.key });
  const list = await api.request('GET', '/v1/webhooks', { key: a.key });
  const patched = await api.request('PATCH', `/v1/webhooks/${created.body.id}`, { key: a.key, headers: { 'if-match': '"v1"' }, body: { enabled: false, events: ['ping'] } });
  t.equal(patched.status, 200);
  t.match(patched.body, { enabled: false, events: ['ping'] });
  for (const res of [got, list, patched]) {
    t.notOk(res.text.includes(secret), 'the secret is never returned again');
    t.notOk(res.text.includes('"secret"'), 'no secret field');
  }
  t.equal((await api.request('PATCH', `/v1/webhooks/${created.body.id}`, { key: a.key, headers: { 'if-match': '"v1"' }, body: { enabled: true } })).status, 412);
  t.equal((await api.request('PATCH', `/v1/webhooks/${created.body.id}`, { key: a.key, body: { url: 'http://192.168.0.10/' } })).status, 400);

  const rotated = await api.request('POST', `/v1/webhooks/${created.body.id}/rotate-secret`, { key: a.key });
  t.equal(rotated.status, 200);
  t.match(rotated.body.secret, /^whsec_/);
  t.not(rotated.body.secret, secret);

  // Account B: 404 for every id of A, and an empty list.
  const id = created.body.id;
  for (const [method, path, body] of [
    ['GET', `/v1/webhooks/${id}`, undefined], ['PATCH', `/v1/webhooks/${id}`, { enabled: true }], ['DELETE', `/v1/webhooks/${id}`, undefined],
    ['POST', `/v1/webhooks/${id}/ping`, undefined], ['POST', `/v1/webhooks/${id}/rotate-secret`, undefined], ['GET', `/v1/webhooks/${id}/deliveries`, undefined],
  ] as const) {
    const res = await api.request(method, path, { key: b.key, body });
    t.equal(res.status, 404, `${method} ${path} from another account is 404`);
  }
  t.same((await api.request('GET', '/v1/webhooks', { key: b.key })).body.data, []);
  t.equal((await api.request('GET', '/v1/webhooks/whk_nope', { key: a.key })).status, 400, 'malformed id');

  t.equal((await api.request('DELETE', `/v1/webhooks/${id}`, { key: a.key })).status, 204);
  t.equal((await api.request('GET', `/v1/webhooks/${id}`, { key: a.key })).status, 404);
});

t.test('SSRF guard at delivery time and address classes', async (t) => {
  t.equal(isPublicAddress('8.8.8.8'), true);
  for (const ip of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '0.0.0.0', '100.64.0.1']) {
    t.equal(isPublicAddress(ip), false, `${ip} is not public`);
  }
  t.throws(() => checkTargetUrl('http://127.0.0.1/', false));
  t.equal(checkTargetUrl('http://127.0.0.1:9/x', true).host, '127.0.0.1:9', 'allowed by configuration');
  const refused = await post('http://127.0.0.1:9/x', '{}', {}, false);
  t.match(refused, { statusCode: null, refused: true, error: /^target refused/ });
});

t.test('fan-out by event type; disabled endpoints get nothing; a job attempt runs once', async (t) => {
  const api = await plain(); // no workers: this test makes the attempts itself
  const saved = api.deps.config.webhooks;
  api.deps.config.webhooks = allowLocal.webhooks;
  t.teardown(() => { api.deps.config.webhooks = saved; });
  const a = await api.signUp();
  const rx = await receiver(t, [204]);
  const mk = async (events: string[]) => (await api.request('POST', '/v1/webhooks', { key: a.key, body: { url: rx.url, events } })).body;
  const failures = await mk(['backup.run_failed']);
  const invoices = await mk(['invoice.paid', 'invoice.created']);
  const off = await mk(['backup.run_failed']);
  await api.request('PATCH', `/v1/webhooks/${off.id}`, { key: a.key, body: { enabled: false } });
  const b = await api.signUp();
  const other = (await api.request('POST', '/v1/webhooks', { key: b.key, body: { url: rx.url, events: ['backup.run_failed'] } })).body;

  const emitted = await api.deps.db.transaction((tx) => emitEvent(api.deps, tx, a.accountId, 'backup.run_failed', { run_id: 'run_1', error: 'boom' }));
  t.equal(emitted.deliveryIds.length, 1, 'only the enabled endpoint subscribed to the type');
  const rows = await api.deps.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, emitted.eventId));
  t.same(rows.map((r) => r.endpointId), [failures.id]);
  t.notOk(rows.some((r) => r.endpointId === invoices.id || r.endpointId === off.id || r.endpointId === other.id));

  const first = await attemptDelivery(api.deps, { deliveryId: emitted.deliveryIds[0]!, attempt: 1 });
  t.equal(first, 'succeeded');
  t.equal(await attemptDelivery(api.deps, { deliveryId: emitted.deliveryIds[0]!, attempt: 1 }), 'skipped', 'the same job twice posts once');
  t.equal(rx.received.length, 1);
  const got = rx.received[0]!;
  t.equal(got.headers['coffer-event-type'], 'backup.run_failed');
  t.equal(got.headers['coffer-event-id'], emitted.eventId);
  t.equal(got.headers['content-type'], 'application/json');
  t.match(got.headers['coffer-signature'], /^t=\d+,v1=[0-9a-f]{64}$/);
  t.same(JSON.parse(got.body), { id: emitted.eventId, type: 'backup.run_failed', created_at: api.clock.now().toISOString(), account_id: a.accountId, partner_account_id: null, data: { run_id: 'run_1', error: 'boom' } });
  t.equal((await verifyWebhookSignature(failures.secret, got.headers['coffer-signature'], got.body, { now: api.clock.now() })).valid, true, 'the SDK verifies it');
  t.equal((await verifyWebhookSignature(invoices.secret, got.headers['coffer-signature'], got.body, { now: api.clock.now() })).valid, false, 'another endpoint\'s secret does not');

  const log = await api.request('GET', `/v1/webhooks/${failures.id}/deliveries`, { key: a.key });
  t.equal(log.status, 200);
  t.match(log.body.data[0], { id: emitted.deliveryIds[0], event_type: 'backup.run_failed', state: 'succeeded', attempt_count: 1, last_status_code: 204, next_attempt_at: null });
  t.same(log.body.data[0].attempts.map((x: { status_code: number }) => x.status_code), [204]);
  t.same((await api.request('GET', `/v1/webhooks/${invoices.id}/deliveries`, { key: a.key })).body.data, []);
});

t.test('endpoint down, then up: retried with back-off through pg-boss, then delivered; the log shows every attempt', async (t) => {
  const api: TestApp = await withWorkers();
  const a = await api.signUp();
  // A port with nothing listening yet: the endpoint is down.
  const probe = await receiver(t, [200]);
  const port = (probe.server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.server.close(() => resolve()));
  const url = `http://127.0.0.1:${port}/hooks/coffer`;
  const hook = (await api.request('POST', '/v1/webhooks', { key: a.key, body: { url, events: ['task.disconnected'] } })).body;

  const started = Date.now();
  const { deliveryIds } = await api.deps.db.transaction((tx) => emitEvent(api.deps, tx, a.accountId, 'task.disconnected', { task_id: 'task_1' }));
  const log = () => api.request('GET', `/v1/webhooks/${hook.id}/deliveries`, { key: a.key });
  const afterFirst = await until('the first attempt', async () => {
    const res = await log();
    return res.body.data[0]?.attempt_count >= 1 ? res.body.data[0] : undefined;
  });
  t.match(afterFirst, { id: deliveryIds[0], state: 'pending', attempt_count: 1, last_status_code: null });
  t.match(afterFirst.attempts[0].error, /ECONNREFUSED/);
  t.type(afterFirst.next_attempt_at, 'string', 'a retry is scheduled');

  // The endpoint comes back, but answers 503 once before it recovers.
  const rx = await receiver(t, [503, 200], port);
  const done = await until('delivery', async () => {
    const res = await log();
    return res.body.data[0]?.state === 'succeeded' ? res.body.data[0] : undefined;
  });
  t.equal(done.attempt_count, 3);
  t.same(done.attempts.map((x: { status_code: number | null }) => x.status_code), [null, 503, 200]);
  t.equal(done.last_status_code, 200);
  t.type(done.delivered_at, 'string');
  t.equal(done.next_attempt_at, null);
  t.equal(rx.received.length, 2);
  t.ok(rx.received[1]!.at - rx.received[0]!.at >= 1800, `the second retry waited longer (back-off: ${rx.received[1]!.at - rx.received[0]!.at} ms)`);
  t.ok(rx.received[0]!.at - started >= 900, 'the first retry waited its delay');
  t.same(rx.received.map((r) => r.headers['coffer-delivery-attempt']), ['2', '3']);
  for (const r of rx.received) {
    t.equal((await verifyWebhookSignature(hook.secret, r.headers['coffer-signature'], r.body)).valid, true, 'each attempt is signed');
  }

  // An endpoint that never recovers: after the last retry the delivery is failed.
  const dead = await receiver(t, [500]);
  const deadHook = (await api.request('POST', '/v1/webhooks', { key: a.key, body: { url: dead.url, events: ['ping'] } })).body;
  const pinged = await api.request('POST', `/v1/webhooks/${deadHook.id}/ping`, { key: a.key });
  t.equal(pinged.status, 202);
  t.match(pinged.body, { endpoint_id: deadHook.id, event_type: 'ping', state: 'pending', attempt_count: 0 });
  const failed = await until('the delivery to fail', async () => {
    const res = await api.request('GET', `/v1/webhooks/${deadHook.id}/deliveries?state=failed`, { key: a.key });
    return res.body.data[0];
  });
  t.equal(failed.attempt_count, 3, 'the first attempt and the two configured retries');
  t.same(failed.attempts.map((x: { status_code: number }) => x.status_code), [500, 500, 500]);
  t.equal(failed.next_attempt_at, null);
  t.equal(JSON.parse(dead.received[0]!.body).type, 'ping');

  // Redeliver the failed event once the endpoint is fixed: same event id and body, a new delivery.
  const fixed = await receiver(t, [200]);
  await api.request('PATCH', `/v1/webhooks/${deadHook.id}`, { key: a.key, body: { url: fixed.url } });
  const again = await api.request('POST', `/v1/webhooks/${deadHook.id}/deliveries/${failed.id}/redeliver`, { key: a.key });
  t.equal(again.status, 202);
  t.match(again.body, { event_id: failed.event_id, state: 'pending', attempt_count: 0 });
  t.not(again.body.id, failed.id);
  await until('the redelivery', async () => fixed.received.length > 0);
  t.equal(fixed.received[0]!.body, dead.received[0]!.body, 'the same body');
  t.equal(fixed.received[0]!.headers['coffer-event-id'], failed.event_id);
  const b = await api.signUp();
  t.equal((await api.request('POST', `/v1/webhooks/${deadHook.id}/deliveries/${failed.id}/redeliver`, { key: b.key })).status, 404, 'tenant isolation');
  const otherHook = (await api.request('POST', '/v1/webhooks', { key: a.key, body: { url: fixed.url, events: ['ping'] } })).body;
  t.equal((await api.request('POST', `/v1/webhooks/${otherHook.id}/deliveries/${failed.id}/redeliver`, { key: a.key })).status, 404, 'the delivery must belong to the endpoint');
});

t.test('through the SDK: create, ping, read the log, verify the delivery with the SDK verifier', async (t) => {
  const api = await withWorkers();
  const a = await api.signUp();
  const rx = await receiver(t, [200]);
  const coffer = new Coffer({ baseUrl: api.url, apiKey: a.key });
  const endpoint = await coffer.post('/v1/webhooks', { body: { url: rx.url, events: ['ping', 'invoice.created'], description: 'SDK' } });
  t.match(endpoint.secret, /^whsec_/);
  const delivery = await coffer.post('/v1/webhooks/{id}/ping', { params: { path: { id: endpoint.id } } });
  t.equal(delivery.state, 'pending');
  await until('the ping', async () => rx.received.length > 0);
  const seen: string[] = [];
  for await (const d of coffer.paginate('/v1/webhooks/{id}/deliveries', { limit: 10 }, { id: endpoint.id })) seen.push(`${d.event_type}:${d.state}`);
  t.same(seen.length, 1);
  const r = rx.received[0]!;
  const event = await parseWebhookEvent(endpoint.secret, r.headers['coffer-signature'], r.body);
  t.match(event, { type: 'ping', account_id: a.accountId, data: { endpoint_id: endpoint.id } });
  const fetched = await coffer.get('/v1/webhooks/{id}', { params: { path: { id: endpoint.id } } });
  t.notOk('secret' in fetched);
});

t.test('with workers, a trigger only writes rows and jobs: mail and webhooks go out from the queues', async (t) => {
  const api = await withWorkers();
  const a = await api.signUp({ name: 'Queue Co' });
  const rx = await receiver(t, [200]);
  const hook = (await api.request('POST', '/v1/webhooks', { key: a.key, body: { url: rx.url, events: ['backup.run_failed'] } })).body;
  await api.request('POST', '/v1/notifications/recipients', { key: a.key, body: { email: 'oncall@queue.example', display_name: 'On Call', types: ['exceptions'] } });
  const taskId = newId('task');
  const entityId = newId('ent');
  const runId = newId('run');
  await api.deps.db.insert(tasks).values({ id: taskId, accountId: a.accountId, name: 'Queue Team', plan: 'business', connectionStatus: 'connected' });
  await api.deps.db.insert(entities).values({ id: entityId, accountId: a.accountId, taskId, kind: 'team_folder', dropboxId: 'tf:q', name: 'Legal', dropboxStatus: 'active', status: 'failed' });
  const now = api.clock.now();
  await api.deps.db.insert(backupRuns).values({ id: runId, accountId: a.accountId, taskId, entityId, state: 'failed', reason: 'scheduled', mode: 'full', startedAt: now, finishedAt: now, error: 'Dropbox is unavailable' });

  const result = await notifyRunFinished(api.deps, { id: runId });
  t.match(result, { notified: true, mails: 1, webhookEvents: ['backup.run_failed'] });
  const mail = await until('the exceptions mail', async () => api.sentMail.find((m) => m.to === 'oncall@queue.example'));
  t.equal(mail.subject, 'Backup failed: Legal (Queue Team)');
  t.match(mail.text, /^Hello On Call,\n\nThe backup of Legal in task Queue Team failed at /);
  t.match(mail.html, /<p>Reason: Dropbox is unavailable\. Nothing from this run was kept/);
  await until('the webhook', async () => rx.received.length > 0);
  const event = await parseWebhookEvent(hook.secret, rx.received[0]!.headers['coffer-signature'], rx.received[0]!.body, { now: api.clock.now() });
  t.match(event, { type: 'backup.run_failed', data: { run_id: runId, state: 'failed', entity_name: 'Legal', task_name: 'Queue Team', error: 'Dropbox is unavailable' } });
  t.equal((await notifyRunFinished(api.deps, { id: runId })).notified, false, 'a second call is a no-op');
});
