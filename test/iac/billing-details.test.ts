// coffer_billing_details through plan and apply; destroy only forgets them (Coffer keeps them).
import t from 'tap';
import { adminIac } from '../helpers/iac-admin.ts';

const config = (city: string) => `
resource "coffer_billing_details" "main" {
  currency       = "USD"
  first_name     = "Bob"
  last_name      = "Smith"
  email          = "bob.smith@pizza.example"
  company_name   = "Pizza Perfecto Ltd"
  company_tax_id = "GB307123080"
  address_line1  = "18 Mozarella Lane"
  country        = "GB"
  city           = "${city}"
  zip            = "N1 7GU"
  phone          = "+44 20 7946 0000"
}
`;

t.test('coffer_billing_details: set, no changes, update in place, drift, import, destroy forgets', async (t) => {
  const h = await adminIac(t);
  await h.config(config('London'));
  t.same(h.actions((await h.apply()).plan), { 'coffer_billing_details.main': 'create' });
  t.match((await h.api.request('GET', '/v1/billing/details', { key: h.admin.key })).body, { city: 'London', company_tax_id: 'GB307123080', address_line2: null });
  t.same(h.actions(await h.plan()), {}, 'No changes');

  await h.config(config('Manchester'));
  t.same(h.actions((await h.apply()).plan), { 'coffer_billing_details.main': 'update' });
  t.equal((await h.api.request('GET', '/v1/billing/details', { key: h.admin.key })).body.city, 'Manchester');

  const current = (await h.api.request('GET', '/v1/billing/details', { key: h.admin.key })).body;
  const { updated_at: _u, ...details } = current;
  await h.api.request('PUT', '/v1/billing/details', { key: h.admin.key, body: { ...details, address_line2: 'Floor 2' } });
  t.same(h.actions(await h.plan()), { 'coffer_billing_details.main': 'update' }, 'a line added outside is drift');
  await h.apply();
  t.equal((await h.api.request('GET', '/v1/billing/details', { key: h.admin.key })).body.address_line2, null, 'and apply clears it again');

  const read = await h.backend.read();
  const s = read!.state as { serial: number };
  await h.backend.write({ ...s, serial: s.serial + 1, resources: [] }, read!.version);
  await h.import('coffer_billing_details.main', 'account');
  t.same(h.actions(await h.plan()), {}, 'import then plan: No changes');

  await h.destroy();
  t.equal((await h.api.request('GET', '/v1/billing/details', { key: h.admin.key })).body.city, 'Manchester', 'destroy only forgets the details');
  t.same((await h.backend.read() as { state: { resources: unknown[] } }).state.resources, []);
});
