// Documents Dropbox cannot download as they are (Paper, Google Docs: is_downloadable false) are
// backed up through files/export: the run succeeds rather than ending partial, the snapshot holds
// the export's bytes with its format, an unchanged document is not exported again, an edited one
// is, and an export whose bytes do not match Dropbox's export_hash is a failed item, never stored.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { startBackupFixture } from '../../helpers/backup-fixture.ts';

t.test('Paper and Google Docs are exported, verified, stored once and re-exported only when edited', async (t) => {
  const f = await startBackupFixture(t);
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  const docx = randomBytes(300_000);
  s.putFile(bob, '/Plans/Roadmap.gdoc', 'native google doc', { exportAs: 'docx', exportBytes: docx });
  s.putFile(bob, '/Plans/Notes.paper', 'native paper doc', { exportAs: 'markdown', exportBytes: Buffer.from('# Notes\n- ship it\n') });
  s.putFile(bob, '/Plans/budget.xlsx', randomBytes(50_000));
  const entityId = await f.memberEntity(bob);

  f.emu.counters.reset();
  const first = await f.backup(entityId);
  t.equal(first.outcome, 'succeeded', 'not partial');
  if (first.outcome !== 'succeeded') return;
  t.same(f.emu.counters.routes['files/export'], 2, 'each document exported once');
  t.same(f.emu.counters.routes['files/download'], 1, 'the ordinary file downloaded');
  await f.assertSnapshot(t, entityId, first.runId, f.dropboxState(bob.homeNsId), 'documents stored as their exports');
  const rows = await f.app.deps.sql<{ path_lower: string; export_as: string | null; size: number }[]>`
    select path_lower, export_as, size::float8 as size from item_versions where entity_id = ${entityId} and kind = 'file' order by path_lower`;
  t.same(rows, [
    { path_lower: '/plans/budget.xlsx', export_as: null, size: 50_000 },
    { path_lower: '/plans/notes.paper', export_as: 'markdown', size: 18 },
    { path_lower: '/plans/roadmap.gdoc', export_as: 'docx', size: 300_000 },
  ]);

  // The API says which items are exports; restores and exports name them with the format added.
  const listed = await f.app.request('GET', `/v1/snapshots/${first.runId}/items?path=/Plans`, { key: f.account.key });
  t.equal(listed.status, 200);
  const byName = new Map((listed.body as { data: { name: string; exported_as: string | null; size_bytes: number }[] }).data.map((i) => [i.name, i]));
  t.equal(byName.get('Roadmap.gdoc')?.exported_as, 'docx');
  t.equal(byName.get('budget.xlsx')?.exported_as, null);
  const { itemsPage } = await import('../../../workers/recovery/source.ts');
  const page = await itemsPage(f.app.deps, { accountId: f.accountId, entityId, runId: first.runId }, 'file', undefined, 10);
  t.same(page.map((i) => i.path_display).sort(), ['/Plans/Notes.paper.markdown', '/Plans/Roadmap.gdoc.docx', '/Plans/budget.xlsx']);

  // Unchanged: nothing exported again. Edited: exported again, the old export stays in the first snapshot.
  f.emu.counters.reset();
  const same = await f.backup(entityId);
  t.same(f.emu.counters.routes, { 'files/list_folder/continue': 1 }, 'an unchanged document costs nothing');
  t.equal(same.outcome, 'succeeded');
  s.putFile(bob, '/Plans/Roadmap.gdoc', 'native google doc, edited', { exportAs: 'docx', exportBytes: randomBytes(200_000) });
  f.emu.counters.reset();
  const edited = await f.backup(entityId);
  t.equal(edited.outcome, 'succeeded');
  if (edited.outcome !== 'succeeded') return;
  t.equal(f.emu.counters.routes['files/export'], 1);
  t.equal(edited.counts.changed, 1);
  await f.assertSnapshot(t, entityId, edited.runId, f.dropboxState(bob.homeNsId), 'after the edit');
  const old = (await f.snapshot(entityId, first.runId)).get('/plans/roadmap.gdoc')!;
  t.ok((await f.readBack(old)).equals(docx), 'the first snapshot still has the first export');
});

t.test('an export that does not match its export_hash is a failed item', async (t) => {
  const f = await startBackupFixture(t);
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  s.putFile(bob, '/Doc.gdoc', 'native', { exportAs: 'docx', exportBytes: randomBytes(10_000) });
  s.putFile(bob, '/ok.txt', 'fine');
  const entityId = await f.memberEntity(bob);
  const corrupting = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const res = await fetch(input, init);
    if (!String(input).endsWith('/2/files/export')) return res;
    const bytes = Buffer.from(await res.arrayBuffer());
    bytes[0] = bytes[0]! ^ 0xff;
    return new Response(bytes, { status: 200, headers: res.headers });
  };
  const r = await f.backup(entityId, { fetch: corrupting });
  t.equal(r.outcome, 'partial');
  if (r.outcome !== 'partial') return;
  const [run] = await f.app.deps.sql<{ errors: { path: string; error: string }[] }[]>`select errors from backup_runs where id = ${r.runId}`;
  t.match(run!.errors, [{ path: '/Doc.gdoc', error: /export_hash mismatch/ }]);
  const snap = await f.snapshot(entityId, r.runId);
  t.notOk(snap.has('/doc.gdoc'), 'nothing unverified in the snapshot');
  t.ok(snap.has('/ok.txt'));
});
