// A partner user limited to some customers (customer_ids) reads, with scope=customers, the events
// of those customers only: the list, the stream and GET /v1/events/{id} (404 for the others').
import t from 'tap';
import http from 'node:http';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { emitEvent } from '../../api/resources/webhooks/service.ts';
import { issueApiKey } from '../../api/resources/api-keys/service.ts';
import { linkCustomer, makePartner } from '../helpers/partners.ts';

const emit = (api: TestApp, accountId: string) =>
  api.deps.db.transaction((tx) => emitEvent(api.deps, tx, accountId, 'task.disconnected', {})).then((r) => r.eventId);

t.test('customer_ids limit a partner user\'s customers events: list, stream and get', async (t) => {
  const api = await startTestApp(t);
  const partner = await api.signUp({ name: 'MSP' });
  await makePartner(api, partner.accountId);
  const alpha = await api.signUp({ name: 'Alpha' });
  const beta = await api.signUp({ name: 'Beta' });
  await linkCustomer(api, partner.accountId, alpha.accountId);
  await linkCustomer(api, partner.accountId, beta.accountId);
  const [user] = await api.database.sql`insert into users (id, account_id, email, role, permissions, customer_ids, state, password_hash)
    values ('usr_01jd8x4z3q9v6w2k5m7n0p1r8z', ${partner.accountId}, 'tech@msp.test', 'custom', ${['notifications:manage']}, ${[alpha.accountId]}, 'active', 'x') returning id`;
  const { secret: key } = await api.deps.db.transaction((tx) => issueApiKey(tx, { accountId: partner.accountId, userId: user!.id, held: new Set(['notifications:manage'] as const) }, { name: 'tech' }, api.clock.now()));

  const request = http.get(`${api.url}/v1/events/stream?scope=customers`, { agent: false, headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' } });
  t.teardown(() => request.destroy());
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => request.once('response', resolve).once('error', reject));
  t.equal(response.statusCode, 200);
  const ids: string[] = [];
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => { for (const m of chunk.matchAll(/^id: (\S+)$/gm)) ids.push(m[1]!); });
  response.on('error', () => {});

  const fromBeta = await emit(api, beta.accountId);
  const fromAlpha = await emit(api, alpha.accountId);
  const deadline = Date.now() + 5000;
  while (!ids.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 200));
  t.same(ids, [fromAlpha], 'the stream: alpha\'s event, not beta\'s');
  const listed = await api.request('GET', '/v1/events?scope=customers', { key });
  t.same(listed.body.data.map((e: { id: string }) => e.id), [fromAlpha], 'the list likewise');
  t.equal((await api.request('GET', `/v1/events/${fromAlpha}`, { key })).status, 200);
  t.equal((await api.request('GET', `/v1/events/${fromBeta}`, { key })).status, 404, 'beta\'s event is 404 for this user');
  t.equal((await api.request('GET', `/v1/events/${fromBeta}`, { key: partner.key })).status, 200, 'and 200 for an unlimited partner user');
});
