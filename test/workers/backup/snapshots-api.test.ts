// The snapshots API over real backups: list snapshots, browse a folder at a snapshot (folders first,
// then by name, paginated), an item's versions, the per-day history, and tenant isolation.
import t from 'tap';
import { startBackupFixture } from '../../helpers/backup-fixture.ts';

const DAY = 86_400_000;

t.test('browse snapshots, items, versions and history', async (t) => {
  const f = await startBackupFixture(t);
  const { app } = f;
  const clock = app.clock;
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  s.putFile(bob, '/b.txt', 'b v1');
  s.putFile(bob, '/A.txt', 'a');
  s.putFile(bob, '/Zeta/z.txt', 'z');
  s.putFile(bob, '/alpha/one.txt', '1');
  s.putFile(bob, '/alpha/two.txt', '2');
  s.mkdir(bob, '/Empty');
  const entityId = await f.memberEntity(bob);
  const key = f.account.key;

  const run1 = await f.backup(entityId);
  clock.advance(DAY);
  s.putFile(bob, '/b.txt', 'b version two');
  s.delete(bob, '/Zeta');
  s.putFile(bob, '/alpha/three.txt', '3');
  const run2 = await f.backup(entityId);
  if (run1.outcome !== 'succeeded' || run2.outcome !== 'succeeded') throw new Error('backups failed');

  const list = await app.request('GET', `/v1/entities/${entityId}/snapshots`, { key });
  t.equal(list.status, 200);
  const snaps = (list.body as { data: { id: string; outcome: string; items: number; counts: Record<string, number> }[] }).data;
  t.same(snaps.map((x) => x.id), [run2.runId, run1.runId], 'newest first');
  t.match(snaps[0], { outcome: 'succeeded', items: 7, counts: { new: 1, changed: 1, deleted: 2 } });
  t.match(snaps[1], { outcome: 'succeeded', items: 8, counts: { new: 8, changed: 0, deleted: 0 } });
  const paged = await app.request('GET', `/v1/entities/${entityId}/snapshots?limit=1`, { key });
  const next = (paged.body as { next_cursor: string }).next_cursor;
  t.ok(next);
  const page2 = await app.request('GET', `/v1/entities/${entityId}/snapshots?limit=1&cursor=${next}`, { key });
  t.same((page2.body as { data: { id: string }[] }).data.map((x) => x.id), [run1.runId]);
  const since = new Date(clock.now().getTime() - DAY / 2).toISOString();
  const filtered = await app.request('GET', `/v1/entities/${entityId}/snapshots?from=${encodeURIComponent(since)}`, { key });
  t.same((filtered.body as { data: { id: string }[] }).data.map((x) => x.id), [run2.runId], 'from filters by time');

  // Root of the first snapshot: folders first, then files, each by name (case-insensitive).
  const root1 = await app.request('GET', `/v1/snapshots/${run1.runId}/items`, { key });
  t.equal(root1.status, 200);
  t.same((root1.body as { data: { name: string }[] }).data.map((i) => i.name), ['alpha', 'Empty', 'Zeta', 'A.txt', 'b.txt']);
  // Paginated, 2 at a time, to the same order.
  const names: string[] = [];
  let cursor: string | null = null;
  do {
    const res = await app.request('GET', `/v1/snapshots/${run1.runId}/items?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { key });
    const body = res.body as { data: { name: string }[]; next_cursor: string | null };
    names.push(...body.data.map((i) => i.name));
    cursor = body.next_cursor;
  } while (cursor);
  t.same(names, ['alpha', 'Empty', 'Zeta', 'A.txt', 'b.txt'], 'pages join up');
  const root2 = await app.request('GET', `/v1/snapshots/${run2.runId}/items`, { key });
  t.same((root2.body as { data: { name: string }[] }).data.map((i) => i.name), ['alpha', 'Empty', 'A.txt', 'b.txt'], 'Zeta is gone in the second snapshot');
  const alpha1 = await app.request('GET', `/v1/snapshots/${run1.runId}/items?path=/Alpha`, { key });
  t.same((alpha1.body as { data: { path: string }[] }).data.map((i) => i.path), ['/alpha/one.txt', '/alpha/two.txt'], 'paths are case-insensitive');
  const alpha2 = await app.request('GET', `/v1/snapshots/${run2.runId}/items?path=/alpha/`, { key });
  t.same((alpha2.body as { data: { name: string }[] }).data.map((i) => i.name), ['one.txt', 'three.txt', 'two.txt']);
  t.equal((await app.request('GET', `/v1/snapshots/${run2.runId}/items?path=/Zeta`, { key })).status, 404, 'a folder not in the snapshot is a 404');
  t.equal((await app.request('GET', `/v1/snapshots/${run2.runId}/items?path=/b.txt`, { key })).status, 404, 'a file is not a folder');
  t.equal((await app.request('GET', `/v1/snapshots/${run2.runId}/items?cursor=nope`, { key })).status, 400);

  // One item and its versions.
  const b1 = (root1.body as { data: { id: string; name: string; content_hash: string; size_bytes: number }[] }).data.find((i) => i.name === 'b.txt')!;
  const b2 = (root2.body as { data: { id: string; name: string; content_hash: string; size_bytes: number }[] }).data.find((i) => i.name === 'b.txt')!;
  t.not(b1.id, b2.id, 'a changed file is a new version');
  t.equal(b1.size_bytes, 4);
  t.equal(b2.size_bytes, 13);
  const detail = await app.request('GET', `/v1/snapshots/${run2.runId}/items/${b2.id}`, { key });
  t.equal(detail.status, 200);
  t.match(detail.body, {
    id: b2.id, kind: 'file', path: '/b.txt', snapshot_id: run2.runId,
    versions: [
      { id: b2.id, first_snapshot_id: run2.runId, replaced_by_snapshot_id: null, size_bytes: 13 },
      { id: b1.id, first_snapshot_id: run1.runId, replaced_by_snapshot_id: run2.runId, size_bytes: 4 },
    ],
  });
  t.equal((await app.request('GET', `/v1/snapshots/${run2.runId}/items/${b1.id}`, { key })).status, 404, 'an old version is not an item of the newer snapshot');
  const snap = await app.request('GET', `/v1/snapshots/${run1.runId}`, { key });
  t.match(snap.body, { id: run1.runId, entity_id: entityId, outcome: 'succeeded' });

  // History: two days with backups, summary tiles.
  const hist = await app.request('GET', `/v1/entities/${entityId}/history`, { key });
  t.equal(hist.status, 200);
  const h = hist.body as { days: { date: string; items_backed_up: number; backups: number }[]; summary: Record<string, unknown> };
  t.equal(h.days.length, 31, "every UTC day the 30-day window touches");
  const active = h.days.filter((d) => d.backups > 0);
  t.same(active.map((d) => d.items_backed_up), [8, 2], 'items backed up per day');
  t.match(h.summary, { total_items: 7, last_outcome: 'succeeded', snapshots: 2 });
  const tooLong = await app.request('GET', `/v1/entities/${entityId}/history?from=2020-01-01T00:00:00Z&to=2020-03-01T00:00:00Z`, { key });
  t.equal(tooLong.status, 400);

  // Tenant isolation: another account sees none of it.
  const other = await app.signUp();
  for (const path of [
    `/v1/entities/${entityId}/snapshots`,
    `/v1/entities/${entityId}/history`,
    `/v1/snapshots/${run1.runId}`,
    `/v1/snapshots/${run1.runId}/items`,
    `/v1/snapshots/${run2.runId}/items/${b2.id}`,
  ]) {
    const res = await app.request('GET', path, { key: other.key });
    t.equal(res.status, 404, `other account: ${path} → 404`);
  }
});
