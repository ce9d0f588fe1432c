// Task-level operations: pausing and resuming a whole task (entities keep their own statuses and
// nothing of the task is backed up meanwhile), and the overview that shows a task at a glance.
import t from 'tap';
import { startQueue } from '../../workers/queue.ts';
import { schedulerJob } from '../../workers/jobs/scheduler.ts';
import { newId } from '../../db/ids.ts';
import { startBackupFixture } from '../helpers/backup-fixture.ts';

const HOUR = 3_600_000;

t.test('pausing a task stops every backup of it; resuming returns each entity to its own status and schedule', async (t) => {
  const f = await startBackupFixture(t);
  const { app } = f;
  const { sql } = app.deps;
  const key = f.account.key;
  app.clock.set(new Date('2026-06-01T10:00:00Z'));
  await sql`update tasks set frequency = 'daily', backup_hour = 3 where id = ${f.taskId}`;
  const bob = f.emu.state.addMember({ email: 'bob@coffer-emu.test' });
  f.emu.state.putFile(bob, '/a.txt', 'a');
  const active = await f.memberEntity(bob);
  const pausedAlone = await f.memberEntity(f.emu.state.addMember({ email: 'solo@coffer-emu.test' }));
  await sql`update entities set status = 'success', last_backup_at = '2026-05-31T03:00:00Z', next_backup_at = '2026-06-01T09:00:00Z' where id = ${active}`;
  await sql`update entities set status = 'paused', next_backup_at = null where id = ${pausedAlone}`;
  const boss = await startQueue({ connectionString: app.database.url, runsWorkers: false, onError: () => {} });
  t.teardown(() => boss.stop({ graceful: false }));
  const deps = { ...app.deps, boss };

  const paused = await app.request('POST', `/v1/tasks/${f.taskId}/pause`, { key });
  t.equal(paused.status, 200);
  t.equal(paused.body.paused_at, '2026-06-01T10:00:00.000Z');
  const again = await app.request('POST', `/v1/tasks/${f.taskId}/pause`, { key });
  t.equal(again.body.paused_at, '2026-06-01T10:00:00.000Z', 'pausing a paused task changes nothing');
  t.equal(again.headers.get('etag'), paused.headers.get('etag'));

  const statuses = async () => Object.fromEntries((await sql<{ id: string; status: string }[]>`select id, status from entities where task_id = ${f.taskId}`).map((r) => [r.id, r.status]));
  t.same(await statuses(), { [active]: 'success', [pausedAlone]: 'paused' }, 'entities keep their own statuses');
  t.equal((await schedulerJob(deps)).enqueued, 0, 'the scheduler skips a paused task although an entity is due');
  const now = await app.request('POST', '/v1/entities/actions', { key, body: { action: 'backup_now', entity_ids: [active] } });
  t.match(now.body.results[0], { ok: false, error: { code: 'task_paused' } }, '"back up now" is refused');
  const direct = await f.backup(active);
  t.same(direct, { outcome: 'skipped', reason: 'task is paused' }, 'a job already queued does not run either');

  app.clock.set(new Date('2026-06-02T12:00:00Z'));
  const resumed = await app.request('POST', `/v1/tasks/${f.taskId}/resume`, { key });
  t.equal(resumed.status, 200);
  t.equal(resumed.body.paused_at, null);
  t.same(await statuses(), { [active]: 'success', [pausedAlone]: 'paused' }, 'an entity paused on its own stays paused');
  const [row] = await sql<{ next_backup_at: Date | string }[]>`select next_backup_at from entities where id = ${active}`;
  t.equal(new Date(row!.next_backup_at).toISOString(), '2026-06-03T03:00:00.000Z', 'overdue while paused: the next slot, not at once');
  t.equal((await schedulerJob(deps)).enqueued, 0);
  app.clock.set(new Date('2026-06-03T03:00:10Z'));
  t.equal((await schedulerJob(deps)).enqueued, 1, 'scheduled again once resumed');

  await sql`update tasks set state = 'deleted' where id = ${f.taskId}`;
  t.equal((await app.request('POST', `/v1/tasks/${f.taskId}/pause`, { key })).body.code, 'task_deleted');
  const other = await app.signUp();
  for (const action of ['pause', 'resume']) {
    t.equal((await app.request('POST', `/v1/tasks/${f.taskId}/${action}`, { key: other.key })).status, 404, `another account cannot ${action} it`);
  }
});

