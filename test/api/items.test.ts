// Item search: words in names and paths (tokenized), file text when the task indexes data,
// ranking, filters, stable keyset pagination, snapshots per item, tenant isolation.
import t from 'tap';
import { startRecoveryFixture, type RecoveryFixture } from '../helpers/recovery-fixture.ts';
import { indexEntity } from '../../workers/recovery/search-index.ts';
import { toTsquery } from '../../api/resources/items/service.ts';

let fx: RecoveryFixture;
let run2: string;
let folderEntity: string;
const search = async (qs: string, key?: string) => {
  const res = await fx.get(`/v1/items?${qs}`, key);
  if (res.status !== 200) throw new Error(`${res.status} ${res.text}`);
  return res.body as { data: any[]; next_cursor: string | null };
};
const paths = (r: { data: any[] }) => r.data.map((i) => i.path);

t.before(async () => {
  fx = await startRecoveryFixture(t, {
    '/Finance/Budget 2024/annual-report_v2.pdf': Buffer.from([0, 1, 2, 3]),
    '/Finance/notes.txt': 'Quarterly revenue projections for the zebra account',
    '/Projects/Report/readme.md': 'hello',
    '/report.txt': 'x',
    '/Photos/holiday.jpg': Buffer.from([9, 9]),
    '/Photos/page.html': '<html><body><p>Flamingo <b>sightings</b></p><script>var secretword = 1</script></body></html>',
  });
  // A second snapshot: one file changed, one added.
  fx.emu.state.putFile(fx.member, '/report.txt', 'changed');
  fx.emu.state.putFile(fx.member, '/Later/report summary.txt', 'later');
  const b = await fx.backup(fx.entityId);
  if (b.outcome !== 'succeeded') throw new Error('backup');
  run2 = b.runId;
  const folder = fx.emu.state.addTeamFolder('Shared Reports');
  fx.emu.state.putFile(folder.id, '/team report.txt', 'team', { modifiedBy: 'dbid:AUTHOR1' });
  fx.emu.state.putFile(folder.id, '/other.txt', 'other', { modifiedBy: 'dbid:AUTHOR2' });
  folderEntity = await fx.teamFolderEntity(folder);
  const c = await fx.backup(folderEntity);
  if (c.outcome !== 'succeeded') throw new Error('backup');
  await indexEntity(fx.app.deps, fx.accountId, fx.entityId);
  await indexEntity(fx.app.deps, fx.accountId, folderEntity);
});

t.test('query syntax', async (t) => {
  t.equal(toTsquery('Annual report'), 'annual & report:*');
  t.equal(toTsquery("x'); drop table --"), 'x & drop & table:*', 'only words reach to_tsquery');
  t.equal(toTsquery('  /.- '), null);
});

t.test('words of names and paths match, the last as a prefix; names rank above folders', async (t) => {
  const r = await search('q=report&limit=100');
  t.same(paths(r).slice(0, 7).sort(), [
    '/Finance/Budget 2024/annual-report_v2.pdf', '/Later/report summary.txt', '/Projects/Report', '/report.txt', '/report.txt', '/team report.txt',
    '/Projects/Report/readme.md',
  ].sort());
  t.equal(r.data.at(-1).path, '/Projects/Report/readme.md', 'a folder-only match ranks last');
  t.ok(r.data[0].rank >= r.data.at(-1).rank);
  t.same(paths(await search('q=annu')), ['/Finance/Budget 2024/annual-report_v2.pdf'], 'prefix');
  t.same(paths(await search('q=budget%20v2')), ['/Finance/Budget 2024/annual-report_v2.pdf'], 'all words, from folders and name, split on _ - . /');
  t.same(paths(await search('q=2024%20pdf')), ['/Finance/Budget 2024/annual-report_v2.pdf']);
  t.same(paths(await search('q=nothingmatches')), []);
});

