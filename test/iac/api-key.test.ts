// coffer_api_key through plan and apply.
import t from 'tap';
import { adminIac } from '../helpers/iac-admin.ts';

const config = (name: string, scopes: string) => `
resource "coffer_api_key" "ci" {
  name   = "${name}"
  scopes = [${scopes}]
}
output "key" {
  value     = coffer_api_key.ci.secret
  sensitive = true
}
`;

t.test('coffer_api_key: the secret works and stays in state; rename in place; new scopes replace the key; revoked outside', async (t) => {
  const h = await adminIac(t);
  await h.config(config('ci', '"backups:read"'));
  const first = await h.apply();
  t.same(h.actions(first.plan), { 'coffer_api_key.ci': 'create' });
  const state = (await h.stateOf('coffer_api_key.ci'))!;
  t.match(state.secret, /^cfk_/);
  t.equal((await h.api.request('GET', '/v1/tasks', { key: String(state.secret) })).status, 200, 'the key works for its scope');
  t.equal((await h.api.request('GET', '/v1/users', { key: String(state.secret) })).status, 403, 'and only its scope');
  t.same(h.actions(await h.plan()), {}, 'No changes');

  await h.config(config('ci-renamed', '"backups:read"'));
  t.same(h.actions((await h.apply()).plan), { 'coffer_api_key.ci': 'update' });
  const renamed = (await h.stateOf('coffer_api_key.ci'))!;
  t.equal(renamed.id, state.id);
  t.equal(renamed.secret, state.secret, 'the secret survives a rename');

  await h.config(config('ci-renamed', '"backups:read", "activity:read"'));
  t.same(h.actions((await h.apply()).plan), { 'coffer_api_key.ci': 'replace' }, 'scopes force replacement');
  const replaced = (await h.stateOf('coffer_api_key.ci'))!;
  t.not(replaced.id, state.id);
  t.equal((await h.api.request('GET', '/v1/tasks', { key: String(state.secret) })).status, 401, 'the old key is revoked');

  await h.api.request('DELETE', `/v1/api-keys/${replaced.id}`, { key: h.admin.key });
  t.same(h.actions(await h.plan()), { 'coffer_api_key.ci': 'create' }, 'revoked outside: re-created');
  await h.apply();
  const current = String((await h.stateOf('coffer_api_key.ci'))!.id);

  // Import: every attribute but the secret (which the API never shows again) round-trips.
  const read = await h.backend.read();
  const s = read!.state as { serial: number };
  await h.backend.write({ ...s, serial: s.serial + 1, resources: [] }, read!.version);
  await h.import('coffer_api_key.ci', current);
  t.same(h.actions(await h.plan()), {}, 'import then plan: No changes');
  t.equal((await h.stateOf('coffer_api_key.ci'))!.secret, null, 'an imported key has no secret in state');
  await h.destroy();
  t.equal((await h.api.request('GET', `/v1/api-keys/${current}`, { key: h.admin.key })).body.state, 'revoked');
});
