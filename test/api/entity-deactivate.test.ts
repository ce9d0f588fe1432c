// The `deactivate` entity action: releases an entity back to not_active (what destroying a
// coffer_entity in the IaC tool does), without touching its snapshots.
import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { dropboxConfig, startDropbox, APP_KEY } from '../helpers/dropbox.ts';
import { discoveryJob } from '../../workers/jobs/discovery.ts';

t.test('deactivate: active or paused → not_active and unscheduled; not_active stays; archived is refused', async (t) => {
  const emu = await startDropbox(t);
  emu.state.addMember({ email: 'admin@team.test', givenName: 'Ada', surname: 'Admin', admin: true });
  emu.state.addMember({ email: 'bob@team.test', givenName: 'Bob', surname: 'B' });
  emu.state.addMember({ email: 'cy@team.test', givenName: 'Cy', surname: 'C' });
  const gone = emu.state.addMember({ email: 'gone@team.test', givenName: 'Gone', surname: 'G' });
  emu.state.removeMember(gone);
  const api = await startTestApp(t, { config: dropboxConfig(emu) });
  const { key, accountId } = await api.signUp();
  const { refreshToken } = emu.state.issueTeamTokens(APP_KEY);
  const task = await api.request('POST', '/v1/tasks', { key, body: { name: 'Team', refresh_token: refreshToken, auto_activate: false } });
  await discoveryJob(api.deps, { accountId, taskId: task.body.id });
  const list = await api.request('GET', '/v1/entities?limit=100', { key });
  const id = (name: string) => list.body.data.find((e: { name: string }) => e.name === name).id as string;
  const act = (action: string, ids: string[]) => api.request('POST', '/v1/entities/actions', { key, body: { action, entity_ids: ids } });

  await act('activate', [id('Ada Admin'), id('Bob B')]);
  await act('pause', [id('Bob B')]);
  const res = await act('deactivate', [id('Ada Admin'), id('Bob B'), id('Cy C'), id('Gone G')]);
  t.equal(res.status, 200);
  t.same(res.body.results.map((r: { ok: boolean; status: string; error: { code: string } | null }) => [r.ok, r.status, r.error?.code ?? null]), [
    [true, 'not_active', null],
    [true, 'not_active', null],
    [true, 'not_active', null],
    [false, 'archived', 'not_active'],
  ]);
  const ada = await api.request('GET', `/v1/entities/${id('Ada Admin')}`, { key });
  t.equal(ada.body.status, 'not_active');
  t.equal(ada.body.next_backup_at, null, 'no longer scheduled');
  const backup = await act('backup_now', [id('Ada Admin')]);
  t.equal(backup.body.results[0].error.code, 'not_active', 'a released entity is not backed up');
});
