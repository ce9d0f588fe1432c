// Applies that overlap or die: a second apply on a locked state fails at once naming the holder;
// an apply killed (SIGKILL, a real child process) after it sent a create leaves a state holding
// exactly what was done, and the next run converges without creating anything twice (the create
// is retried with the Idempotency-Key recorded before it was sent).
import t from 'tap';
import { startLiveTeam, type LiveTeam } from '../helpers/live-team.ts';
import { iacDir } from '../helpers/iac.ts';

const CONFIG = `
resource "coffer_tag" "a" {
  name = "a"
}

resource "coffer_tag" "b" {
  name = "b"
}

resource "coffer_task" "slow" {
  name                = "Waiting"
  wait_for_connection = "90s"
  depends_on          = [coffer_tag.a, coffer_tag.b]
}
`;

async function waitingTask(team: LiveTeam): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const list = await team.api.request('GET', '/v1/tasks', { key: team.account.key });
    const found = list.body.data.find((x: { name: string }) => x.name === 'Waiting');
    if (found) return found.id;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the apply never created the task');
}

async function connect(team: LiveTeam, taskId: string): Promise<void> {
  const again = await team.api.request('POST', `/v1/tasks/${taskId}/reconnect`, { key: team.account.key });
  await team.approve(again.body.authorize_url);
}

t.test('a second apply on a locked state fails on the lock; the first finishes', async (t) => {
  const team = await startLiveTeam(t, {});
  const w = await iacDir(t, team.api, team.account.key);
  await w.write({ 'main.tf': CONFIG });
  const first = w.start('apply', '-auto-approve');
  const taskId = await waitingTask(team);
  const second = await w.run('apply', '-auto-approve');
  t.equal(second.code, 1);
  t.match(second.stderr, /Error acquiring the state lock: .*coffer\.tfstate is locked by .* \(apply, since .*, lock ID [0-9a-f-]{36}\)/);
  await connect(team, taskId);
  const done = await first.done;
  t.equal(done.code, 0, done.stderr);
  t.equal((await w.run('plan', '-detailed-exitcode')).code, 0, 'and then nothing is left to do');
});

t.test('an apply killed after sending a create: the next run converges without a duplicate', async (t) => {
  const team = await startLiveTeam(t, {});
  const w = await iacDir(t, team.api, team.account.key);
  await w.write({ 'main.tf': CONFIG });
  const first = w.start('apply', '-auto-approve');
  const taskId = await waitingTask(team);
  first.child.kill('SIGKILL');
  await first.done;

  const state = await w.state();
  t.same(state.resources.map((r: { type: string; name: string }) => `${r.type}.${r.name}`), ['coffer_tag.a', 'coffer_tag.b'], 'the state holds what was done');
  t.same(state.pending_creates.map((p: { address: string }) => p.address), ['coffer_task.slow'], 'and the create in flight');

  await connect(team, taskId);
  const second = await w.run('apply', '-auto-approve');
  t.equal(second.code, 0, second.stderr);
  t.match(second.stderr, /Taking over the state lock .*: its process \(\d+, apply by .*\) is gone/);
  t.match(second.stdout, /Apply complete! Resources: 1 added, 0 changed, 0 destroyed\./, 'only the task was left');
  const tasks = (await team.api.request('GET', '/v1/tasks', { key: team.account.key })).body.data;
  t.same(tasks.map((x: { id: string }) => x.id), [taskId], 'one task: the create was answered from its Idempotency-Key');
  const tags = (await team.api.request('GET', '/v1/tags', { key: team.account.key })).body.data;
  t.same(tags.map((x: { name: string }) => x.name).sort(), ['a', 'b']);
  const after = await w.state();
  t.equal(after.resources.find((r: { name: string }) => r.name === 'slow').instances[0].attributes.id, taskId);
  t.same(after.pending_creates, []);
  t.equal((await w.run('plan', '-detailed-exitcode')).code, 0);
});
