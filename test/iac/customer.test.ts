// coffer_customer through `coffer iac` against a live server: a partner creates two customers with
// for_each, a second configuration with the provider's `account = <customer id>` creates a tag in
// one of them (and nowhere else), plans again with no changes, drift of a rename made through the
// API (exit 2), import then an empty plan, a region change forcing replacement, and destroy (the
// customers enter their removal grace period); admin_email invited on create and forcing replacement.
import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { iacDir } from '../helpers/iac.ts';
import { signUpPartner } from '../helpers/partners.ts';

const customers = `
resource "coffer_customer" "clinic" {
  for_each = toset(["north", "south"])
  name     = "Clinic \${each.key}"
  region   = "eu-west-1"
  billing  = "partner"
}

output "ids" {
  value = { for k, v in coffer_customer.clinic : k => v.id }
}
`;

const inCustomer = (account: string) => `
provider "coffer" {
  account = "${account}"
}

resource "coffer_tag" "managed" {
  name = "managed-by-msp"
}
`;

t.test('coffer_customer: for_each customers, a configuration acting in one, drift, import and destroy', async (t) => {
  const api = await startTestApp(t);
  const partner = await signUpPartner(api);
  const get = (path: string, account?: string) => api.request('GET', path, { key: partner.key, ...(account ? { headers: { 'coffer-account': account } } : {}) });
  const w = await iacDir(t, api, partner.key);
  await w.write({ 'main.tf': customers });

  const applied = await w.run('apply', '-auto-approve');
  t.equal(applied.code, 0, applied.stderr);
  t.match(applied.stdout, /Apply complete! Resources: 2 added, 0 changed, 0 destroyed\./);
  const instances = (await w.state()).resources[0].instances;
  const ids: Record<string, string> = Object.fromEntries(instances.map((i: { index_key: string; attributes: { id: string } }) => [i.index_key, i.attributes.id]));
  const listed = (await get('/v1/customers?limit=10')).body.data.map((c: { id: string; name: string; billing: string }) => [c.id, c.name, c.billing]).sort();
  t.same(listed, [[ids.north, 'Clinic north', 'partner'], [ids.south, 'Clinic south', 'partner']].sort(), 'two customers of this partner');
  const own = (await api.request('GET', '/v1/account', { key: partner.key })).body.email;
  t.equal(instances[0].attributes.email, own);
  t.equal(instances[0].attributes.admin_email, instances[0].attributes.email, 'no administrator invited: the account keeps the partner\'s address');

  const again = await w.run('plan', '-detailed-exitcode');
  t.equal(again.code, 0, again.stdout + again.stderr);
  t.match(again.stdout, /No changes\./);

  // A second configuration acts in the north customer through the provider's account argument.
  const inside = await iacDir(t, api, partner.key);
  await inside.write({ 'main.tf': inCustomer(ids.north!) });
  const tagged = await inside.run('apply', '-auto-approve');
  t.equal(tagged.code, 0, tagged.stderr);
  const tagNames = async (account?: string) => (await get('/v1/tags?limit=10', account)).body.data.map((x: { name: string }) => x.name);
  t.same(await tagNames(ids.north), ['managed-by-msp'], 'the tag is in the customer named by account');
  t.same(await tagNames(ids.south), [], 'not in the other customer');
  t.same(await tagNames(), [], 'not in the partner\'s own account');
  const insidePlan = await inside.run('plan', '-detailed-exitcode');
  t.equal(insidePlan.code, 0, insidePlan.stdout + insidePlan.stderr);
  t.match(insidePlan.stdout, /No changes\./);
  t.equal((await inside.run('destroy', '-auto-approve')).code, 0);
  t.same(await tagNames(ids.north), []);

  // Drift: renamed through the API → exit 2 naming it; apply puts the name back, same customer.
  await api.request('PATCH', `/v1/customers/${ids.south}`, { key: partner.key, body: { name: 'Renamed' } });
  const drift = await w.run('plan', '-detailed-exitcode');
  t.equal(drift.code, 2, drift.stderr);
  t.match(drift.stdout, /# coffer_customer\.clinic\["south"\] will be updated in-place\n[^]*~ name += "Renamed" -> "Clinic south"/);
  t.match(drift.stdout, /Plan: 0 to add, 1 to change, 0 to destroy\./);
  t.equal((await w.run('apply', '-auto-approve')).code, 0);
  t.equal((await get(`/v1/customers/${ids.south}`)).body.name, 'Clinic south');

  // Import into a fresh state, then an empty plan.
  const adopted = await iacDir(t, api, partner.key);
  await adopted.write({ 'main.tf': `
resource "coffer_customer" "one" {
  name    = "Clinic north"
  region  = "eu-west-1"
  billing = "partner"
}
` });
  const imported = await adopted.run('import', 'coffer_customer.one', ids.north!);
  t.equal(imported.code, 0, imported.stderr);
  const adoptedPlan = await adopted.run('plan', '-detailed-exitcode');
  t.equal(adoptedPlan.code, 0, adoptedPlan.stdout + adoptedPlan.stderr);
  t.match(adoptedPlan.stdout, /No changes\./);

  // The region cannot change through the API: a change plans a replacement.
  await adopted.write({ 'main.tf': `
resource "coffer_customer" "one" {
  name    = "Clinic north"
  region  = "us-east-1"
  billing = "partner"
}
` });
  const moved = await adopted.run('plan', '-detailed-exitcode');
  t.equal(moved.code, 2, moved.stderr);
  t.match(moved.stdout, /~ region += "eu-west-1" -> "us-east-1" # forces replacement/);
  t.match(moved.stdout, /Plan: 1 to add, 0 to change, 1 to destroy\./);

  // Destroy removes both customers: each enters the grace period, then reads as gone.
  const destroyed = await w.run('destroy', '-auto-approve');
  t.equal(destroyed.code, 0, destroyed.stderr);
  t.match(destroyed.stdout, /Destroy complete! Resources: 2 destroyed\./);
  for (const id of Object.values(ids)) t.not((await get(`/v1/customers/${id}`)).body.purge_time, null, `${id} is being removed`);
  const stale = await adopted.run('plan', '-detailed-exitcode');
  t.match(stale.stdout, /# coffer_customer\.one has been deleted/, 'a customer being removed reads as gone');
});

t.test('coffer_customer admin_email: invited by the create call, kept in state, a change forces replacement', async (t) => {
  const api = await startTestApp(t);
  const partner = await signUpPartner(api);
  const w = await iacDir(t, api, partner.key);
  const block = (email: string) => `
resource "coffer_customer" "one" {
  name        = "Clinic"
  region      = "eu-west-1"
  billing     = "direct"
  admin_email = "${email}"
}
`;
  await w.write({ 'main.tf': block('admin@clinic.test') });
  const applied = await w.run('apply', '-auto-approve');
  t.equal(applied.code, 0, applied.stderr);
  const attributes = (await w.state()).resources[0].instances[0].attributes;
  t.same([attributes.admin_email, attributes.email, attributes.billing], ['admin@clinic.test', 'admin@clinic.test', 'direct']);
  const users = await api.request('GET', '/v1/users?limit=10', { key: partner.key, headers: { 'coffer-account': attributes.id } });
  t.ok(users.body.data.some((u: { email: string }) => u.email === 'admin@clinic.test'), 'the administrator is invited in the customer');
  const again = await w.run('plan', '-detailed-exitcode');
  t.equal(again.code, 0, again.stdout + again.stderr);

  await w.write({ 'main.tf': block('other@clinic.test') });
  const changed = await w.run('plan', '-detailed-exitcode');
  t.equal(changed.code, 2, changed.stderr);
  t.match(changed.stdout, /~ admin_email += "admin@clinic\.test" -> "other@clinic\.test" # forces replacement/);
  t.match(changed.stdout, /Plan: 1 to add, 0 to change, 1 to destroy\./);
});