t.test('the overview counts entities by status, protected data, failing entities and recent smart alerts', async (t) => {
  const f = await startBackupFixture(t);
  const { app } = f;
  const { sql } = app.deps;
  const key = f.account.key;
  const now = new Date('2026-06-10T12:00:00Z');
  app.clock.set(now);
  const e = async (email: string, set: Record<string, unknown>) => {
    const id = await f.memberEntity(f.emu.state.addMember({ email }));
    await sql`update entities set ${sql(set as Record<string, string>)} where id = ${id}`;
    return id;
  };
  await e('ok1@coffer-emu.test', { status: 'success', size_bytes: 1000, item_count: 10, last_backup_at: '2026-06-10T03:00:00Z', next_backup_at: '2026-06-11T03:00:00Z' });
  await e('ok2@coffer-emu.test', { status: 'success', size_bytes: 500, item_count: 5, last_backup_at: '2026-06-09T03:00:00Z', next_backup_at: '2026-06-10T15:00:00Z' });
  const failed = await e('bad@coffer-emu.test', { name: 'Bad Member', status: 'failed', size_bytes: 200, item_count: 2, last_backup_at: '2026-06-01T03:00:00Z', next_backup_at: '2026-06-11T03:00:00Z' });
  const partial = await e('half@coffer-emu.test', { name: 'Half Member', status: 'partial', size_bytes: 300, item_count: 3, last_backup_at: '2026-06-10T03:00:00Z' });
  await e('rest@coffer-emu.test', { status: 'paused', size_bytes: 50, item_count: 1 });
  await e('new@coffer-emu.test', { status: 'not_active' });
  await e('gone@coffer-emu.test', { status: 'archived', size_bytes: 9999, item_count: 99 });
  await e('deleted@coffer-emu.test', { status: 'success', state: 'deleted', size_bytes: 7777 });
  const run = (entityId: string, state: string, error: string | null, errors: unknown[]) => sql`
    insert into backup_runs (id, account_id, task_id, entity_id, state, reason, mode, started_at, finished_at, error, errors)
    values (${newId('run')}, ${f.accountId}, ${f.taskId}, ${entityId}, ${state}, 'scheduled', 'incremental', ${now.toISOString()}, ${now.toISOString()}, ${error}, ${JSON.stringify(errors)}::jsonb)`;
  await run(failed, 'failed', 'Dropbox answered 500 five times', []);
  await run(partial, 'partial', null, [{ path: '/x.txt', error: 'content_hash mismatch' }]);
  const alert = (ago: number, description: string) => sql`
    insert into activity_events (id, account_id, type, status, task_id, entity_id, item, description, occurred_at)
    values (${newId('evt')}, ${f.accountId}, 'smart_alert', 'succeeded', ${f.taskId}, ${failed}, 'Bad Member', ${description}, ${new Date(now.getTime() - ago).toISOString()})`;
  await alert(2 * 24 * HOUR, 'mass deletion: 400 of 500 items');
  await alert(10 * 24 * HOUR, 'too old to count');

  const res = await app.request('GET', `/v1/tasks/${f.taskId}/overview`, { key });
  t.equal(res.status, 200);
  t.match(res.body, {
    task_id: f.taskId, name: 'Emulated team', connection_status: 'connected', paused_at: null,
    entities: {
      total: 7, protected: 4,
      by_status: { success: 2, failed: 1, partial: 1, paused: 1, not_active: 1, archived: 1, scheduled: 0, in_process: 0, backed_up_in_another_task: 0 },
    },
    protected_bytes: 2050, protected_items: 21,
    last_backup_at: '2026-06-10T03:00:00.000Z',
    next_backup_at: '2026-06-10T15:00:00.000Z',
  });
  t.same(res.body.failing_entities, {
    count: 2,
    data: [
      { id: failed, name: 'Bad Member', kind: 'member', status: 'failed', last_backup_at: '2026-06-01T03:00:00.000Z', last_error: 'Dropbox answered 500 five times' },
      { id: partial, name: 'Half Member', kind: 'member', status: 'partial', last_backup_at: '2026-06-10T03:00:00.000Z', last_error: 'content_hash mismatch' },
    ],
  }, 'the longest without a good backup first, with why');
  t.equal(res.body.smart_alerts.last_7_days, 1, 'only the last 7 days');
  t.match(res.body.smart_alerts.recent, [{ entity_id: failed, item: 'Bad Member', description: 'mass deletion: 400 of 500 items', occurred_at: '2026-06-08T12:00:00.000Z' }]);

  await app.request('POST', `/v1/tasks/${f.taskId}/pause`, { key });
  const whilePaused = await app.request('GET', `/v1/tasks/${f.taskId}/overview`, { key });
  t.equal(whilePaused.body.next_backup_at, null, 'nothing is next while paused');
  t.equal(whilePaused.body.paused_at, '2026-06-10T12:00:00.000Z');

  // tasks:review guards it.
  const readOnly = await app.request('POST', '/v1/api-keys', { key, body: { name: 'viewer', scopes: ['backups:read'] } });
  t.equal((await app.request('GET', `/v1/tasks/${f.taskId}/overview`, { key: readOnly.body.secret })).status, 403);
  const reviewer = await app.request('POST', '/v1/api-keys', { key, body: { name: 'reviewer', scopes: ['tasks:review'] } });
  t.equal((await app.request('GET', `/v1/tasks/${f.taskId}/overview`, { key: reviewer.body.secret })).status, 200);

  const other = await app.signUp();
  t.equal((await app.request('GET', `/v1/tasks/${f.taskId}/overview`, { key: other.key })).status, 404, 'another account: 404');
});
