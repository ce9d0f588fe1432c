// GET /v1/events/stream (Server-Sent Events): the wire format, a new event within a second even
// when another process (another database connection) raises it, resuming after Last-Event-ID
// without loss or duplicates, an event whose transaction commits late, tenant isolation, the 406
// check, and the heartbeat.
import t from 'tap';
import http from 'node:http';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { connect } from '../../db/client.ts';
import { emitEvent } from '../../api/resources/webhooks/service.ts';
import { EventHub, openStream } from '../../api/resources/events/stream.ts';

interface Frame { id: string; event: string; data: string; raw: string }

/**
 * An SSE client on its own connection (node:http, no agent): closing it closes the socket, so the
 * server sees the disconnect at once (fetch's pool may keep a spare connection the server then
 * waits on when it closes).
 */
async function openSse(api: TestApp, key: string, headers: Record<string, string> = {}, query = '') {
  const request = http.get(`${api.url}/v1/events/stream${query}`, {
    agent: false, headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', ...headers },
  });
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => request.once('response', resolve).once('error', reject));
  const res = { status: response.statusCode!, headers: { get: (name: string) => String(response.headers[name] ?? '') } };
  let text = '';
  const frames: Frame[] = [];
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    text += chunk;
    let end: number;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const raw = text.slice(0, end + 2);
      text = text.slice(end + 2);
      const fields = Object.fromEntries(raw.trim().split('\n').filter((l) => !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
      if (fields.id) frames.push({ id: fields.id, event: fields.event!, data: fields.data!, raw });
    }
  });
  response.on('error', () => {});
  const waitFor = async (n: number, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    while (frames.length < n) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} events (got ${frames.length})`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return frames;
  };
  return { res, frames, waitFor, close: () => request.destroy() };
}

const emit = (api: TestApp, accountId: string, type: 'task.disconnected' | 'invoice.paid' = 'task.disconnected', data: Record<string, unknown> = {}) =>
  api.deps.db.transaction((tx) => emitEvent(api.deps, tx, accountId, type, data)).then((r) => r.eventId);

t.test('a new event raised by another process reaches the stream within a second, in SSE form; other accounts\' streams do not get it', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const b = await api.signUp();
  const stream = await openSse(api, a.key);
  t.teardown(stream.close);
  t.equal(stream.res.status, 200);
  t.equal(stream.res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  t.equal(stream.res.headers.get('cache-control'), 'no-cache, no-store');
  const other = await openSse(api, b.key);
  t.teardown(other.close);

  // Another process: its own connection to the database, nothing shared with the API in memory.
  const elsewhere = connect(api.database.url, { max: 1 });
  t.teardown(() => elsewhere.close());
  const started = Date.now();
  const { eventId } = await elsewhere.db.transaction((tx) => emitEvent({ clock: api.clock }, tx, a.accountId, 'invoice.paid', { invoice_id: 'inv_1' }));
  const [frame] = await stream.waitFor(1, 1000);
  t.ok(Date.now() - started < 1000, `arrived after ${Date.now() - started} ms`);
  const body = (await api.request('GET', `/v1/events/${eventId}`, { key: a.key })).text;
  t.equal(frame!.raw, `id: ${eventId}\nevent: invoice.paid\ndata: ${body}\n\n`, 'id, event type, and the webhook body as data');

  const own = await emit(api, b.accountId);
  t.same((await other.waitFor(1)).map((f) => f.id), [own], 'account B\'s stream gets B\'s event only');
  t.equal(stream.frames.length, 1);
});

t.test('resuming after Last-Event-ID sends what was missed, then live events: no loss, no duplicates', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const before = await emit(api, a.accountId);
  const first = await openSse(api, a.key);
  const e1 = await emit(api, a.accountId);
  t.same((await first.waitFor(1)).map((f) => f.id), [e1], 'a stream without Last-Event-ID starts with the events after it opened');
  first.close();

  const missed = [await emit(api, a.accountId), await emit(api, a.accountId, 'invoice.paid')];
  const resumed = await openSse(api, a.key, { 'last-event-id': e1 });
  t.teardown(resumed.close);
  await resumed.waitFor(2);
  const live = await emit(api, a.accountId);
  await resumed.waitFor(3);
  await new Promise((r) => setTimeout(r, 300));
  t.same(resumed.frames.map((f) => f.id), [...missed, live], 'the missed events in order, then the live one, each once');

  const filtered = await openSse(api, a.key, { 'last-event-id': before }, '?type=invoice.paid');
  t.teardown(filtered.close);
  await filtered.waitFor(1);
  await new Promise((r) => setTimeout(r, 300));
  t.same(filtered.frames.map((f) => f.id), [missed[1]], 'the type filter applies to the catch-up too');

  const bad = await openSse(api, a.key, { 'last-event-id': 'evt_nope' });
  t.equal(bad.res.status, 400);
});

t.test('an event whose transaction commits after a later event was sent still reaches the stream, once', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const stream = await openSse(api, a.key);
  t.teardown(stream.close);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let lateId = '';
  const late = api.deps.db.transaction(async (tx) => {
    lateId = (await emitEvent(api.deps, tx, a.accountId, 'task.disconnected', { late: true })).eventId;
    await gate;
  });
  while (!lateId) await new Promise((r) => setTimeout(r, 5));
  const early = await emit(api, a.accountId);
  await stream.waitFor(1);
  release();
  await late;
  await stream.waitFor(2);
  t.ok(lateId < early, 'the late event has the smaller id');
  await new Promise((r) => setTimeout(r, 300));
  t.same(stream.frames.map((f) => f.id), [early, lateId]);
});

t.test('the 406 check lets Accept: text/event-stream through on the stream only', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const json = await api.request('GET', '/v1/events/stream', { key: a.key, headers: { accept: 'application/json' } });
  t.equal(json.status, 406);
  t.same(json.body.available, ['text/event-stream']);
  t.equal((await api.request('GET', '/v1/events', { key: a.key, headers: { accept: 'text/event-stream' } })).status, 406);
  const sse = await openSse(api, a.key);
  sse.close();
  t.equal(sse.res.status, 200);
});

t.test('a heartbeat comment goes out on an idle stream', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const hub = new EventHub(api.deps);
  t.teardown(() => hub.close());
  const out = await openStream(api.deps, hub, { scope: { accountId: a.accountId }, lastEventId: undefined, types: undefined, heartbeatMs: 100 });
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  await new Promise((r) => setTimeout(r, 350));
  t.equal(text.slice(0, 'retry: 2000\n: connected\n\n'.length), 'retry: 2000\n: connected\n\n');
  t.ok(text.split(': heartbeat\n\n').length - 1 >= 2, text);
  out.destroy();
});
