// coffer_notification_recipient through plan and apply: create, update in place, drift, deletion
// outside the tool, import round-trip, destroy.
import t from 'tap';
import { adminIac } from '../helpers/iac-admin.ts';

const config = (name: string, types: string) => `
resource "coffer_notification_recipient" "ops" {
  email        = "ops@example.com"
  display_name = "${name}"
  types        = [${types}]
}
`;

t.test('coffer_notification_recipient: create, no changes, update in place, drift, deleted outside, import, destroy', async (t) => {
  const h = await adminIac(t);
  await h.config(config('Ops', '"exceptions", "recovery"'));
  const first = await h.apply();
  t.same(h.actions(first.plan), { 'coffer_notification_recipient.ops': 'create' });
  const id = String((await h.stateOf('coffer_notification_recipient.ops'))!.id);
  const created = await h.api.request('GET', `/v1/notifications/recipients/${id}`, { key: h.admin.key });
  t.match(created.body, { email: 'ops@example.com', display_name: 'Ops' });
  t.same([...created.body.types].sort(), ['exceptions', 'recovery']);
  t.same(h.actions(await h.plan()), {}, 'No changes after apply (set order does not matter)');

  await h.config(config('Operations', '"recovery", "exceptions", "smart_alerts"'));
  const second = await h.apply();
  t.same(h.actions(second.plan), { 'coffer_notification_recipient.ops': 'update' });
  const updated = await h.api.request('GET', `/v1/notifications/recipients/${id}`, { key: h.admin.key });
  t.match(updated.body, { id, display_name: 'Operations' });
  t.same([...updated.body.types].sort(), ['exceptions', 'recovery', 'smart_alerts']);

  // Drift: someone changes it through the API; plan sees it and apply puts it back.
  await h.api.request('PATCH', `/v1/notifications/recipients/${id}`, { key: h.admin.key, body: { display_name: 'Changed by hand' } });
  const drifted = await h.plan();
  t.same(h.actions(drifted), { 'coffer_notification_recipient.ops': 'update' }, 'drift is an update');
  await h.apply();
  t.equal((await h.api.request('GET', `/v1/notifications/recipients/${id}`, { key: h.admin.key })).body.display_name, 'Operations');

  // Deleted outside the tool: read is null, plan re-creates it.
  t.equal((await h.api.request('DELETE', `/v1/notifications/recipients/${id}`, { key: h.admin.key })).status, 204);
  t.same(h.actions(await h.plan()), { 'coffer_notification_recipient.ops': 'create' });
  await h.apply();
  const recreated = String((await h.stateOf('coffer_notification_recipient.ops'))!.id);
  t.not(recreated, id);

  // Import round-trip: forget it, import it, and the plan shows no changes.
  const read = await h.backend.read();
  const state = read!.state as { serial: number; resources: unknown[] };
  await h.backend.write({ ...state, serial: state.serial + 1, resources: [] }, read!.version);
  await h.import('coffer_notification_recipient.ops', recreated);
  t.same(h.actions(await h.plan()), {}, 'import then plan: No changes');

  const gone = await h.destroy();
  t.same(h.actions(gone.plan), { 'coffer_notification_recipient.ops': 'delete' });
  t.equal((await h.api.request('GET', `/v1/notifications/recipients/${recreated}`, { key: h.admin.key })).status, 404);
});
