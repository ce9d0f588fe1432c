// First backup of a member's folder: every file's bytes read back from storage equal the source,
// across block boundaries (0 B, 4 MiB − 1, 4 MiB, 4 MiB + 1, ~50 MiB), unicode names, nesting and
// many small files; blocks are stored once per account.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { startBackupFixture } from '../../helpers/backup-fixture.ts';

const MiB = 1024 * 1024;

t.test('first backup round-trips every file byte for byte', async (t) => {
  const f = await startBackupFixture(t);
  const bob = f.emu.state.addMember({ email: 'bob@coffer-emu.test', givenName: 'Bob', surname: 'Builder' });
  const put = (path: string, bytes: Buffer | string) => f.emu.state.putFile(bob, path, bytes, { clientModified: '2024-01-15T10:00:00Z' });
  put('/empty.txt', Buffer.alloc(0));
  put('/Docs/4mib-minus-1.bin', randomBytes(4 * MiB - 1));
  put('/Docs/4mib.bin', randomBytes(4 * MiB));
  put('/Docs/4mib-plus-1.bin', randomBytes(4 * MiB + 1));
  // ~50 MiB, compressible in places (repeats a 1 MiB random chunk) so block dedup inside a file shows.
  const chunk = randomBytes(MiB);
  const big = Buffer.concat([randomBytes(20 * MiB), ...Array.from({ length: 8 }, () => chunk), randomBytes(22 * MiB + 123)]);
  put('/Videos/big.mov', big);
  put('/Ünïcode Földer/naïve café ☕.txt', 'crème brûlée\n');
  put('/日本語/ファイル.txt', 'こんにちは');
  put('/a/b/c/d/e/f/deep.txt', 'deep');
  for (let i = 0; i < 300; i++) put(`/Small/${String(i).padStart(3, '0')}.txt`, `small file ${i}\n`.repeat(1 + (i % 13)));
  put('/Small/dup-a.txt', 'same content');
  put('/Small/dup-b.txt', 'same content');
  f.emu.state.mkdir(bob, '/Empty Folder');
  const entityId = await f.memberEntity(bob);

  f.emu.counters.reset();
  const result = await f.backup(entityId, { pageLimit: 100 });
  t.equal(result.outcome, 'succeeded');
  if (result.outcome !== 'succeeded') return;
  const expected = f.dropboxState(bob.homeNsId);
  await f.assertSnapshot(t, entityId, result.runId, expected, 'first run');

  const files = [...expected.values()].filter((e) => e.kind === 'file').length;
  t.equal(result.counts.new, expected.size, 'every file and folder is new');
  // The two identical files are downloaded once; the empty file is never downloaded.
  t.equal(f.emu.counters.routes['files/download'], files - 2, 'one download per distinct non-empty content');
  t.ok((f.emu.counters.routes['files/list_folder/continue'] ?? 0) >= 3, 'the listing was paged (100 entries a page)');

  // Blocks: stored once. big.mov's 8 repeated MiB fall inside blocks that differ, but the counts
  // must equal the number of distinct block hashes over all files.
  const [blocks] = await f.app.deps.sql<{ n: number }[]>`select count(*)::int as n from blocks where account_id = ${f.accountId}`;
  const snap = await f.snapshot(entityId, result.runId);
  const distinct = new Set<string>();
  for (const item of snap.values()) {
    const b = item.blocks ?? Buffer.alloc(0);
    for (let i = 0; i < b.length; i += 32) distinct.add(b.subarray(i, i + 32).toString('hex'));
  }
  t.equal(blocks!.n, distinct.size, 'one block row per distinct block');
  const [packs] = await f.app.deps.sql<{ n: number; pending: number }[]>`
    select count(*)::int as n, count(*) filter (where state = 'pending')::int as pending from packs where account_id = ${f.accountId}`;
  t.equal(packs!.pending, 0, 'no pack left pending');
  t.ok(packs!.n < 10, `small files share packs (${packs!.n} packs for ${files} files, ~${Math.round(big.length / MiB) + 12} MiB)`);

  // The entity and the run row say what happened.
  const [entity] = await f.app.deps.sql<{ status: string; item_count: number; size_bytes: number; last_backup_at: Date | null }[]>`
    select status, item_count, size_bytes::float8 as size_bytes, last_backup_at from entities where id = ${entityId}`;
  const totalBytes = [...expected.values()].reduce((n, e) => n + (e.bytes?.length ?? 0), 0);
  t.match(entity, { status: 'success', item_count: expected.size, size_bytes: totalBytes });
  t.ok(entity!.last_backup_at);
  const events = await f.app.deps.sql<{ type: string; status: string; entity_id: string }[]>`select type, status, entity_id from activity_events where account_id = ${f.accountId}`;
  t.same(events, [{ type: 'backup', status: 'succeeded', entity_id: entityId }], 'one activity event per run');
});
