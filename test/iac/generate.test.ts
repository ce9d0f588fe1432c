// `coffer iac generate -account`: an account set up by hand (a connected task, its activated
// members, a tag on one of them) becomes configuration in one step: the plan only imports, the
// apply adopts, and the next plan is empty.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startLiveTeam } from '../helpers/live-team.ts';
import { iacDir } from '../helpers/iac.ts';

t.test('generate -account: import blocks for everything, then plan imports only, apply, empty plan', async (t) => {
  const team = await startLiveTeam(t, {});
  const { entityId, taskId } = await team.connect();
  const key = team.account.key;
  const tag = await team.api.request('POST', '/v1/tags', { key, body: { name: 'Finance team' } });
  await team.api.request('POST', '/v1/entities/actions', { key, body: { action: 'add_tag', entity_ids: [entityId], tag_id: tag.body.id } });
  const active = (await team.api.request('GET', '/v1/entities?status=active,paused', { key })).body.data.length;

  const w = await iacDir(t, team.api, key);
  const generated = await w.run('generate', '-account');
  t.equal(generated.code, 0, generated.stderr);
  const text = await readFile(join(w.dir, 'account.tf'), 'utf8');
  t.match(text, new RegExp(`resource "coffer_tag" "finance_team" \\{\\n  name = "Finance team"\\n\\}\\n\\nimport \\{\\n  to = coffer_tag\\.finance_team\\n  id = "${tag.body.id}"\\n\\}`));
  t.match(text, new RegExp(`import \\{\\n  to = coffer_task\\.team\\n  id = "${taskId}"\\n\\}`));
  t.match(text, /resource "coffer_entity" "bob_team_test" \{[\s\S]*email += "bob@team\.test"/);
  t.equal((await w.run('generate', '-account')).code, 1, 'an existing file is not overwritten');

  const plan = await w.run('plan', '-detailed-exitcode');
  t.equal(plan.code, 2, plan.stderr);
  t.match(plan.stdout, new RegExp(`Plan: ${active + 2} to import, 0 to add, 0 to change, 0 to destroy\\.`), 'every object imported, nothing else');
  const applied = await w.run('apply', '-auto-approve');
  t.equal(applied.code, 0, applied.stderr);
  const after = await w.run('plan', '-detailed-exitcode');
  t.equal(after.code, 0, after.stdout);
  t.match(after.stdout, /No changes\./);
});
