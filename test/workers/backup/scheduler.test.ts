// Scheduling: next_backup_at slots from frequency and backup hour (UTC); the scheduler tick
// enqueues one job per due entity (deduplicated), at most MAX_PER_ACCOUNT per account, skips
// paused / disconnected ones, and re-enqueues runs whose worker died.
import t from 'tap';
import { nextBackupAt } from '../../../db/schedule.ts';
import { requestBackup } from '../../../workers/backup/request.ts';
import { MAX_PER_ACCOUNT, schedulerJob } from '../../../workers/jobs/scheduler.ts';
import { startQueue } from '../../../workers/queue.ts';
import { startBackupFixture } from '../../helpers/backup-fixture.ts';

t.test('nextBackupAt: the one scheduling rule', async (t) => {
  const at = (s: string) => new Date(s);
  const iso = (d: Date) => d.toISOString();
  // Sub-daily: hours aligned with the backup hour, strictly after `after`.
  t.equal(iso(nextBackupAt('every_hour', 3, at('2026-03-10T03:30:00Z'))), '2026-03-10T04:00:00.000Z');
  t.equal(iso(nextBackupAt('every_6_hours', 3, at('2026-03-10T04:00:00Z'))), '2026-03-10T09:00:00.000Z');
  t.equal(iso(nextBackupAt('every_6_hours', 3, at('2026-03-10T09:00:00Z'))), '2026-03-10T15:00:00.000Z', 'strictly after');
  t.equal(iso(nextBackupAt('every_12_hours', 3, at('2026-03-10T22:00:00Z'))), '2026-03-11T03:00:00.000Z');
  // Daily and slower without a previous run: the next backup hour.
  t.equal(iso(nextBackupAt('daily', 3, at('2026-03-10T02:59:00Z'))), '2026-03-10T03:00:00.000Z');
  t.equal(iso(nextBackupAt('daily', 3, at('2026-03-10T03:00:00Z'))), '2026-03-11T03:00:00.000Z', 'strictly after');
  t.equal(iso(nextBackupAt('weekly', 15, at('2026-03-10T04:00:00Z'))), '2026-03-10T15:00:00.000Z', 'a new weekly entity starts at the next backup hour');
  // Daily and slower after a run: N days after it, at the backup hour (a late start does not slip a day).
  t.equal(iso(nextBackupAt('daily', 3, at('2026-03-10T03:00:30Z'), at('2026-03-10T03:00:30Z'))), '2026-03-11T03:00:00.000Z');
  t.equal(iso(nextBackupAt('daily', 3, at('2026-03-10T05:10:00Z'), at('2026-03-10T05:10:00Z'))), '2026-03-11T03:00:00.000Z', 'started two hours late');
  t.equal(iso(nextBackupAt('every_3_days', 0, at('2026-03-10T00:00:10Z'), at('2026-03-10T00:00:10Z'))), '2026-03-13T00:00:00.000Z');
  t.equal(iso(nextBackupAt('weekly', 15, at('2026-03-10T15:00:05Z'), at('2026-03-10T15:00:05Z'))), '2026-03-17T15:00:00.000Z');
  t.equal(iso(nextBackupAt('weekly', 15, at('2026-03-12T09:00:00Z'), at('2026-03-10T15:00:05Z'))), '2026-03-17T15:00:00.000Z', 'counted from the last run, not from now');
  t.equal(iso(nextBackupAt('weekly', 15, at('2026-03-20T09:00:00Z'), at('2026-03-10T15:00:05Z'))), '2026-03-20T15:00:00.000Z', 'overdue: the next backup hour');
});

t.test('changing a task\'s frequency or hour reschedules its active entities in the same change', async (t) => {
  const f = await startBackupFixture(t);
  const { sql } = f.app.deps;
  f.app.clock.set(new Date('2026-03-10T10:00:00Z'));
  await sql`update tasks set frequency = 'daily', backup_hour = 3 where id = ${f.taskId}`;
  const fresh = await f.memberEntity(f.emu.state.addMember({ email: 'fresh@coffer-emu.test' }));
  const ranYesterday = await f.memberEntity(f.emu.state.addMember({ email: 'ran@coffer-emu.test' }));
  const paused = await f.memberEntity(f.emu.state.addMember({ email: 'paused@coffer-emu.test' }));
  await sql`update entities set next_backup_at = '2026-03-11T03:00:00Z' where id in ${sql([fresh, ranYesterday, paused])}`;
  await sql`update entities set status = 'success', last_backup_at = '2026-03-09T15:00:00Z' where id = ${ranYesterday}`;
  await sql`update entities set status = 'paused', next_backup_at = null where id = ${paused}`;
  const versions = async () => Object.fromEntries((await sql<{ id: string; version: number }[]>`select id, version from entities where task_id = ${f.taskId}`).map((r) => [r.id, r.version]));
  const before = await versions();

  const task = await f.app.request('GET', `/v1/tasks/${f.taskId}`, { key: f.account.key });
  const res = await f.app.request('PATCH', `/v1/tasks/${f.taskId}`, {
    key: f.account.key, headers: { 'if-match': task.headers.get('etag')! }, body: { frequency: 'weekly', backup_hour: 15 },
  });
  t.equal(res.status, 200);
  const next = async (id: string) => (await f.app.request('GET', `/v1/entities/${id}`, { key: f.account.key })).body.next_backup_at;
  t.equal(await next(fresh), '2026-03-10T15:00:00.000Z', 'never backed up: today at the new hour, not tomorrow at the old one');
  t.equal(await next(ranYesterday), '2026-03-16T15:00:00.000Z', 'weekly from its last backup, at the new hour');
  t.equal(await next(paused), null, 'a paused entity stays unscheduled');
  const after = await versions();
  t.equal(after[fresh], before[fresh]! + 1, 'a rescheduled entity gets a new version (ETag)');
  t.equal(after[paused], before[paused], 'an entity that was not rescheduled keeps its version');

  // A change that leaves the schedule as it is moves nothing.
  await sql`update entities set next_backup_at = '2026-03-10T15:00:00Z' where id = ${ranYesterday}`;
  const renamed = await f.app.request('PATCH', `/v1/tasks/${f.taskId}`, { key: f.account.key, body: { name: 'Renamed', frequency: 'weekly' } });
  t.equal(renamed.status, 200);
  t.equal(await next(ranYesterday), '2026-03-10T15:00:00.000Z');

  // The scheduler and the engine follow the same rule: the tick at the new hour moves it a week on.
  f.app.clock.set(new Date('2026-03-10T15:00:20Z'));
  await sql`update entities set status = 'scheduled' where id = ${fresh}`;
  const boss = await startQueue({ connectionString: f.app.database.url, runsWorkers: false, onError: () => {} });
  t.teardown(() => boss.stop({ graceful: false }));
  const ticked = await schedulerJob({ ...f.app.deps, boss });
  t.equal(ticked.enqueued, 2);
  t.equal(await next(fresh), '2026-03-17T15:00:00.000Z');
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