t.test('file text is searchable when the task indexes data (HTML without markup or scripts)', async (t) => {
  t.same(paths(await search('q=zebra')), ['/Finance/notes.txt']);
  t.same(paths(await search('q=quarterly%20revenue')), ['/Finance/notes.txt']);
  t.same(paths(await search('q=flamingo')), ['/Photos/page.html']);
  t.same(paths(await search('q=secretword')), []);
  // With "index all data for search" off, new files are found by name only.
  await fx.app.deps.sql`update tasks set index_for_search = false where id = ${fx.taskId}`;
  fx.emu.state.putFile(fx.member, '/giraffe.txt', 'okapi');
  const b = await fx.backup(fx.entityId);
  if (b.outcome !== 'succeeded') throw new Error('backup');
  await indexEntity(fx.app.deps, fx.accountId, fx.entityId);
  t.same(paths(await search('q=giraffe')), ['/giraffe.txt']);
  t.same(paths(await search('q=okapi')), []);
  await fx.app.deps.sql`update tasks set index_for_search = true where id = ${fx.taskId}`;
});

t.test('results: entity, size, modified time, author, and the snapshots that hold each version', async (t) => {
  const r = await search(`name=report.txt&entity_id=${fx.entityId}`);
  t.equal(r.data.length, 2, 'two versions of /report.txt');
  const [oldV, newV] = [...r.data].sort((a, b) => (a.snapshot_ids[0] < b.snapshot_ids[0] ? -1 : 1));
  t.same(oldV.snapshot_ids, [fx.runId]);
  t.equal(oldV.current, false);
  t.equal(oldV.size, 1);
  t.ok(newV.snapshot_ids.includes(b2()) && !newV.snapshot_ids.includes(fx.runId), 'the new version: the later snapshots, newest first');
  t.equal(newV.snapshot_count, newV.snapshot_ids.length);
  t.equal(newV.current, true);
  t.equal(newV.size, 7);
  t.equal(newV.entity_id, fx.entityId);
  t.equal(newV.entity_name, 'Bob Builder');
  t.equal(newV.task_id, fx.taskId);
  t.match(newV.modified_time, /^\d{4}-\d\d-\d\dT/);
  const team = await search('q=team%20report');
  t.equal(team.data[0].author, 'dbid:AUTHOR1');
});
const b2 = () => run2;

t.test('filters: entity, task, author, name, kind, modified range', async (t) => {
  t.same(paths(await search(`q=report&entity_id=${folderEntity}`)), ['/team report.txt']);
  t.same(paths(await search(`q=report&task_id=${fx.taskId}&limit=100`)), paths(await search('q=report&limit=100')), 'one task here: the same');
  t.same(paths(await search('author=dbid:AUTHOR2')), ['/other.txt']);
  t.same(paths(await search('q=report&author=dbid:AUTHOR1')), ['/team report.txt']);
  t.same(paths(await search('name=NOTES')), ['/Finance/notes.txt'], 'name contains, case-insensitive');
  t.same(paths(await search('name=100%25')), [], 'LIKE wildcards are literal');
  t.same(paths(await search('q=report&kind=folder')), ['/Projects/Report']);
  t.same((await search('q=report&modified_to=2000-01-01T00:00:00Z')).data, []);
  t.equal((await search('q=report&modified_from=2000-01-01T00:00:00Z&limit=100')).data.length, 6, 'folders have no modified time');
  t.equal((await fx.get('/v1/items?modified_from=yesterday')).status, 400);
});

t.test('pagination is stable and complete, ranked or not', async (t) => {
  for (const q of ['q=report', '']) {
    const all = (await search(`${q}&limit=100`)).data.map((i) => i.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await search(`${q}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.data.map((i) => i.id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor && pages < 50);
    t.same(seen, all, `${q || 'no query'}: pages of 2 give the same list in the same order`);
    t.equal(new Set(seen).size, seen.length, 'no duplicates');
  }
  t.equal((await fx.get('/v1/items?q=report&cursor=garbage')).status, 400);
});

t.test('tenant isolation: another account finds nothing of this one', async (t) => {
  const other = await fx.app.signUp();
  t.same((await search('q=report', other.key)).data, []);
  t.same((await search(`entity_id=${fx.entityId}`, other.key)).data, []);
  t.same((await search('', other.key)).data, []);
});
