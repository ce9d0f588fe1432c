// Dropbox Professional (individual) accounts: a task with plan "professional" asks Dropbox for user
// scopes only, so the token is linked to one account; the callback accepts it (a business task still
// refuses a non-team grant), discovery finds exactly that account as one entity, and the same engine
// backs it up and restores it without any team route or select header (the emulator refuses both
// for a user-linked token, as Dropbox does).
import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { approveInBrowser, dropboxConfig, startDropbox } from '../helpers/dropbox.ts';
import { discoveryJob } from '../../workers/jobs/discovery.ts';
import { runBackup } from '../../workers/backup/engine.ts';
import { runRestoreJob } from '../../workers/jobs/recovery.ts';
import { FAST } from '../helpers/backup-fixture.ts';
import { latestRevision } from '../dropbox-emulator/state.ts';

t.test('a Professional account is connected, discovered as one entity, backed up and restored', async (t) => {
  const emu = await startDropbox(t);
  emu.state.addMember({ email: 'admin@team.test', givenName: 'Ada', surname: 'Admin', admin: true });
  emu.state.addMember({ email: 'bob@team.test', givenName: 'Bob', surname: 'Smith' });
  emu.state.addTeamFolder('Finance');
  const pro = emu.state.addPersonalAccount({ email: 'pat@example.test', givenName: 'Pat', surname: 'Pro' });
  emu.state.putFile(pro, '/Clients/contract.pdf', 'signed contract');
  emu.state.putFile(pro, '/notes.txt', 'my notes');
  const api = await startTestApp(t, { config: dropboxConfig(emu) });
  const { key, accountId } = await api.signUp();

  const created = await api.request('POST', '/v1/tasks', { key, body: { name: 'My Dropbox', plan: 'professional' } });
  t.equal(created.status, 201);
  const approval = await approveInBrowser(api, created.body.authorize_url);
  t.equal(new URL(approval.dropboxUrl).searchParams.get('scope'), 'account_info.read files.metadata.read files.content.read files.content.write', 'user scopes only');
  const connected = await api.request('GET', approval.path, { headers: approval.headers });
  t.equal(connected.status, 200, connected.text);
  t.match(connected.body, { plan: 'professional', connection_status: 'connected', dropbox_team: { id: pro.accountId, name: 'Pat Pro' } });

  t.match(await discoveryJob(api.deps, { accountId, taskId: created.body.id }), { discovered: 1, created: 1 });
  const listed = await api.request('GET', `/v1/entities?task_id=${created.body.id}`, { key });
  t.same(listed.body.data.map((e: { name: string; kind: string; email: string }) => [e.name, e.kind, e.email]), [['Pat Pro', 'member', 'pat@example.test']], 'the account itself, no team member or team folder');
  const entity = listed.body.data[0];
  t.equal(entity.dropbox.namespace_id, pro.homeNsId);

  const run = await runBackup(api.deps, { accountId, entityId: entity.id, reason: 'manual' }, FAST);
  t.equal(run.outcome, 'succeeded', JSON.stringify(run));
  if (run.outcome !== 'succeeded') return;
  t.same(run.counts, { new: 3, changed: 0, deleted: 0, failed: 0, unchanged: 0, downloaded: 2, bytesDownloaded: 23, bytesStored: run.counts.bytesStored });
  const top = await api.request('GET', `/v1/snapshots/${run.runId}/items`, { key });
  t.same(top.body.data.map((i: { name: string }) => i.name), ['Clients', 'notes.txt'], top.text);
  const inside = await api.request('GET', `/v1/snapshots/${run.runId}/items?path=/Clients`, { key });
  t.same(inside.body.data.map((i: { name: string }) => i.name), ['contract.pdf']);

  const restore = await api.request('POST', '/v1/restores', { key, body: { source: { snapshot_id: run.runId }, destination: { mode: 'non_destructive' } } });
  t.equal(restore.status, 202, restore.text);
  t.equal(await runRestoreJob(api.deps, restore.body.id), 'succeeded');
  const job = (await api.request('GET', `/v1/jobs/${restore.body.id}`, { key })).body;
  t.equal(latestRevision(emu.state.getEntry(pro, `${job.destination.path}/Clients/contract.pdf`)!).bytes.toString(), 'signed contract', 'restored into the account');
  t.equal(latestRevision(emu.state.getEntry(pro, `${job.destination.path}/notes.txt`)!).bytes.toString(), 'my notes');
});

t.test('a business task still refuses an account that is not a team', async (t) => {
  const emu = await startDropbox(t);
  emu.state.addMember({ email: 'admin@team.test', admin: true });
  emu.state.addPersonalAccount({ email: 'pat@example.test' });
  const api = await startTestApp(t, { config: dropboxConfig(emu) });
  const { key } = await api.signUp();
  const created = await api.request('POST', '/v1/tasks', { key, body: { name: 'Team', plan: 'business' } });
  const approval = await approveInBrowser(api, created.body.authorize_url);
  t.equal(new URL(approval.dropboxUrl).searchParams.get('scope'), null, 'a business task asks for the app\'s team scopes');
  const connected = await api.request('GET', approval.path, { headers: approval.headers });
  t.equal(connected.status, 200, 'the team admin approved: a team token');
  t.match(connected.body, { plan: 'business', connection_status: 'connected' });
});
