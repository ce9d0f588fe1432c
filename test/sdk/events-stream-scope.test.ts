// coffer.events.stream({ scope: 'customers' }): a partner's SDK stream carries its customer's
// events (the query reaches the server; without it the partner's stream is of its own account).
import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { emitEvent } from '../../api/resources/webhooks/service.ts';
import { linkCustomer, makePartner } from '../helpers/partners.ts';
import { Coffer } from '../../sdk/client.ts';

t.test('coffer.events.stream({ scope: customers }) gives a partner its customer\'s events', async (t) => {
  const api = await startTestApp(t);
  const partner = await api.signUp({ name: 'MSP' });
  await makePartner(api, partner.accountId);
  const alpha = await api.signUp({ name: 'Alpha' });
  await linkCustomer(api, partner.accountId, alpha.accountId);
  // fetch's pool may keep a connection the server's close would wait on: drop it (as listen.test.ts).
  t.teardown(async () => {
    const closing = api.app.close();
    await new Promise((r) => setTimeout(r, 200));
    api.app.server.closeAllConnections();
    await closing;
  });
  const coffer = new Coffer({ baseUrl: api.url, apiKey: partner.key });
  const controller = new AbortController();
  t.teardown(() => controller.abort());
  let opened = false;
  const got: { id: string; account_id: string }[] = [];
  const reading = (async () => {
    for await (const e of coffer.events.stream({ scope: 'customers', signal: controller.signal, onOpen: () => void (opened = true) })) {
      got.push({ id: e.id, account_id: e.event.account_id });
      controller.abort();
    }
  })();
  const deadline = Date.now() + 5000;
  while (!opened && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const { eventId } = await api.deps.db.transaction((tx) => emitEvent(api.deps, tx, alpha.accountId, 'task.disconnected', {}));
  const timeout = setTimeout(() => controller.abort(), 5000);
  await reading;
  clearTimeout(timeout);
  t.same(got, [{ id: eventId, account_id: alpha.accountId }]);
});
