// coffer_task through `coffer iac` against a live server and the Dropbox emulator: created with a
// write-only refresh token (never in state or a saved plan) and connected, updated in place,
// drift made through the API, If-Match refusing to overwrite a change made after the plan,
// forced replacement, import with an empty plan, and deletion outside the tool.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startLiveTeam } from '../helpers/live-team.ts';
import { APP_KEY } from '../helpers/dropbox.ts';
import { iacDir } from '../helpers/iac.ts';

const config = (extra: string, plan = 'business') => `
variable "token" {
  type      = string
  sensitive = true
}

resource "coffer_task" "main" {
  name                = "Acme team"
  refresh_token       = var.token
  wait_for_connection = "60s"
  frequency           = "daily"
  retention           = { unit = "days", value = 30 }
  ${extra}
}

resource "coffer_task" "spare" {
  name = "Spare"
  plan = "${plan}"
}

output "status" {
  value = coffer_task.main.connection_status
}
`;

t.test('coffer_task: write-only token, in-place update, drift, If-Match, replacement, import, deletion outside', async (t) => {
  const team = await startLiveTeam(t, {});
  const { api, account } = team;
  const { refreshToken } = team.emu.state.issueTeamTokens(APP_KEY);
  const w = await iacDir(t, api, account.key);
  w.env.COFFER_VAR_token = refreshToken;
  const task = (id: string) => api.request('GET', `/v1/tasks/${id}`, { key: account.key });
  await w.write({ 'main.tf': config('backup_hour = 3') });

  const planned = await w.run('plan', '-out=tfplan');
  t.equal(planned.code, 0, planned.stderr);
  t.notMatch(planned.stdout, /refresh_token +=|wait_for_connection/, 'write-only arguments are not shown');
  t.notOk((await readFile(join(w.dir, 'tfplan'), 'utf8')).includes(refreshToken), 'nor saved in the plan file (nor is the sensitive variable)');
  const applied = await w.run('apply', 'tfplan');
  t.equal(applied.code, 0, applied.stderr);
  t.match(applied.stdout, /status = "connected"/, 'waited for the connection');
  const stateText = await readFile(join(w.dir, 'coffer.tfstate'), 'utf8');
  t.notOk(stateText.includes(refreshToken), 'the token is never in the state');
  const main = (await w.state()).resources.find((r: { name: string }) => r.name === 'main').instances[0].attributes;
  t.equal(main.connection_status, 'connected');
  t.equal(main.dropbox_team_name !== undefined, true);
  t.same([main.frequency, main.backup_hour, main.retention], ['daily', 3, { unit: 'days', value: 30 }]);
  t.equal((await w.run('plan', '-detailed-exitcode')).code, 0, 'then no changes');

  // Update in place.
  await w.write({ 'main.tf': config('backup_hour = 5') });
  const update = await w.run('plan', '-detailed-exitcode');
  t.equal(update.code, 2);
  t.match(update.stdout, /coffer_task\.main will be updated in-place[\s\S]*~ backup_hour += 3 -> 5/);
  t.equal((await w.run('apply', '-auto-approve')).code, 0);
  t.equal((await task(main.id)).body.backup_hour, 5, 'same task, new hour');

  // Drift through the API: named, exit 2.
  await api.request('PATCH', `/v1/tasks/${main.id}`, { key: account.key, body: { frequency: 'weekly', auto_activate: false } });
  const drift = await w.run('plan', '-detailed-exitcode');
  t.equal(drift.code, 2);
  t.match(drift.stdout, /~ frequency += "weekly" -> "daily"/);
  t.match(drift.stdout, /# coffer_task\.main has changed\n.*~ auto_activate = true -> false/, 'the note shows every change made outside');
  t.notMatch(drift.stdout, /will be updated in-place[\s\S]*~ auto_activate/, 'but an argument the configuration leaves to Coffer is not fought over');

  // If-Match: a change made after the plan is not overwritten by applying it.
  t.equal((await w.run('plan', '-out=fix')).code, 0);
  await api.request('PATCH', `/v1/tasks/${main.id}`, { key: account.key, body: { frequency: 'every_3_days' } });
  const conflict = await w.run('apply', 'fix');
  t.equal(conflict.code, 1);
  t.match(conflict.stderr, /coffer_task\.main: .*(412|changed|precondition)/i);
  t.equal((await task(main.id)).body.frequency, 'every_3_days', 'nothing overwritten');
  t.equal((await w.run('apply', '-auto-approve')).code, 0, 'a new plan converges');
  t.equal((await task(main.id)).body.frequency, 'daily');

  // Forced replacement.
  const spareId = (await w.state()).resources.find((r: { name: string }) => r.name === 'spare').instances[0].attributes.id;
  await w.write({ 'main.tf': config('backup_hour = 5', 'professional') });
  const replace = await w.run('plan', '-detailed-exitcode');
  t.equal(replace.code, 2);
  t.match(replace.stdout, /# coffer_task\.spare must be replaced\n-\/\+ resource "coffer_task" "spare" \{[\s\S]*~ plan += "business" -> "professional" # forces replacement/);
  t.match(replace.stdout, /Plan: 1 to add, 0 to change, 1 to destroy\./);
  t.equal((await w.run('apply', '-auto-approve')).code, 0);
  const newSpare = (await w.state()).resources.find((r: { name: string }) => r.name === 'spare').instances[0].attributes;
  t.not(newSpare.id, spareId);
  t.equal(newSpare.plan, 'professional');
  t.equal((await task(spareId)).body.state ?? 'gone', 'deleted', 'the old task is deleted (grace period)');

  // Import then an empty plan.
  t.equal((await w.run('state', 'rm', 'coffer_task.main')).code, 0);
  const imported = await w.run('import', 'coffer_task.main', main.id);
  t.equal(imported.code, 0, imported.stderr);
  const afterImport = await w.run('plan', '-detailed-exitcode');
  t.equal(afterImport.code, 0, afterImport.stdout);

  // Deleted outside the tool → created again.
  await api.request('DELETE', `/v1/tasks/${newSpare.id}`, { key: account.key });
  const gone = await w.run('plan', '-detailed-exitcode');
  t.equal(gone.code, 2);
  t.match(gone.stdout, /coffer_task\.spare has been deleted[\s\S]*coffer_task\.spare will be created/);
});
