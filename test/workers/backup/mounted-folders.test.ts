// A team folder is its own entity, backed up from its own namespace. Dropbox also shows it mounted
// inside each member's home (list_folder's include_mounted_folders, true by default); a member's
// backup must list its home with the flag off, or every member would download and keep another
// copy of every team folder, and restoring the member would write the team folder's files into it.
import t from 'tap';
import { startBackupFixture } from '../../helpers/backup-fixture.ts';

t.test('a member\'s backup leaves out the team folder mounted in their home; the team folder\'s own backup has it', async (t) => {
  const f = await startBackupFixture(t);
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  s.putFile(bob, '/own.txt', 'bob only');
  s.putFile(bob, '/Docs/a.txt', 'a');
  const tf = s.addTeamFolder('Marketing');
  s.putFile(tf.id, '/Plans/q3.md', 'q3 plan', { modifiedBy: bob.accountId });
  s.putFile(tf.id, '/brief.txt', 'brief', { modifiedBy: bob.accountId });
  s.mountTeamFolder(bob, tf);
  const bobId = await f.memberEntity(bob);
  const tfId = await f.teamFolderEntity(tf);

  f.emu.counters.reset();
  const r = await f.backup(bobId);
  t.equal(r.outcome, 'succeeded');
  if (r.outcome !== 'succeeded') return;
  t.same(f.emu.counters.routes, { 'files/list_folder': 1, 'files/download': 2 }, 'one listing, bob\'s own two files and nothing of the team folder');
  const snap = await f.snapshot(bobId, r.runId);
  t.same([...snap.keys()].sort(), ['/docs', '/docs/a.txt', '/marketing', '/own.txt'], 'the mount point is an (empty) folder of bob\'s home; what is under it is not bob\'s');
  t.same([...snap.keys()].filter((p) => p.startsWith('/marketing/')), [], 'no team folder file in the member\'s snapshot');
  await f.assertSnapshot(t, bobId, r.runId, f.dropboxState(bob.homeNsId), 'member home without the mounted folder');

  f.emu.counters.reset();
  const tr = await f.backup(tfId);
  t.equal(tr.outcome, 'succeeded');
  if (tr.outcome !== 'succeeded') return;
  t.same(f.emu.counters.routes, { 'files/list_folder': 1, 'files/download': 2 }, 'the team folder\'s files are fetched once, for the team folder');
  await f.assertSnapshot(t, tfId, tr.runId, f.dropboxState(tf.id), 'the team folder itself');

  // A change in the team folder is not a change of bob's home.
  s.putFile(tf.id, '/Plans/q4.md', 'q4 plan');
  s.putFile(bob, '/new.txt', 'new');
  f.emu.counters.reset();
  const inc = await f.backup(bobId);
  t.equal(inc.outcome, 'succeeded');
  if (inc.outcome !== 'succeeded') return;
  t.same(f.emu.counters.routes, { 'files/list_folder/continue': 1, 'files/download': 1 }, 'only bob\'s new file');
  await f.assertSnapshot(t, bobId, inc.runId, f.dropboxState(bob.homeNsId), 'incremental member home');
});

t.test('the first backup\'s zip pass does not zip a mount point', async (t) => {
  const f = await startBackupFixture(t);
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  for (let i = 0; i < 25; i++) s.putFile(bob, `/Docs/${i}.txt`, `doc ${i}\n`.repeat(10 + i));
  const tf = s.addTeamFolder('Marketing');
  for (let i = 0; i < 25; i++) s.putFile(tf.id, `/Plans/${i}.md`, `plan ${i}\n`.repeat(10 + i));
  s.mountTeamFolder(bob, tf);
  const bobId = await f.memberEntity(bob);
  f.emu.counters.reset();
  const r = await f.backup(bobId, { zipMaxBytes: 64 * 1024 * 1024 });
  t.equal(r.outcome, 'succeeded');
  if (r.outcome !== 'succeeded') return;
  t.same(f.emu.counters.routes, { 'files/list_folder': 2, 'files/download_zip': 1 }, 'the listing, the root\'s folders, one zip of /Docs; none of /Marketing');
  await f.assertSnapshot(t, bobId, r.runId, f.dropboxState(bob.homeNsId), 'zipped member home beside a mount point');
});
