// A partner's view of its customers' events beyond the list: GET /v1/events/stream?scope=customers
// delivers the events of the customers it manages now (not another partner's customer's, a
// stranger's, its own account's, nor those of a customer after it revoked the partner's access),
// a standard account asking for that scope is 403 not_a_partner, and GET /v1/events/{id} answers
// the partner for its current customer's event and 404 for any other.
import t from 'tap';
import http from 'node:http';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { emitEvent } from '../../api/resources/webhooks/service.ts';
import { linkCustomer, makePartner, revokeCustomer } from '../helpers/partners.ts';

/** The ids of the SSE frames a stream receives (its own connection, closed by the test). */
async function openSse(api: TestApp, key: string, query: string) {
  const request = http.get(`${api.url}/v1/events/stream${query}`, { agent: false, headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' } });
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => request.once('response', resolve).once('error', reject));
  let text = '';
  const ids: string[] = [];
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    text += chunk;
    for (const m of chunk.matchAll(/^id: (\S+)$/gm)) ids.push(m[1]!);
  });
  response.on('error', () => {});
  const waitFor = async (n: number) => {
    const deadline = Date.now() + 5000;
    while (ids.length < n) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} events (got ${ids.length})`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return ids;
  };
  return { status: response.statusCode!, body: () => text, ids, waitFor, close: () => request.destroy() };
}

const emit = (api: TestApp, accountId: string) =>
  api.deps.db.transaction((tx) => emitEvent(api.deps, tx, accountId, 'task.disconnected', {})).then((r) => r.eventId);

t.test('scope customers: the stream and GET /v1/events/{id} give a partner its current customers\' events only', async (t) => {
  const api = await startTestApp(t);
  const partner = await api.signUp({ name: 'MSP' });
  await makePartner(api, partner.accountId);
  const alpha = await api.signUp({ name: 'Alpha' });
  const beta = await api.signUp({ name: 'Beta' });
  const loner = await api.signUp({ name: 'Standard' });
  const rival = await api.signUp({ name: 'Rival MSP' });
  await makePartner(api, rival.accountId);
  const rivalsCustomer = await api.signUp({ name: 'Rival customer' });
  await linkCustomer(api, partner.accountId, alpha.accountId);
  await linkCustomer(api, partner.accountId, beta.accountId);
  await linkCustomer(api, rival.accountId, rivalsCustomer.accountId);

  const stream = await openSse(api, partner.key, '?scope=customers');
  t.teardown(stream.close);
  t.equal(stream.status, 200);
  const alpha1 = await emit(api, alpha.accountId);
  const beta1 = await emit(api, beta.accountId);
  const strangers = [await emit(api, rivalsCustomer.accountId), await emit(api, loner.accountId), await emit(api, partner.accountId)];
  t.same(await stream.waitFor(2), [alpha1, beta1], 'both customers\' events, live');

  // Beta withdraws the partner's access: its next event is not delivered; alpha's still is.
  await revokeCustomer(api, beta.accountId);
  const beta2 = await emit(api, beta.accountId);
  const alpha2 = await emit(api, alpha.accountId);
  t.same(await stream.waitFor(3), [alpha1, beta1, alpha2]);
  await new Promise((r) => setTimeout(r, 300));
  t.same(stream.ids, [alpha1, beta1, alpha2], 'nothing of the revoked customer, another partner\'s customer, a stranger or the partner itself');
  t.match(stream.body(), new RegExp(`id: ${alpha1}\\nevent: task.disconnected\\ndata: \\{"id":"${alpha1}","type":"task.disconnected","created_at":"[^"]+","account_id":"${alpha.accountId}","partner_account_id":"${partner.accountId}"`));

  const get = (key: string, id: string) => api.request('GET', `/v1/events/${id}`, { key });
  const got = await get(partner.key, alpha1);
  t.equal(got.status, 200);
  t.same([got.body.id, got.body.account_id, got.body.partner_account_id], [alpha1, alpha.accountId, partner.accountId]);
  t.equal((await get(partner.key, strangers[2]!)).status, 200, 'its own event still');
  for (const [what, id] of [['another partner\'s customer', strangers[0]], ['a standard account', strangers[1]], ['a revoked customer (before)', beta1], ['a revoked customer (after)', beta2]] as const) {
    const res = await get(partner.key, id!);
    t.equal(res.status, 404, `${what}: 404`);
    t.equal(res.body.code, 'not_found');
  }
  t.equal((await get(rival.key, alpha1)).status, 404, 'another partner gets 404 for this partner\'s customer\'s event');
  t.equal((await get(alpha.key, strangers[2]!)).status, 404, 'a customer does not read its partner\'s events');
  t.equal((await get(alpha.key, alpha1)).status, 200, 'the customer reads its own');
});

t.test('scope customers from a standard account: 403 not_a_partner, on the stream as on the list', async (t) => {
  const api = await startTestApp(t);
  const standard = await api.signUp();
  const res = await api.request('GET', '/v1/events/stream?scope=customers', { key: standard.key, headers: { accept: 'text/event-stream' } });
  t.equal(res.status, 403);
  t.equal(res.body.code, 'not_a_partner');
  t.equal((await api.request('GET', '/v1/events?scope=customers', { key: standard.key })).body.code, 'not_a_partner');
});
