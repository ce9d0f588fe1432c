// A worker killed just after it picked up a backup, restore, export or restore drill (before the
// run or the job's row recorded anything) left the job `active` in pg-boss until expireInSeconds,
// hours: nothing ran it. The long queues carry a heartbeat, so the supervisor fails such a job
// within about two minutes and pg-boss retries it (`npm run chaos` kills workers at such moments).
import t from 'tap';
import { PgBoss } from 'pg-boss';
import { freshDatabase } from '../../helpers/db.ts';
import { HEARTBEAT_SECONDS, QUEUES, startQueue } from '../../../workers/queue.ts';

const LONG = [QUEUES.backup, QUEUES.restore, QUEUES.export, QUEUES.verification];

t.test('the long queues carry a heartbeat, also where they were created without one', async (t) => {
  const database = await freshDatabase(t);
  // An installation from before: the queues exist without a heartbeat.
  const old = new PgBoss({ connectionString: database.url, schema: 'pgboss', supervise: false, schedule: false });
  await old.start();
  for (const q of LONG) {
    await old.createQueue(q);
    await old.updateQueue(q, { heartbeatSeconds: null });
  }
  t.same((await Promise.all(LONG.map((q) => old.getQueue(q)))).map((q) => q?.heartbeatSeconds ?? null), LONG.map(() => null), 'created without one');
  await old.stop({ graceful: false });

  const boss = await startQueue({ connectionString: database.url, runsWorkers: false, onError: () => {} });
  t.teardown(() => boss.stop({ graceful: false }));
  for (const q of LONG) t.equal((await boss.getQueue(q))?.heartbeatSeconds, HEARTBEAT_SECONDS, `${q}: a dead worker's job is retried after ${HEARTBEAT_SECONDS} s without a heartbeat`);
  t.equal((await boss.getQueue(QUEUES.webhooks))?.heartbeatSeconds ?? null, null, 'short jobs need none');
});
