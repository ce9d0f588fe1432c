// Item search finds what people type: without accents and in any case, in words, prefixes, the
// name filter and file text; each snapshot says when the index covers it.
import t from 'tap';
import { startRecoveryFixture, type RecoveryFixture } from '../helpers/recovery-fixture.ts';
import { indexEntity } from '../../workers/recovery/search-index.ts';

let fx: RecoveryFixture;
const search = async (qs: string) => {
  const res = await fx.get(`/v1/items?${qs}`);
  if (res.status !== 200) throw new Error(`${res.status} ${res.text}`);
  return (res.body.data as { path: string; rank: number | null }[]).map((i) => i.path).sort();
};

t.before(async () => {
  fx = await startRecoveryFixture(t, {
    '/CV/résumé-11.txt': 'Curriculum',
    '/Équipe/Straße.md': 'Notes of the café meeting in Zürich',
    '/resume-plain.txt': 'x',
    '/other.txt': 'y',
  });
});

t.test('a snapshot is not searchable until the index covers it, and says so', async (t) => {
  const before = await fx.get(`/v1/snapshots/${fx.runId}`);
  t.equal(before.status, 200);
  t.equal(before.body.search_indexed_at, null, 'not indexed yet');
  t.same(await search('q=resume'), [], 'nothing found before indexing');
  fx.app.clock.advance(60_000);
  const at = fx.app.clock.now().toISOString();
  await indexEntity(fx.app.deps, fx.accountId, fx.entityId);
  t.equal((await fx.get(`/v1/snapshots/${fx.runId}`)).body.search_indexed_at, at, 'indexed, with the time the index covered it');
  const list = await fx.get(`/v1/entities/${fx.entityId}/snapshots`);
  t.equal(list.body.data[0].search_indexed_at, at, 'in the list too');
  fx.app.clock.advance(60_000);
  await indexEntity(fx.app.deps, fx.accountId, fx.entityId);
  t.equal((await fx.get(`/v1/snapshots/${fx.runId}`)).body.search_indexed_at, at, 'a later pass keeps the first time');
});

t.test('words without accents, in any case, find accented names', async (t) => {
  t.same(await search('q=resume'), ['/CV/résumé-11.txt', '/resume-plain.txt']);
  t.same(await search('q=RESUME%2011'), ['/CV/résumé-11.txt']);
  t.same(await search('q=r%C3%A9sum%C3%A9'), ['/CV/résumé-11.txt', '/resume-plain.txt'], 'typed with accents: the plain one too');
  t.same(await search('q=R%C3%89SU'), ['/CV/résumé-11.txt', '/resume-plain.txt'], 'an accented prefix');
  t.same(await search('q=equipe%20strasse'), ['/Équipe/Straße.md'], 'folder and name: É → E, ß → ss');
  t.same(await search('q=zurich%20cafe'), ['/Équipe/Straße.md'], 'file text');
});

t.test('ranking and filters still hold', async (t) => {
  const res = await fx.get('/v1/items?q=resume');
  t.ok(res.body.data.every((i: { rank: number }) => i.rank > 0), 'ranked');
  t.same(await search('q=resume&name=R%C3%89SUM%C3%89-1'), ['/CV/résumé-11.txt'], 'the name filter ignores accents and case');
  t.same(await search('name=resume'), ['/CV/résumé-11.txt', '/resume-plain.txt']);
  t.same(await search('q=resume&kind=folder'), []);
});

t.test('letters that unaccent turns into punctuation never reach to_tsquery as syntax', async (t) => {
  for (const q of ['ŉ', 'ː', '½', '⑴', "l'ŉ ː"]) {
    const res = await fx.get(`/v1/items?q=${encodeURIComponent(q)}`);
    t.equal(res.status, 200, q);
  }
});
