// coffer_ip_allowlist_entry and coffer_ip_allowlist (the switch) through plan and apply, and the
// lock-out the API and the tool both refuse.
import t from 'tap';
import { adminIac } from '../helpers/iac-admin.ts';

const config = (cidr: string, description: string, enabled: boolean) => `
resource "coffer_ip_allowlist_entry" "office" {
  description = "${description}"
  cidr        = "${cidr}"
}
resource "coffer_ip_allowlist_entry" "vpn" {
  range = { from = "198.51.100.10", to = "198.51.100.20" }
}
resource "coffer_ip_allowlist" "main" {
  enabled    = ${enabled}
  depends_on = [coffer_ip_allowlist_entry.office, coffer_ip_allowlist_entry.vpn]
}
`;

t.test('the allowlist: entries first, then the switch; update in place; drift; destroy switches off before removing entries', async (t) => {
  const h = await adminIac(t);
  await h.config(config('127.0.0.0/8', 'Office', true));
  const first = await h.apply();
  t.same(h.actions(first.plan), { 'coffer_ip_allowlist_entry.office': 'create', 'coffer_ip_allowlist_entry.vpn': 'create', 'coffer_ip_allowlist.main': 'create' });
  const allowlist = await h.api.request('GET', '/v1/ip-allowlist', { key: h.admin.key });
  t.match(allowlist.body, { enabled: true, entries: 2 });
  t.same(h.actions(await h.plan()), {}, 'No changes');

  await h.config(config('127.0.0.0/16', 'Head office', true));
  t.same(h.actions((await h.apply()).plan), { 'coffer_ip_allowlist_entry.office': 'update' });
  const id = String((await h.stateOf('coffer_ip_allowlist_entry.office'))!.id);
  t.match((await h.api.request('GET', `/v1/ip-allowlist/entries/${id}`, { key: h.admin.key })).body, { cidr: '127.0.0.0/16', description: 'Head office' });

  await h.api.request('PATCH', '/v1/ip-allowlist', { key: h.admin.key, body: { enabled: false } });
  t.same(h.actions(await h.plan()), { 'coffer_ip_allowlist.main': 'update' }, 'switched off outside the tool: drift');
  await h.apply();
  t.equal((await h.api.request('GET', '/v1/ip-allowlist', { key: h.admin.key })).body.enabled, true);

  const read = await h.backend.read();
  const s = read!.state as { serial: number; resources: { type: string }[] };
  await h.backend.write({ ...s, serial: s.serial + 1, resources: s.resources.filter((r) => r.type !== 'coffer_ip_allowlist_entry') }, read!.version);
  await h.import('coffer_ip_allowlist_entry.office', id);
  await h.import('coffer_ip_allowlist_entry.vpn', String((await h.api.request('GET', '/v1/ip-allowlist/entries', { key: h.admin.key })).body.data.find((e: { kind: string }) => e.kind === 'range').id));
  t.same(h.actions(await h.plan()), {}, 'import then plan: No changes');

  const gone = await h.destroy();
  t.same(gone.applied.map((a) => a.address)[0], 'coffer_ip_allowlist.main', 'the switch goes first');
  t.match((await h.api.request('GET', '/v1/ip-allowlist', { key: h.admin.key })).body, { enabled: false, entries: 0 });
});

t.test('lock-out: enabling the switch when the tool\'s own address is not trusted is refused, and nothing is switched on', async (t) => {
  const h = await adminIac(t);
  await h.config(`
resource "coffer_ip_allowlist_entry" "office" {
  cidr = "203.0.113.0/24"
}
resource "coffer_ip_allowlist" "main" {
  enabled    = true
  depends_on = [coffer_ip_allowlist_entry.office]
}
`);
  await t.rejects(h.apply(), /refusing to enable IP restrictions: .*would lock you out.*Add a coffer_ip_allowlist_entry that covers the address/s);
  t.equal((await h.api.request('GET', '/v1/ip-allowlist', { key: h.admin.key })).body.enabled, false, 'the API still answers: nothing was switched on');
  t.ok(await h.stateOf('coffer_ip_allowlist_entry.office'), 'what was done (the entry) is in state');
  t.notOk(await h.stateOf('coffer_ip_allowlist.main'));
});
