// The Jobs page: restores and exports end to end through pg-boss workers, list filters and order,
// the 7-day window, the summary tiles.
import t from 'tap';
import { startRecoveryFixture, type RecoveryFixture } from '../helpers/recovery-fixture.ts';
import { startQueue } from '../../workers/queue.ts';
import { startWorkers } from '../../workers/jobs/index.ts';
import { recoverySweepJob } from '../../workers/jobs/recovery.ts';
import { newId } from '../../db/ids.ts';

let fx: RecoveryFixture;
t.before(async () => {
  fx = await startRecoveryFixture(t, { '/a.txt': 'a', '/Sub/b.txt': 'b' });
  const boss = await startQueue({ connectionString: fx.app.database.url, runsWorkers: true, onError: () => {} });
  fx.app.deps.boss = boss;
  const workers = await startWorkers(boss, fx.app.deps, { pollingIntervalSeconds: 0.5 });
  t.teardown(async () => {
    await workers.stop();
    await boss.stop({ graceful: false, close: true });
  });
});

async function waitFor(id: string, states = ['succeeded', 'partially_succeeded', 'failed', 'canceled']) {
  for (let i = 0; i < 200; i++) {
    const job = (await fx.get(`/v1/jobs/${id}`)).body;
    if (states.includes(job.state)) return job;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${id} did not finish`);
}

t.test('restores and exports run on the queue', async (t) => {
  const r = await fx.post('/v1/restores', { source: { snapshot_id: fx.runId }, destination: { mode: 'non_destructive', path: '/Queued' } });
  const e = await fx.post('/v1/exports', { source: { snapshot_id: fx.runId }, destination: { type: 'download' } });
  const rj = await waitFor(r.body.id);
  const ej = await waitFor(e.body.id);
  t.equal(rj.state, 'succeeded');
  t.equal(ej.state, 'succeeded');
  t.equal(fx.emu.state.readFile(fx.member, '/Queued/Sub/b.txt').toString(), 'b');
  t.ok(ej.download.url);
});

t.test('list: filters, order, pagination, the 7-day window; summary', async (t) => {
  const other = await fx.app.signUp();
  const before = (await fx.get('/v1/jobs?limit=100')).body.data.length;
  const fail = await fx.post('/v1/restores', { source: { snapshot_id: fx.runId }, destination: { mode: 'in_place' } });
  await waitFor(fail.body.id);
  const all = (await fx.get('/v1/jobs?limit=100')).body.data;
  t.equal(all.length, before + 1);
  t.same(all.map((j: any) => j.id), [...all.map((j: any) => j.id)].sort().reverse(), 'latest first');
  const oldest = (await fx.get('/v1/jobs?order=oldest&limit=100')).body.data;
  t.same(oldest.map((j: any) => j.id), all.map((j: any) => j.id).reverse());
  t.ok((await fx.get('/v1/jobs?type=export')).body.data.every((j: any) => j.type === 'export'));
  t.equal((await fx.get('/v1/jobs?type=restore&limit=100')).body.data.length, all.filter((j: any) => j.type === 'restore').length);
  t.equal((await fx.get('/v1/jobs?state=succeeded&limit=100')).body.data.length, all.filter((j: any) => j.state === 'succeeded').length);
  t.equal((await fx.get(`/v1/jobs?task_id=${fx.taskId}&limit=100`)).body.data.length, all.length);
  t.equal((await fx.get(`/v1/jobs?initiator=${encodeURIComponent(all[0].initiator.email.toUpperCase())}&limit=100`)).body.data.length, all.length, 'initiator by email');
  t.equal((await fx.get(`/v1/jobs?initiator=${all[0].initiator.user_id}&limit=100`)).body.data.length, all.length, 'initiator by user id');
  t.equal((await fx.get('/v1/jobs?initiator=nobody@example.test')).body.data.length, 0);
  t.equal((await fx.get('/v1/jobs?service=dropbox&limit=100')).body.data.length, all.length);
  // Pages of one, in order.
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: any = (await fx.get(`/v1/jobs?limit=1${cursor ? `&cursor=${cursor}` : ''}`)).body;
    seen.push(...page.data.map((j: any) => j.id));
    cursor = page.next_cursor;
  } while (cursor);
  t.same(seen, all.map((j: any) => j.id));

  const summary = (await fx.get('/v1/jobs/summary')).body;
  t.equal(summary.succeeded, all.filter((j: any) => j.state === 'succeeded').length);
  t.equal(summary.in_progress, 0);
  t.equal(summary.partially_succeeded_or_failed + summary.succeeded + summary.canceled, all.length);
  t.same((await fx.get('/v1/jobs/summary', other.key)).body.succeeded, 0, 'per account');

  // Eight days later the default window is empty; an explicit range still finds them.
  fx.app.clock.advance(8 * 86_400_000);
  t.same((await fx.get('/v1/jobs')).body.data, []);
  t.equal((await fx.get('/v1/jobs/summary')).body.succeeded, 0);
  t.equal((await fx.get(`/v1/jobs?from=${new Date(Date.now() - 86_400_000).toISOString()}&limit=100`)).body.data.length, all.length);
  fx.app.clock.advance(-8 * 86_400_000);
  t.equal((await fx.get('/v1/jobs?state=bogus')).status, 400);
  t.equal((await fx.get('/v1/jobs/job_00000000000000000000000000')).status, 404);
});

t.test('the sweep re-enqueues a job whose worker died, and it resumes from its checkpoint', async (t) => {
  const done = await fx.post('/v1/restores', { source: { snapshot_id: fx.runId }, destination: { mode: 'non_destructive', path: '/Orphan' } });
  await waitFor(done.body.id);
  // A job some dead worker left in progress, half done (its checkpoint is after /a.txt), and no queued job for it.
  const orphan = newId('job');
  await fx.app.deps.sql`
    insert into jobs (id, account_id, type, state, service, initiator_id, initiator_email, task_id, entity_id, snapshot_id, snapshot_at, source, destination,
      items_total, items_done, bytes_total, bytes_done, checkpoint, attempts, created_at, started_at)
    select ${orphan}, account_id, type, 'in_progress', service, initiator_id, initiator_email, task_id, entity_id, snapshot_id, snapshot_at, source,
      '{"mode": "non_destructive", "path": "/Orphan2"}'::jsonb, items_total, 1, bytes_total, 1, '{"base": "/Orphan2", "after": "/a.txt"}'::jsonb, 1, created_at, started_at
    from jobs where id = ${done.body.id}`;
  const swept = await recoverySweepJob(fx.app.deps);
  t.equal(swept.requeued, 1);
  const job = await waitFor(orphan);
  t.equal(job.state, 'succeeded');
  t.equal(job.items_done, 2);
  t.same([...fx.filesUnder(fx.member.homeNsId, '/orphan2').keys()], ['/sub/b.txt'], 'only what was left after the checkpoint was uploaded');
  t.equal((await recoverySweepJob(fx.app.deps)).requeued, 0, 'nothing left to sweep');
});
