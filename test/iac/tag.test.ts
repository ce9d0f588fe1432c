// coffer_tag through `coffer iac` against a live server: create, update in place, import then an
// empty plan, drift made through the API (exit 2 naming it), deletion outside the tool (re-created),
// for_each, -json, a saved plan refused once the state moved, and destroy.
import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { iacDir } from '../helpers/iac.ts';

const config = (names: string) => `
variable "names" {
  type    = set(string)
  default = ${names}
}

resource "coffer_tag" "team" {
  for_each = var.names
  name     = "team-\${each.key}"
}

resource "coffer_tag" "all" {
  name = join("+", [for k in sort_keys(var.names) : coffer_tag.team[k].name])
}

output "ids" {
  value = { for k, v in coffer_tag.team : k => v.id }
}
`.replace('sort_keys(var.names)', 'var.names');

t.test('coffer_tag: create, update in place, drift, deletion outside, import, saved plans and destroy', async (t) => {
  const api = await startTestApp(t);
  const account = await api.signUp();
  const w = await iacDir(t, api, account.key);
  const tags = async () => (await api.request('GET', '/v1/tags?limit=100', { key: account.key })).body.data.map((x: { name: string }) => x.name).sort();
  await w.write({ 'main.tf': config('["ops", "legal"]') });

  const first = await w.run('plan', '-detailed-exitcode');
  t.equal(first.code, 2, 'changes: exit 2');
  t.match(first.stdout, /# coffer_tag\.team\["ops"\] will be created\n  \+ resource "coffer_tag" "team" \{\n      \+ id +\= \(known after apply\)\n      \+ name +\= "team-ops"/);
  t.match(first.stdout, /# coffer_tag\.all will be created\n.*\n +\+ id += \(known after apply\)\n +\+ name += "team-legal\+team-ops"/, 'names known from configuration, ids only after apply');
  t.match(first.stdout, /Plan: 3 to add, 0 to change, 0 to destroy\./);

  const applied = await w.run('apply', '-auto-approve');
  t.equal(applied.code, 0, applied.stderr);
  t.match(applied.stdout, /Apply complete! Resources: 3 added, 0 changed, 0 destroyed\./);
  t.same(await tags(), ['team-legal', 'team-ops', 'team-legal+team-ops'].sort());
  const state = await w.state();
  t.equal(state.serial > 0, true);
  t.same(state.resources.map((r: { name: string; instances: unknown[] }) => [r.name, r.instances.length]), [['all', 1], ['team', 2]]);
  t.same(state.pending_creates, [], 'no create left pending');

  const again = await w.run('plan', '-detailed-exitcode');
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, /No changes\./);

  // Drift: renamed through the API → named in the plan, exit 2; apply puts it back.
  const opsId = state.resources.find((r: { name: string }) => r.name === 'team').instances.find((i: { index_key: string }) => i.index_key === 'ops').attributes.id;
  await api.request('PATCH', `/v1/tags/${opsId}`, { key: account.key, body: { name: 'renamed' } });
  const drift = await w.run('plan', '-detailed-exitcode');
  t.equal(drift.code, 2);
  t.match(drift.stdout, /# coffer_tag\.team\["ops"\] has changed\n +~ name += "team-ops" -> "renamed"/, 'the note names what changed outside');
  t.match(drift.stdout, /# coffer_tag\.team\["ops"\] will be updated in-place\n  ~ resource "coffer_tag" "team" \{\n +id += "tag_\w+"\n +~ name += "renamed" -> "team-ops"/);
  t.match(drift.stdout, /Plan: 0 to add, 1 to change, 0 to destroy\./);
  t.equal((await w.run('apply', '-auto-approve')).code, 0);
  t.equal((await api.request('GET', `/v1/tags/${opsId}`, { key: account.key })).body.name, 'team-ops', 'updated in place: same id');

  // Deleted outside the tool → the plan re-creates it.
  await api.request('DELETE', `/v1/tags/${opsId}`, { key: account.key });
  const gone = await w.run('plan', '-detailed-exitcode');
  t.equal(gone.code, 2);
  t.match(gone.stdout, /# coffer_tag\.team\["ops"\] has been deleted/);
  t.match(gone.stdout, /# coffer_tag\.team\["ops"\] will be created\n  # \(because deleted outside Coffer IaC\)/);
  t.equal((await w.run('apply', '-auto-approve')).code, 0);
  t.same(await tags(), ['team-legal', 'team-ops', 'team-legal+team-ops'].sort());

  // A saved plan applies exactly; once the state moved it is refused.
  await w.write({ 'main.tf': config('["ops", "legal", "sales"]') });
  const saved = await w.run('plan', '-out=tfplan', '-detailed-exitcode');
  t.equal(saved.code, 2);
  t.match(saved.stdout, /Plan: 1 to add, 1 to change, 0 to destroy\./, 'a new tag, and the combined name changes');
  const json = await w.run('show', '-json', `${w.dir}/tfplan`);
  const doc = JSON.parse(json.stdout);
  t.same(doc.resource_changes.filter((c: any) => c.change.actions[0] !== 'no-op').map((c: any) => [c.address, c.change.actions]), [['coffer_tag.all', ['update']], ['coffer_tag.team["sales"]', ['create']]]);
  t.same(doc.summary, { import: 0, add: 1, change: 1, destroy: 0 });
  const other = await w.run('plan', '-out=stale', '-destroy');
  t.equal(other.code, 0);
  t.equal((await w.run('apply', `${w.dir}/tfplan`)).code, 0, 'apply FILE without asking');
  const stale = await w.run('apply', `${w.dir}/stale`);
  t.equal(stale.code, 1);
  t.match(stale.stderr, /the saved plan is stale: it was made from state serial \d+ .*make a new plan/);
  t.same(await tags(), ['team-legal', 'team-ops', 'team-sales', 'team-legal+team-ops+team-sales'].sort(), 'the stale destroy plan destroyed nothing');

  // Import: forget one, adopt it again by id → the plan is empty.
  const legalId = (await w.state()).resources.find((r: { name: string }) => r.name === 'team').instances.find((i: { index_key: string }) => i.index_key === 'legal').attributes.id;
  t.equal((await w.run('state', 'rm', 'coffer_tag.team["legal"]')).code, 0);
  t.match((await w.run('state', 'list')).stdout, /^coffer_tag\.all\ncoffer_tag\.team\["ops"\]\ncoffer_tag\.team\["sales"\]\n$/);
  const imported = await w.run('import', 'coffer_tag.team["legal"]', legalId);
  t.equal(imported.code, 0, imported.stderr);
  const afterImport = await w.run('plan', '-detailed-exitcode');
  t.equal(afterImport.code, 0, 'import then plan: no changes');
  t.match(afterImport.stdout, /No changes\./);

  const outputs = await w.run('output', '-json');
  t.same(Object.keys(JSON.parse(outputs.stdout).ids.value).sort(), ['legal', 'ops', 'sales']);

  // Destroy without -auto-approve asks; anything but "yes" cancels.
  const refused = await w.run('destroy');
  t.equal(refused.code, 1);
  t.match(refused.stderr, /Apply cancelled/);
  const destroyed = await w.run('destroy', '-auto-approve');
  t.equal(destroyed.code, 0, destroyed.stderr);
  t.match(destroyed.stdout, /Destroy complete! Resources: 4 destroyed\./);
  t.same(await tags(), []);
  t.same((await w.state()).resources, []);
});
