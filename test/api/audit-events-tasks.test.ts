// Deleting what is backed up is what an attacker covering their tracks does first: the lifecycle of
// a task and its entities — created, connected to Dropbox, settings changed, paused, deleted,
// undeleted, entities deleted, and the erasure of their backups after the grace period — is in the
// audit log, each event with its declared type, the actor, the address and before/after.
import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { approveInBrowser, dropboxConfig, startDropbox } from '../helpers/dropbox.ts';
import { audited, auditEvents, declaredAudit } from '../helpers/audit.ts';
import { discoveryJob } from '../../workers/jobs/discovery.ts';
import { purgeJob } from '../../workers/jobs/purge.ts';

const DAY = 86_400_000;

t.test('the task and entity lifecycle is audited, and so is the erasure of their backups', async (t) => {
  const emu = await startDropbox(t);
  emu.state.addMember({ email: 'admin@team.test', givenName: 'Ada', surname: 'Admin', admin: true });
  emu.state.addMember({ email: 'bob@team.test', givenName: 'Bob', surname: 'Smith' });
  const api = await startTestApp(t, { config: dropboxConfig(emu), start: new Date('2026-06-01T12:00:00Z') });
  const a = await api.signUp();
  const email = a.body.user.email as string;
  const actor = { performed_by: email, performed_by_user_id: a.userId, ip: '127.0.0.1', status: 'completed' };
  const req = (method: string, path: string, body?: unknown) => api.request(method, path, { key: a.key, body });
  const check = (operationId: string, events: any[], expected: unknown) => {
    t.equal(events.length, 1, `${operationId} wrote one event`);
    t.ok(declaredAudit(operationId).includes(events[0]?.type), `${operationId} wrote the type it declares`);
    t.match(events[0], expected, operationId);
  };

  const created = await audited(api, a.key, () => req('POST', '/v1/tasks', { name: 'Team', backup_hour: 5 }));
  const task = JSON.parse(created.response.text);
  check('createTask', created.events, { type: 'task_created', ...actor, task: 'Team', details: { task_id: task.id, before: null, after: { name: 'Team', backup_hour: 5, state: 'active' } } });

  // The OAuth callback carries no credential: the actor is who started the authorization.
  const callback = await approveInBrowser(api, task.authorize_url);
  const connected = await audited(api, a.key, () => api.request('GET', callback.path, { headers: callback.headers }));
  t.equal(connected.response.status, 200, connected.response.text);
  t.match(connected.events, [{ type: 'task_connected', performed_by: email, performed_by_user_id: a.userId, ip: '127.0.0.1', details: { before: { connection_status: 'pending' }, after: { connection_status: 'connected' } } }]);

  const updated = await audited(api, a.key, () => req('PATCH', `/v1/tasks/${task.id}`, { frequency: 'weekly', retention: { unit: 'days', value: 30 } }));
  t.equal(updated.response.status, 200, updated.response.text);
  check('updateTask', updated.events, { type: 'task_updated', ...actor });
  t.same(updated.events[0].details, {
    task_id: task.id,
    before: { frequency: 'daily', retention: { unit: 'unlimited' } },
    after: { frequency: 'weekly', retention: { unit: 'days', value: 30 } },
  }, 'only the changed settings, before and after');

  const paused = await audited(api, a.key, () => req('POST', `/v1/tasks/${task.id}/pause`));
  check('pauseTask', paused.events, { type: 'task_paused', ...actor, details: { before: { paused_at: null }, after: { paused_at: '2026-06-01T12:00:00.000Z' } } });
  const again = await audited(api, a.key, () => req('POST', `/v1/tasks/${task.id}/pause`));
  t.same(again.events, [], 'pausing a paused task changes nothing and writes nothing');

  await discoveryJob(api.deps, { accountId: a.accountId, taskId: task.id });
  const entities = (await req('GET', `/v1/entities?task_id=${task.id}`)).body.data;
  const bob = entities.find((e: { email: string }) => e.email === 'bob@team.test');
  const deletedEntity = await audited(api, a.key, () => req('POST', '/v1/entities/actions', { action: 'delete', entity_ids: [bob.id, 'ent_unknown'] }));
  t.equal(deletedEntity.response.status, 200, deletedEntity.response.text);
  check('applyEntityAction', deletedEntity.events, {
    type: 'entity_action', ...actor,
    details: { action: 'delete', entities: [{ entity_id: bob.id, name: 'Bob Smith', before: { state: 'active' }, after: { state: 'deleted' } }] },
  });
  t.equal(deletedEntity.events[0].details.entities.length, 1, 'only the entities that changed');

  // The grace period ends: the worker erases the backups, performed by nobody signed in.
  api.clock.advance(7 * DAY + 1);
  const entityPurged = await audited(api, a.key, async () => {
    t.same(await purgeJob(api.deps), { tasks: 0, entities: 1 });
    return { status: 0, text: '' };
  });
  t.same(entityPurged.events.map((e) => [e.type, e.performed_by, e.ip, e.task, e.details]), [
    ['backups_purged', null, null, 'Bob Smith', { entity_id: bob.id, before: { state: 'deleted', deleted_at: '2026-06-01T12:00:00.000Z' }, after: null }],
  ]);

  const deleted = await audited(api, a.key, () => req('DELETE', `/v1/tasks/${task.id}`));
  t.equal(deleted.response.status, 200, deleted.response.text);
  check('deleteTask', deleted.events, { type: 'task_deleted', ...actor, details: { before: { state: 'active', purge_time: null }, after: { state: 'deleted', purge_time: '2026-06-15T12:00:00.001Z' } } });
  const undeleted = await audited(api, a.key, () => req('POST', `/v1/tasks/${task.id}/undelete`));
  check('undeleteTask', undeleted.events, { type: 'task_undeleted', ...actor, details: { before: { state: 'deleted' }, after: { state: 'active', purge_time: null } } });
  t.equal((await req('DELETE', `/v1/tasks/${task.id}`)).status, 200);
  api.clock.advance(7 * DAY + 1);
  const taskPurged = await audited(api, a.key, async () => {
    t.same(await purgeJob(api.deps), { tasks: 1, entities: 0 });
    return { status: 0, text: '' };
  });
  t.same(taskPurged.events.map((e) => [e.type, e.performed_by, e.ip, e.task, e.details]), [
    ['backups_purged', null, null, 'Team', { task_id: task.id, before: { state: 'deleted', deleted_at: '2026-06-08T12:00:00.001Z' }, after: null }],
  ]);
  t.match(await req('GET', '/v1/audit/verify'), { status: 200, body: { intact: true, events_checked: (await auditEvents(api, a.key)).length } });
});
