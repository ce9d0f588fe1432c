// coffer_entity through `coffer iac` with the Dropbox emulator: a member adopted by task + email,
// tagged and activated; paused through the API (drift, exit 2); paused by configuration; imported
// by id with an empty plan; released outside the tool (adopted again); destroy releases it to
// not_active. Data sources read during plan.
import t from 'tap';
import { startLiveTeam } from '../helpers/live-team.ts';
import { APP_KEY } from '../helpers/dropbox.ts';
import { iacDir } from '../helpers/iac.ts';

const config = (bob: string) => `
variable "token" {
  type      = string
  sensitive = true
}

resource "coffer_task" "team" {
  name                = "Team"
  refresh_token       = var.token
  wait_for_connection = "60s"
  auto_activate       = false
}

resource "coffer_tag" "vip" {
  name = "vip"
}

resource "coffer_entity" "bob" {
  task_id = coffer_task.team.id
  email   = "bob@team.test"
  tags    = [coffer_tag.vip.id]
  ${bob}
}

data "coffer_regions" "all" {}

output "region_known" {
  value = contains(data.coffer_regions.all.ids, coffer_task.team.region)
}
`;

t.test('coffer_entity: adopt, tag, drift, pause, import, released outside, destroy releases', async (t) => {
  const team = await startLiveTeam(t, {});
  const { api, account } = team;
  const { refreshToken } = team.emu.state.issueTeamTokens(APP_KEY);
  const w = await iacDir(t, api, account.key);
  w.env.COFFER_VAR_token = refreshToken;
  const entity = (id: string) => api.request('GET', `/v1/entities/${id}`, { key: account.key }).then((r) => r.body);
  await w.write({ 'main.tf': config('') });

  const applied = await w.run('apply', '-auto-approve');
  t.equal(applied.code, 0, applied.stderr + applied.stdout);
  t.match(applied.stdout, /region_known = true/);
  const bob = (await w.state()).resources.find((r: { type: string }) => r.type === 'coffer_entity').instances[0].attributes;
  const vip = (await w.state()).resources.find((r: { type: string }) => r.type === 'coffer_tag').instances[0].attributes;
  let now = await entity(bob.id);
  t.equal(now.email, 'bob@team.test');
  t.equal(now.status, 'scheduled', 'activated');
  t.same(now.tags.map((x: { id: string }) => x.id), [vip.id], 'tagged');
  const clean = await w.run('plan', '-detailed-exitcode');
  t.equal(clean.code, 0, clean.stdout);

  // Paused through the API: drift, named.
  await api.request('POST', '/v1/entities/actions', { key: account.key, body: { action: 'pause', entity_ids: [bob.id] } });
  const drift = await w.run('plan', '-detailed-exitcode');
  t.equal(drift.code, 2);
  t.match(drift.stdout, /coffer_entity\.bob will be updated in-place[\s\S]*~ paused += true -> false/);
  t.equal((await w.run('apply', '-auto-approve')).code, 0);
  t.equal((await entity(bob.id)).status, 'scheduled', 'active again');

  // Paused by configuration; a tag removed through the API comes back.
  await w.write({ 'main.tf': config('paused = true') });
  await api.request('POST', '/v1/entities/actions', { key: account.key, body: { action: 'remove_tag', entity_ids: [bob.id], tag_id: vip.id } });
  const pause = await w.run('plan', '-detailed-exitcode');
  t.equal(pause.code, 2);
  t.match(pause.stdout, /~ paused += false -> true/);
  t.match(pause.stdout, /~ tags += \[\] -> \["tag_\w+"\]/);
  t.equal((await w.run('apply', '-auto-approve')).code, 0);
  now = await entity(bob.id);
  t.equal(now.status, 'paused');
  t.same(now.tags.map((x: { id: string }) => x.id), [vip.id]);

  // Import by id → no changes.
  t.equal((await w.run('state', 'rm', 'coffer_entity.bob')).code, 0);
  const imported = await w.run('import', 'coffer_entity.bob', bob.id);
  t.equal(imported.code, 0, imported.stderr);
  const afterImport = await w.run('plan', '-detailed-exitcode');
  t.equal(afterImport.code, 0, afterImport.stdout);

  // Released outside the tool: adopted again.
  await api.request('POST', '/v1/entities/actions', { key: account.key, body: { action: 'deactivate', entity_ids: [bob.id] } });
  const released = await w.run('plan', '-detailed-exitcode');
  t.equal(released.code, 2);
  t.match(released.stdout, /coffer_entity\.bob has been deleted[\s\S]*coffer_entity\.bob will be created/);
  t.equal((await w.run('apply', '-auto-approve')).code, 0);
  t.equal((await entity(bob.id)).status, 'paused', 'adopted again, paused as configured');

  // Destroy releases it (snapshots kept), and removes the task and the tag.
  const destroyed = await w.run('destroy', '-auto-approve');
  t.equal(destroyed.code, 0, destroyed.stderr);
  t.match(destroyed.stdout, /Destroy complete! Resources: 3 destroyed\./);
  now = await entity(bob.id);
  t.equal(now.status, 'not_active');
  t.equal((await api.request('GET', '/v1/tags', { key: account.key })).body.data.length, 0);
});
