// Incremental backups: each snapshot equals Dropbox's state at its run (add, change, rename, move,
// delete, folder replaced by a file, a cursor reset), older snapshots never change, an unchanged
// entity costs exactly one list_folder/continue and no download, and the same file in two members'
// folders is stored once.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { startBackupFixture, type ExpectedItem } from '../../helpers/backup-fixture.ts';

t.test('snapshots follow every kind of change; unchanged costs one call', async (t) => {
  const f = await startBackupFixture(t);
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test', givenName: 'Bob', surname: 'Builder' });
  for (let i = 0; i < 40; i++) s.putFile(bob, `/Projects/p${i % 4}/file-${i}.txt`, `v1 of ${i}\n`);
  s.putFile(bob, '/keep.txt', 'keep');
  s.putFile(bob, '/rename-me.txt', 'rename me');
  s.putFile(bob, '/Old Folder/sub/a.txt', 'a');
  s.putFile(bob, '/Old Folder/b.txt', 'b');
  s.putFile(bob, '/will-become-folder', 'a file first');
  s.putFile(bob, '/Folder To File/x.txt', 'x');
  const entityId = await f.memberEntity(bob);

  const snapshots: { runId: string; expected: Map<string, ExpectedItem>; label: string }[] = [];
  const backupAndCheck = async (label: string) => {
    const r = await f.backup(entityId, { pageLimit: 7 });
    t.equal(r.outcome, 'succeeded', `${label}: succeeded`);
    if (r.outcome === 'skipped' || r.outcome === 'failed') throw new Error(label);
    const expected = f.dropboxState(bob.homeNsId);
    await f.assertSnapshot(t, entityId, r.runId, expected, label);
    snapshots.push({ runId: r.runId, expected, label });
    return r;
  };

  const first = await backupAndCheck('run 1 (full)');
  t.equal(first.counts.new, f.dropboxState(bob.homeNsId).size);

  // Run 2: add, change, rename, move a folder, delete a file and a folder, file ↔ folder swaps.
  s.putFile(bob, '/new/added.txt', 'added');
  s.putFile(bob, '/Projects/p0/file-0.txt', 'v2 of 0\n');
  s.move(bob, '/rename-me.txt', '/renamed.txt');
  s.move(bob, '/Old Folder', '/Archive/Moved Folder');
  s.delete(bob, '/Projects/p1/file-1.txt');
  s.delete(bob, '/Projects/p2');
  s.delete(bob, '/will-become-folder');
  s.putFile(bob, '/will-become-folder/inside.txt', 'now a folder');
  s.delete(bob, '/Folder To File');
  s.putFile(bob, '/Folder To File', 'now a file');
  const second = await backupAndCheck('run 2 (changes)');
  t.equal(second.counts.changed, 1, 'one file changed');
  t.ok(second.counts.deleted >= 3, `deletions counted (${second.counts.deleted})`);
  t.equal(second.counts.downloaded, 4, 'only new content was downloaded (renames and moves reuse stored content)');

  // Run 3: nothing changed: one list_folder/continue call, no download, no new version.
  f.emu.counters.reset();
  const [{ n: versionsBefore }] = await f.app.deps.sql<{ n: number }[]>`select count(*)::int as n from item_versions where entity_id = ${entityId}`;
  const third = await backupAndCheck('run 3 (unchanged)');
  t.same(f.emu.counters.routes, { 'files/list_folder/continue': 1 }, 'exactly one Dropbox call');
  t.equal(third.counts.downloaded, 0);
  const [{ n: versionsAfter }] = await f.app.deps.sql<{ n: number }[]>`select count(*)::int as n from item_versions where entity_id = ${entityId}`;
  t.equal(versionsAfter, versionsBefore, 'an unchanged run writes no version rows');

  // Run 4: Dropbox resets the cursor: a full relist that still ends with the right snapshot.
  s.putFile(bob, '/after-reset.txt', 'after reset');
  s.delete(bob, '/keep.txt');
  s.invalidateCursors(bob);
  await backupAndCheck('run 4 (cursor reset)');

  // Older snapshots are untouched by later runs.
  for (const snap of snapshots) await f.assertSnapshot(t, entityId, snap.runId, snap.expected, `${snap.label}, re-read at the end`);

  const runs = await f.app.deps.sql<{ state: string; mode: string }[]>`select state, mode from backup_runs where entity_id = ${entityId} order by id`;
  t.same(runs.map((r) => r.mode), ['full', 'incremental', 'incremental', 'full'], 'the reset run switched to a full relist');
  const [dupes] = await f.app.deps.sql<{ n: number }[]>`
    select count(*)::int as n from (select path_lower from item_versions where entity_id = ${entityId} and valid_until_run is null group by path_lower having count(*) > 1) d`;
  t.equal(dupes!.n, 0, 'never two live versions of one path');
});

t.test('the same content in two members and a team folder is stored once', async (t) => {
  const f = await startBackupFixture(t);
  const s = f.emu.state;
  const shared = randomBytes(5 * 1024 * 1024);
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  const eve = s.addMember({ email: 'eve@coffer-emu.test' });
  const tf = s.addTeamFolder('Engineering');
  s.putFile(bob, '/report.pdf', shared);
  s.putFile(eve, '/Downloads/copy of report.pdf', shared);
  s.putFile(tf.id, '/Specs/report.pdf', shared, { modifiedBy: bob.accountId });
  s.putFile(eve, '/own.txt', 'eve only');
  const ids = [await f.memberEntity(bob), await f.memberEntity(eve), await f.teamFolderEntity(tf)];

  f.emu.counters.reset();
  for (const id of ids) t.equal((await f.backup(id)).outcome, 'succeeded');
  t.equal(f.emu.counters.routes['files/download'], 2, 'the shared file is downloaded once, for the first entity');
  const [blocks] = await f.app.deps.sql<{ n: number; bytes: number }[]>`
    select count(*)::int as n, sum(plain_size)::float8 as bytes from blocks where account_id = ${f.accountId}`;
  t.equal(blocks!.n, 3, 'two 4 MiB-boundary blocks of the shared file + one of own.txt');
  t.equal(blocks!.bytes, shared.length + 'eve only'.length);

  const runs = await f.app.deps.sql<{ id: string; entity_id: string }[]>`select id, entity_id from backup_runs order by id`;
  for (const run of runs) {
    const ns = run.entity_id === ids[0] ? bob.homeNsId : run.entity_id === ids[1] ? eve.homeNsId : tf.id;
    await f.assertSnapshot(t, run.entity_id, run.id, f.dropboxState(ns), `entity ${run.entity_id}`);
  }
  const tfSnap = await f.snapshot(ids[2]!, runs[2]!.id);
  t.equal(tfSnap.get('/specs/report.pdf')?.kind, 'file');
  const [modifier] = await f.app.deps.sql<{ modified_by: string | null }[]>`select modified_by from item_versions where entity_id = ${ids[2]!} and path_lower = '/specs/report.pdf'`;
  t.equal(modifier!.modified_by, bob.accountId, 'team folder files record who modified them');
});
