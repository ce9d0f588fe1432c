// The processing rules of a listing page, without a database or Dropbox: what closes, what is
// inserted, what counts as seen, and what fails (workers/backup/page-diff.ts).
import t from 'tap';
import type { ListEntry } from '#workers/dropbox/files.ts';
import type { AliveRow, Content } from '#workers/backup/entries.ts';
import { diffPage } from '#workers/backup/page-diff.ts';

const owner = { accountId: 'acct_1', entityId: 'ent_1', runId: 'run_2' };
const HASH = 'a'.repeat(64);
const content: Content = { size: 3, blocks: Buffer.alloc(32, 1) };

const file = (path: string, rev = 'r1', hash = HASH): ListEntry =>
  ({ '.tag': 'file', name: path.split('/').pop()!, path_lower: path, path_display: path, id: `id:${path}`, rev, size: 3, content_hash: hash,
    client_modified: '2026-01-01T00:00:00Z', server_modified: '2026-01-01T00:00:00Z' }) as unknown as ListEntry;
const folder = (path: string): ListEntry => ({ '.tag': 'folder', name: path.split('/').pop()!, path_lower: path, path_display: path, id: `id:${path}` }) as ListEntry;
const deleted = (path: string): ListEntry => ({ '.tag': 'deleted', name: path.split('/').pop()!, path_lower: path, path_display: path }) as ListEntry;
const alive = (rows: Partial<AliveRow>[]) =>
  new Map(rows.map((r, i) => [r.path_lower!, { id: `item_${i}`, kind: 'file', rev: 'r1', content_hash: HASH, export_as: null, valid_from_run: 'run_1', ...r } as AliveRow]));

t.test('a file that replaces a folder closes the folder and everything under it', async (t) => {
  const live = alive([{ path_lower: '/docs', kind: 'folder', rev: null, content_hash: null }, { path_lower: '/docs/a.txt' }]);
  const d = diffPage(owner, [file('/docs')], live, new Map([[HASH, content]]), new Map());
  t.same([...d.subtreeCloses], ['/docs']);
  t.same([...d.exactCloses], []);
  t.same([...d.inserts.keys()], ['/docs']);
  t.match(d.inserts.get('/docs'), { kind: 'file', valid_from_run: 'run_2', seen_run: 'run_2', account_id: 'acct_1', entity_id: 'ent_1', parent_lower: '' });
  t.same({ nNew: d.nNew, nChanged: d.nChanged, replaced: d.replaced }, { nNew: 1, nChanged: 0, replaced: 1 }, 'a folder that became a file is new, not changed');
});

t.test('a deleted folder takes the versions this page inserted under it too', async (t) => {
  const d = diffPage(owner, [folder('/new'), file('/new/x.txt'), deleted('/new')], new Map(), new Map([[HASH, content]]), new Map());
  t.same([...d.inserts.keys()], [], 'nothing of /new is inserted');
  t.same([...d.subtreeCloses], ['/new']);
});

t.test('an unchanged file is seen; a file whose content could not be fetched keeps its old version', async (t) => {
  const live = alive([{ path_lower: '/same.txt' }, { path_lower: '/broken.txt' }]);
  const other = 'b'.repeat(64);
  const d = diffPage(owner, [file('/same.txt'), file('/broken.txt', 'r2', other)], live, new Map(), new Map([[other, 'content_hash mismatch']]));
  t.same(d.seen, ['item_0', 'item_1'], 'both stay in the snapshot');
  t.same({ nUnchanged: d.nUnchanged, nFailed: d.nFailed }, { nUnchanged: 1, nFailed: 1 });
  t.match(d.errors, [{ path: '/broken.txt', error: 'content_hash mismatch' }]);
  t.same([...d.inserts.keys()], []);
  t.same([...d.exactCloses], []);
});

t.test('a changed file closes only its own path', async (t) => {
  const live = alive([{ path_lower: '/f.txt' }]);
  const other = 'c'.repeat(64);
  const d = diffPage(owner, [file('/f.txt', 'r2', other)], live, new Map([[other, content]]), new Map());
  t.same([...d.exactCloses], ['/f.txt']);
  t.same({ nChanged: d.nChanged, replaced: d.replaced }, { nChanged: 1, replaced: 1 });
  t.match(d.inserts.get('/f.txt'), { rev: 'r2', content_hash: other, blocks: content.blocks });
});
