// coffer_webhook_endpoint through plan and apply.
import t from 'tap';
import { adminIac } from '../helpers/iac-admin.ts';

const config = (events: string, enabled = true) => `
resource "coffer_webhook_endpoint" "hooks" {
  url         = "https://hooks.example.com/coffer"
  events      = [${events}]
  description = "Pager"
  enabled     = ${enabled}
}
`;

t.test('coffer_webhook_endpoint: the signing secret is kept sensitive from create; update in place; drift; deleted outside; import', async (t) => {
  const h = await adminIac(t);
  await h.config(config('"backup.run_failed", "job.state_changed"'));
  const first = await h.apply();
  t.same(h.actions(first.plan), { 'coffer_webhook_endpoint.hooks': 'create' });
  const state = (await h.stateOf('coffer_webhook_endpoint.hooks'))!;
  t.match(state.secret, /^whsec_/, 'the secret shown once is in state');
  t.equal(state.secret_hint, String(state.secret).slice(-4));
  t.same(h.actions(await h.plan()), {}, 'No changes');

  await h.config(config('"backup.run_failed", "job.state_changed", "ping"', false));
  t.same(h.actions((await h.apply()).plan), { 'coffer_webhook_endpoint.hooks': 'update' });
  const id = String(state.id);
  const after = await h.api.request('GET', `/v1/webhooks/${id}`, { key: h.admin.key });
  t.same([...after.body.events].sort(), ['backup.run_failed', 'job.state_changed', 'ping']);
  t.equal(after.body.enabled, false);
  t.equal((await h.stateOf('coffer_webhook_endpoint.hooks'))!.secret, state.secret, 'the secret survives an update');

  await h.api.request('PATCH', `/v1/webhooks/${id}`, { key: h.admin.key, body: { url: 'https://evil.example.com/x' } });
  const drift = await h.plan();
  t.same(h.actions(drift), { 'coffer_webhook_endpoint.hooks': 'update' }, 'a URL changed outside is drift');
  await h.apply();
  t.equal((await h.api.request('GET', `/v1/webhooks/${id}`, { key: h.admin.key })).body.url, 'https://hooks.example.com/coffer');

  await h.api.request('DELETE', `/v1/webhooks/${id}`, { key: h.admin.key });
  t.same(h.actions(await h.plan()), { 'coffer_webhook_endpoint.hooks': 'create' }, 'deleted outside: re-created');
  await h.apply();
  const again = String((await h.stateOf('coffer_webhook_endpoint.hooks'))!.id);

  const read = await h.backend.read();
  const s = read!.state as { serial: number };
  await h.backend.write({ ...s, serial: s.serial + 1, resources: [] }, read!.version);
  await h.import('coffer_webhook_endpoint.hooks', again);
  t.same(h.actions(await h.plan()), {}, 'import then plan: No changes');
  await h.destroy();
  t.equal((await h.api.request('GET', `/v1/webhooks/${again}`, { key: h.admin.key })).status, 404);
});
