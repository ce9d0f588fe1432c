// A team as Dropbox runs most of them today: the team space (one team root namespace holding every
// member's folder and every team folder), a shared folder mounted in three members' homes, and an
// export-only document. Discovery finds the members, the team folder and the shared folder (once,
// though the namespace list repeats it); each is backed up exactly once — the shared folder's file
// is listed and downloaded for the shared folder only, not for each member — the document through
// files/export; every run ends succeeded, and the document restores as its export.
import t from 'tap';
import { startBackupFixture } from '../../helpers/backup-fixture.ts';
import { discoveryJob } from '../../../workers/jobs/discovery.ts';
import { runRestoreJob } from '../../../workers/jobs/recovery.ts';
import { latestRevision } from '../../dropbox-emulator/state.ts';

t.test('team space, a folder shared with three members, an export-only document: each backed up once', async (t) => {
  const f = await startBackupFixture(t);
  const s = f.emu.state;
  s.useTeamSpace();
  const members = ['bob', 'cid', 'dee'].map((n) => s.addMember({ email: `${n}@coffer-emu.test`, givenName: n, surname: 'Tester' }));
  for (const m of members) s.putFile(m, '/own.txt', `${m.givenName} only`);
  s.putFile(members[0]!, '/Plan.paper', 'paper source', { exportAs: 'md', exportBytes: Buffer.from('# Plan\n') });
  const tf = s.addTeamFolder('Marketing');
  s.putFile(tf.id, '/brief.txt', 'brief');
  const shared = s.addSharedFolder('Client X');
  s.putFile(shared.id, '/contract.pdf', 'the contract');
  for (const m of members) s.mountSharedFolder(m, shared);
  s.mountTeamFolder(members[1]!, tf);

  const rootInfo = (await (await fetch(`${f.emu.url}/2/users/get_current_account`, {
    method: 'POST', headers: { authorization: `Bearer ${s.issueTeamTokens('coffer-local').accessToken}`, 'dropbox-api-select-user': members[0]!.teamMemberId },
  })).json() as { root_info: Record<string, string> }).root_info;
  t.match(rootInfo, { '.tag': 'team', root_namespace_id: s.teamRootNsId, home_namespace_id: members[0]!.homeNsId, home_path: '/bob Tester' });

  await f.app.deps.sql`delete from entities where account_id = ${f.accountId}`;
  t.match(await discoveryJob(f.app.deps, { accountId: f.accountId, taskId: f.taskId }), { created: 6 }, 'admin, three members, the team folder, the shared folder');
  const entities = await f.app.deps.sql<{ id: string; kind: string; name: string; namespace_id: string }[]>`select id, kind, name, namespace_id from entities where account_id = ${f.accountId} order by kind, name`;
  t.same(entities.filter((e) => e.kind !== 'member').map((e) => [e.kind, e.name, e.namespace_id]), [['shared_folder', 'Client X', shared.id], ['team_folder', 'Marketing', tf.id]]);

  f.emu.counters.reset();
  const runs = new Map<string, string>();
  for (const e of entities) {
    const r = await f.backup(e.id);
    t.equal(r.outcome, 'succeeded', `${e.kind} ${e.name}: succeeded`);
    if (r.outcome === 'succeeded') runs.set(e.name, r.runId);
  }
  t.equal(f.emu.counters.routes['files/download'], 3 + 1 + 1, 'three own files, the brief and the contract: each once');
  t.equal(f.emu.counters.routes['files/export'], 1, 'the document once, exported');
  t.equal(f.emu.counters.routes['files/list_folder'], entities.length, 'one listing per entity, none listed twice');

  const bob = entities.find((e) => e.name === 'bob Tester')!;
  const bobSnap = await f.snapshot(bob.id, runs.get('bob Tester')!);
  t.same([...bobSnap.keys()].sort(), ['/client x', '/own.txt', '/plan.paper'], 'the mount point only, not the shared folder\'s contents');
  await f.assertSnapshot(t, entities.find((e) => e.kind === 'shared_folder')!.id, runs.get('Client X')!, f.dropboxState(shared.id), 'the shared folder, once');
  await f.assertSnapshot(t, bob.id, runs.get('bob Tester')!, f.dropboxState(members[0]!.homeNsId), 'bob\'s home with the exported document');

  const restore = await f.app.request('POST', '/v1/restores', { key: f.account.key, body: { source: { snapshot_id: runs.get('bob Tester')! }, destination: { mode: 'non_destructive' } } });
  t.equal(restore.status, 202, restore.text);
  t.equal(await runRestoreJob(f.app.deps, restore.body.id), 'succeeded');
  const job = (await f.app.request('GET', `/v1/jobs/${restore.body.id}`, { key: f.account.key })).body;
  t.equal(latestRevision(s.getEntry(members[0]!, `${job.destination.path}/Plan.paper.md`)!).bytes.toString(), '# Plan\n', 'the document restores as its export, named with the export\'s extension');
});
