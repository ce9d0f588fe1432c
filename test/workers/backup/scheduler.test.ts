// Scheduling: next_backup_at slots from frequency and backup hour (UTC); the scheduler tick
// enqueues one job per due entity (deduplicated), at most MAX_PER_ACCOUNT per account, skips
// paused / disconnected ones, and re-enqueues runs whose worker died.
import t from 'tap';
import { nextBackupAt } from '../../../workers/backup/schedule.ts';
import { requestBackup } from '../../../workers/backup/request.ts';
import { MAX_PER_ACCOUNT, schedulerJob } from '../../../workers/jobs/scheduler.ts';
import { startQueue } from '../../../workers/queue.ts';
import { startBackupFixture } from '../../helpers/backup-fixture.ts';

t.test('nextBackupAt', async (t) => {
  const at = (s: string) => new Date(s);
  t.equal(nextBackupAt(at('2026-03-10T02:59:00Z'), 'daily', 3).toISOString(), '2026-03-10T03:00:00.000Z');
  t.equal(nextBackupAt(at('2026-03-10T03:00:00Z'), 'daily', 3).toISOString(), '2026-03-11T03:00:00.000Z', 'strictly after now');
  t.equal(nextBackupAt(at('2026-03-10T03:30:00Z'), 'every_hour', 3).toISOString(), '2026-03-10T04:00:00.000Z');
  t.equal(nextBackupAt(at('2026-03-10T04:00:00Z'), 'every_6_hours', 3).toISOString(), '2026-03-10T09:00:00.000Z');
  t.equal(nextBackupAt(at('2026-03-10T22:00:00Z'), 'every_12_hours', 3).toISOString(), '2026-03-11T03:00:00.000Z');
  const weekly = nextBackupAt(at('2026-03-10T04:00:00Z'), 'weekly', 5);
  t.equal(weekly.getUTCHours(), 5);
  t.ok(weekly.getTime() - at('2026-03-10T04:00:00Z').getTime() <= 7 * 86_400_000);
  const every3 = nextBackupAt(at('2026-03-10T04:00:00Z'), 'every_3_days', 0);
  t.equal(every3.getUTCHours(), 0);
});

t.test('the scheduler tick enqueues due backups once, bounded per account', async (t) => {
  const f = await startBackupFixture(t);
  const boss = await startQueue({ connectionString: f.app.database.url, runsWorkers: false, onError: () => {} });
  t.teardown(() => boss.stop({ graceful: false }));
  const deps = { ...f.app.deps, boss };
  const sql = deps.sql;
  const now = f.app.clock.now();
  const ids: string[] = [];
  for (let i = 0; i < MAX_PER_ACCOUNT + 2; i++) {
    const m = f.emu.state.addMember({ email: `m${i}@coffer-emu.test` });
    ids.push(await f.memberEntity(m));
  }
  const paused = f.emu.state.addMember({ email: 'paused@coffer-emu.test' });
  const pausedId = await f.memberEntity(paused);
  await sql`update entities set status = 'paused' where id = ${pausedId}`;
  const future = f.emu.state.addMember({ email: 'future@coffer-emu.test' });
  const futureId = await f.memberEntity(future);
  await sql`update entities set status = 'success', next_backup_at = ${new Date(now.getTime() + 3600_000).toISOString()} where id = ${futureId}`;
  await sql`update entities set next_backup_at = ${new Date(now.getTime() - 60_000).toISOString()} where id = ${ids[0]!}`;

  const queued = async () => (await sql<{ key: string }[]>`select singleton_key as key from pgboss.job where name = 'backup' and state = 'created'`).map((r) => r.key).sort();
  const first = await schedulerJob(deps);
  t.equal(first.enqueued, MAX_PER_ACCOUNT, 'bounded per account');
  const q1 = await queued();
  t.equal(q1.length, MAX_PER_ACCOUNT);
  t.notOk(q1.includes(pausedId) || q1.includes(futureId), 'paused and not-yet-due entities wait');
  const moved = await sql<{ id: string; next_backup_at: string }[]>`select id, next_backup_at from entities where id in ${sql(q1)}`;
  t.ok(moved.every((r) => new Date(r.next_backup_at).getTime() > now.getTime()), 'next_backup_at moved to the next slot');

  const second = await schedulerJob(deps);
  t.equal(second.enqueued, 2, 'the remaining due entities go on the next tick');
  t.equal((await queued()).length, MAX_PER_ACCOUNT + 2);
  t.equal((await schedulerJob(deps)).enqueued, 0, 'nothing is due twice');

  // "Back up now" is deduplicated while a job is queued.
  const dup = await deps.db.transaction((tx) => requestBackup(deps, tx, { accountId: f.accountId, entityId: ids[0]!, reason: 'manual' }));
  t.equal(dup, null, 'one queued backup per entity');
  const fresh = await deps.db.transaction((tx) => requestBackup(deps, tx, { accountId: f.accountId, entityId: futureId, reason: 'manual' }));
  t.ok(fresh);

  // A disconnected task is not scheduled.
  await sql`update tasks set connection_status = 'disconnected' where id = ${f.taskId}`;
  await sql`update entities set next_backup_at = ${new Date(now.getTime() - 1000).toISOString()} where id = ${pausedId}`;
  await sql`delete from pgboss.job where name = 'backup'`;
  await sql`update entities set next_backup_at = ${new Date(now.getTime() - 1000).toISOString()}`;
  t.equal((await schedulerJob(deps)).enqueued, 0, 'disconnected tasks are skipped');

  // A run left `running` by a dead worker is picked up again.
  await sql`insert into backup_runs (id, account_id, task_id, entity_id, state, reason, mode, started_at)
    values ('run_00000000000000000000000000', ${f.accountId}, ${f.taskId}, ${ids[1]!}, 'running', 'scheduled', 'full', now())`;
  const orphan = await schedulerJob(deps);
  t.equal(orphan.resumed, 1, 'the orphaned run is re-enqueued');
  t.same(await queued(), [ids[1]!]);
});
