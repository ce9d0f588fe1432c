// The Jobs page's filters: by user / team folder, by selected item, by several states or a tile's
// group; and jobs name their task and entity even after both are renamed or gone.
import t from 'tap';
import { startRecoveryFixture, type RecoveryFixture } from '../helpers/recovery-fixture.ts';

let fx: RecoveryFixture;
let other: { entityId: string; runId: string };
const jobs: Record<string, string> = {};
const ids = async (qs: string, key?: string) => {
  const res = await fx.get(`/v1/jobs?limit=100&${qs}`, key);
  if (res.status !== 200) throw new Error(`${res.status} ${res.text}`);
  return (res.body.data as { id: string }[]).map((j) => j.id).sort();
};
const named = (...names: string[]) => names.map((n) => jobs[n]!).sort();

t.before(async () => {
  fx = await startRecoveryFixture(t, {
    '/Docs/Quarterly Report.txt': 'q',
    '/Docs/notes.txt': 'n',
    '/Photos/Beach.jpg': 'b',
  });
  const member = fx.emu.state.addMember({ email: 'carol@coffer-emu.test', givenName: 'Carol', surname: 'Jones' });
  fx.emu.state.putFile(member, '/x.txt', 'x');
  const entityId = await fx.memberEntity(member);
  const run = await fx.backup(entityId);
  if (run.outcome !== 'succeeded') throw new Error(`backup: ${JSON.stringify(run)}`);
  other = { entityId, runId: run.runId };
  // No queue in this test: jobs stay pending until their state is set below.
  const create = async (name: string, path: string, body: unknown) => {
    const res = await fx.post(path, body);
    if (res.status !== 202) throw new Error(`${res.status} ${res.text}`);
    jobs[name] = res.body.id;
  };
  await create('report', '/v1/restores', { source: { snapshot_id: fx.runId, items: ['/Docs/Quarterly Report.txt'] }, destination: { mode: 'non_destructive' } });
  await create('docs', '/v1/exports', { source: { snapshot_id: fx.runId, items: ['/docs'] }, destination: { type: 'download' } });
  await create('photos', '/v1/restores', { source: { snapshot_id: fx.runId, items: ['/Photos'] }, destination: { mode: 'in_place' } });
  await create('whole', '/v1/exports', { source: { snapshot_id: fx.runId }, destination: { type: 'download' } });
  await create('carol', '/v1/exports', { source: { snapshot_id: other.runId }, destination: { type: 'download' } });
  const set = (name: string, state: string) => fx.app.deps.sql`update jobs set state = ${state} where id = ${jobs[name]!}`;
  await set('report', 'failed');
  await set('docs', 'partially_succeeded');
  await set('photos', 'succeeded');
  await set('whole', 'in_progress');
  // carol stays pending
});

t.test('by entity: only the jobs recovering that user', async (t) => {
  t.same(await ids(`entity_id=${other.entityId}`), named('carol'));
  t.same(await ids(`entity_id=${fx.entityId}`), named('report', 'docs', 'photos', 'whole'));
  t.same(await ids('entity_id=ent_00000000000000000000000000'), []);
  t.equal((await fx.get('/v1/jobs?entity_id=task_00000000000000000000000000')).status, 400, 'not an entity id');
});

t.test('by item: a path or name substring among the selected items, case-insensitive', async (t) => {
  t.same(await ids('item=quarterly%20REPORT'), named('report'), 'a name');
  t.same(await ids('item=%2Fdocs'), named('report', 'docs'), 'a folder, and a file inside it');
  t.same(await ids('item=beach'), [], 'only what was selected (the folder /photos), not what it holds');
  t.same(await ids('item=photos'), named('photos'));
  t.same(await ids('item=%25'), [], 'LIKE wildcards are text');
  t.same(await ids('item=_'), []);
  t.same(await ids(`item=docs&entity_id=${other.entityId}`), [], 'filters combine');
});

t.test('by states: a comma-separated list, or a summary tile\'s group', async (t) => {
  t.same(await ids('state=failed,partially_succeeded'), named('report', 'docs'));
  t.same(await ids('state=partially_succeeded_or_failed'), named('report', 'docs'), 'the tile');
  t.same(await ids('state=active'), named('whole', 'carol'), 'pending and in progress, as the in_progress tile counts them');
  t.same(await ids('state=in_progress'), named('whole'), 'a single state is still exact');
  t.same(await ids('state=succeeded,active'), named('photos', 'whole', 'carol'));
  const summary = (await fx.get('/v1/jobs/summary')).body;
  t.equal((await ids('state=active')).length, summary.in_progress, 'the tile and its filter agree');
  t.equal((await ids('state=partially_succeeded_or_failed')).length, summary.partially_succeeded_or_failed);
  for (const bad of ['bogus', 'failed,', ',failed', 'failed,,succeeded', 'failed;succeeded']) {
    const res = await fx.get(`/v1/jobs?state=${encodeURIComponent(bad)}`);
    t.equal(res.status, 400, bad);
  }
});

t.test('filters stay inside the account', async (t) => {
  const stranger = await fx.app.signUp();
  t.same(await ids(`entity_id=${fx.entityId}`, stranger.key), []);
  t.same(await ids('item=docs', stranger.key), []);
  t.same(await ids('state=partially_succeeded_or_failed', stranger.key), []);
});

t.test('jobs name their task and entity, as they were when created', async (t) => {
  const task = (await fx.get(`/v1/tasks/${fx.taskId}`)).body;
  const entity = (await fx.get(`/v1/entities/${fx.entityId}`)).body;
  const job = (await fx.get(`/v1/jobs/${jobs.report}`)).body;
  t.equal(job.task_name, task.name);
  t.equal(job.entity_name, entity.name);
  t.ok(job.task_name && job.entity_name);
  t.equal((await fx.get(`/v1/jobs/${jobs.carol}`)).body.entity_name, (await fx.get(`/v1/entities/${other.entityId}`)).body.name);
  // Renamed, then gone: the job keeps what it recovered.
  await fx.app.deps.sql`update tasks set name = 'Renamed' where id = ${fx.taskId}`;
  await fx.app.deps.sql`update entities set name = 'Someone else' where id = ${fx.entityId}`;
  await fx.app.deps.sql`delete from entities where id = ${fx.entityId}`;
  await fx.app.deps.sql`delete from tasks where id = ${fx.taskId}`;
  const after = (await fx.get(`/v1/jobs/${jobs.report}`)).body;
  t.equal(after.task_name, task.name);
  t.equal(after.entity_name, entity.name);
  const listed = (await fx.get('/v1/jobs?limit=100')).body.data.find((j: { id: string }) => j.id === jobs.report);
  t.equal(listed.task_name, task.name, 'in the list too');
});
