// The queued work of a removed account: when the purge erases it, every job of the account still
// waiting in the queue is cancelled (a backup, restore, export or mail must not run against an
// account that no longer exists, nor write rows and packs for it); a job a worker is running
// postpones the purge to the next run instead of having its data deleted from under it.
import t, { type Test } from 'tap';
import type { PgBoss } from 'pg-boss';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { rowsOf } from '../../helpers/account-rows.ts';
import { accountPurgeJob } from '../../../workers/jobs/account-purge.ts';
import { enqueue, QUEUES, startQueue } from '../../../workers/queue.ts';

const DAY = 86_400_000;

async function setup(t: Test) {
  const api = await startTestApp(t);
  const boss = await startQueue({ connectionString: api.database.url, runsWorkers: false, onError: () => {} });
  t.teardown(() => boss.stop({ graceful: false }));
  api.deps.boss = boss;
  const gone = await api.signUp();
  const kept = await api.signUp();
  return { api, boss, gone, kept };
}

/** The account's jobs in `queue`: state by id. */
async function states(boss: PgBoss, queue: string, accountId: string): Promise<string[]> {
  return (await boss.findJobs(queue, { data: { accountId } })).map((j) => j.state);
}

async function remove(api: TestApp, key: string) {
  const res = await api.request('POST', '/v1/account/removal', { key, body: { approve_data_removal: true } });
  if (res.status !== 202) throw new Error(`removal: ${res.status} ${res.text}`);
  api.clock.advance(7 * DAY + 1);
}

t.test('purging an account cancels every job of it still queued, and none of another account', async (t) => {
  const { api, boss, gone, kept } = await setup(t);
  const queued = {
    [QUEUES.backup]: { accountId: gone.accountId, entityId: 'ent_gone', reason: 'manual' as const },
    [QUEUES.restore]: { accountId: gone.accountId, jobId: 'job_restore' },
    [QUEUES.export]: { accountId: gone.accountId, jobId: 'job_export' },
    [QUEUES.searchIndex]: { accountId: gone.accountId, entityId: 'ent_gone' },
    [QUEUES.discovery]: { accountId: gone.accountId, taskId: 'task_gone' },
  };
  // Backups are deduplicated by entity (workers/backup/request.ts): each carries its entity as key.
  for (const [queue, payload] of Object.entries(queued)) t.ok(await enqueue(api.deps, null, queue as never, payload as never, { singletonKey: `${queue}:1` }), `${queue} job queued`);
  // A job waiting for its time is waiting work too.
  t.ok(await enqueue(api.deps, null, QUEUES.backup, { accountId: gone.accountId, entityId: 'ent_later', reason: 'scheduled' }, { singletonKey: 'ent_later', startAfter: 3600 }));
  t.ok(await enqueue(api.deps, null, QUEUES.backup, { accountId: kept.accountId, entityId: 'ent_kept', reason: 'manual' }, { singletonKey: 'ent_kept' }));
  await remove(api, gone.key);

  const job = await accountPurgeJob(api.deps);
  t.same(job.purged.map((p) => p.accountId), [gone.accountId], 'the account is purged');
  for (const queue of Object.keys(queued)) {
    const left = await states(boss, queue, gone.accountId);
    t.ok(left.length === (queue === QUEUES.backup ? 2 : 1) && left.every((s) => s === 'cancelled'), `${queue}: every job of the purged account is cancelled (${left.join(', ')})`);
  }
  t.same(await states(boss, QUEUES.backup, kept.accountId), ['created'], 'the other account\'s backup still waits');
  const fetched = await boss.fetch(QUEUES.backup, { batchSize: 10 });
  t.same(fetched.map((j) => (j.data as { accountId: string }).accountId), [kept.accountId], 'a worker asking for work gets only the other account\'s');
});

t.test('a job of the account that a worker is running postpones the purge until it has ended', async (t) => {
  const { api, boss, gone } = await setup(t);
  await enqueue(api.deps, null, QUEUES.restore, { accountId: gone.accountId, jobId: 'job_running' });
  const [running] = await boss.fetch(QUEUES.restore);
  t.ok(running, 'a worker runs the restore');
  await remove(api, gone.key);

  t.same((await accountPurgeJob(api.deps)).purged, [], 'not purged while its restore runs');
  t.ok((await rowsOf(api, gone.accountId)).users, 'its rows are all there');
  t.same(await states(boss, QUEUES.restore, gone.accountId), ['active'], 'the running job is left alone');

  await boss.complete(QUEUES.restore, running!.id);
  t.same((await accountPurgeJob(api.deps)).purged.map((p) => p.accountId), [gone.accountId], 'purged by the next run once the job ended');
  t.notOk((await rowsOf(api, gone.accountId)).users, 'its users are gone');
});
