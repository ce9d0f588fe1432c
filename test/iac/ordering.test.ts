// Order of work in apply: -parallelism=1 runs one change at a time; create_before_destroy makes
// the replacement before removing the object it replaces; destroy runs dependents first.
import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { dropboxConfig, startDropbox } from '../helpers/dropbox.ts';
import { iacDir } from '../helpers/iac.ts';

const lines = (out: string) => out.split('\n').filter((l) => /: (Creat|Destroy|Modif)/.test(l)).map((l) => l.replace(/ after [\d.]+s/, '').replace(/\[id=\w+\]/, '[id]'));

t.test('-parallelism=1, create_before_destroy, and destroy in reverse dependency order', async (t) => {
  const emu = await startDropbox(t);
  const api = await startTestApp(t, { config: dropboxConfig(emu) });
  const account = await api.signUp();
  const w = await iacDir(t, api, account.key);
  const config = (plan: string) => `
resource "coffer_tag" "a" {
  name = "a"
}

resource "coffer_tag" "b" {
  name = "b"
}

resource "coffer_task" "t" {
  name = "Team \${coffer_tag.a.name}"
  plan = "${plan}"
  lifecycle {
    create_before_destroy = true
  }
}
`;
  await w.write({ 'main.tf': config('business') });
  const serial = await w.run('apply', '-auto-approve', '-parallelism=1');
  t.equal(serial.code, 0, serial.stderr);
  t.same(lines(serial.stdout), [
    'coffer_tag.a: Creating...', 'coffer_tag.a: Creation complete [id]',
    'coffer_tag.b: Creating...', 'coffer_tag.b: Creation complete [id]',
    'coffer_task.t: Creating...', 'coffer_task.t: Creation complete [id]',
  ], 'one change at a time, dependencies first');

  const oldId = (await w.state()).resources.find((r: { type: string }) => r.type === 'coffer_task').instances[0].attributes.id;
  await w.write({ 'main.tf': config('professional') });
  const replaced = await w.run('apply', '-auto-approve');
  t.equal(replaced.code, 0, replaced.stderr);
  t.same(lines(replaced.stdout), ['coffer_task.t: Creating replacement...', 'coffer_task.t: Destroying the previous object... [id]'], 'the new task first, then the old one goes');
  const tasks = (await api.request('GET', '/v1/tasks', { key: account.key })).body.data;
  t.equal(tasks.length, 1);
  t.not(tasks[0].id, oldId);
  t.equal(tasks[0].plan, 'professional');

  const destroyed = await w.run('destroy', '-auto-approve', '-parallelism=1');
  t.equal(destroyed.code, 0, destroyed.stderr);
  const order = lines(destroyed.stdout).filter((l) => l.includes('Destroying...')).map((l) => l.split(':')[0]);
  t.ok(order.indexOf('coffer_task.t') < order.indexOf('coffer_tag.a'), 'the task (which refers to tag a) goes before the tag');
});
