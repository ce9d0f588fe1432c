// coffer_user through plan and apply.
import t from 'tap';
import { adminIac } from '../helpers/iac-admin.ts';

const config = (email: string, role: string, permissions: string) => `
resource "coffer_user" "auditor" {
  email       = "${email}"
  name        = "Audrey"
  role        = "${role}"
  permissions = [${permissions}]
}
`;

t.test('coffer_user: invite, update in place, a new email replaces the user, drift, deleted outside, import', async (t) => {
  const h = await adminIac(t);
  await h.config(config('audrey@example.com', 'custom', '"backups:read", "activity:read"'));
  t.same(h.actions((await h.apply()).plan), { 'coffer_user.auditor': 'create' });
  const id = String((await h.stateOf('coffer_user.auditor'))!.id);
  const user = await h.api.request('GET', `/v1/users/${id}`, { key: h.admin.key });
  t.match(user.body, { email: 'audrey@example.com', name: 'Audrey', role: 'custom', state: 'invited' });
  t.same([...user.body.permissions].sort(), ['activity:read', 'backups:read']);
  t.same(h.actions(await h.plan()), {}, 'No changes');

  await h.config(config('audrey@example.com', 'custom', '"backups:read"'));
  t.same(h.actions((await h.apply()).plan), { 'coffer_user.auditor': 'update' });
  t.same((await h.api.request('GET', `/v1/users/${id}`, { key: h.admin.key })).body.permissions, ['backups:read']);

  await h.api.request('PATCH', `/v1/users/${id}`, { key: h.admin.key, body: { permissions: ['backups:read', 'users:manage'] } });
  t.same(h.actions(await h.plan()), { 'coffer_user.auditor': 'update' }, 'a permission granted outside the tool is drift');
  await h.apply();
  t.same((await h.api.request('GET', `/v1/users/${id}`, { key: h.admin.key })).body.permissions, ['backups:read']);

  await h.config(config('audrey.new@example.com', 'custom', '"backups:read"'));
  const replaced = await h.apply();
  t.same(h.actions(replaced.plan), { 'coffer_user.auditor': 'replace' }, 'the email forces replacement');
  t.equal((await h.api.request('GET', `/v1/users/${id}`, { key: h.admin.key })).status, 404, 'the old user is gone');
  const newId = String((await h.stateOf('coffer_user.auditor'))!.id);

  await h.api.request('DELETE', `/v1/users/${newId}`, { key: h.admin.key });
  t.same(h.actions(await h.plan()), { 'coffer_user.auditor': 'create' }, 'deleted outside: re-created');
  await h.apply();
  const third = String((await h.stateOf('coffer_user.auditor'))!.id);

  const read = await h.backend.read();
  const s = read!.state as { serial: number };
  await h.backend.write({ ...s, serial: s.serial + 1, resources: [] }, read!.version);
  await h.import('coffer_user.auditor', third);
  t.same(h.actions(await h.plan()), {}, 'import then plan: No changes');
  await h.destroy();
  t.equal((await h.api.request('GET', `/v1/users/${third}`, { key: h.admin.key })).status, 404);
});
