// Recovery benchmark (run by `npm run bench -- recovery`, not by npm test).
// (a) restore of 5,000 × 10 KB and of 5 × 100 MiB files into the Dropbox emulator (its own
// process): files/s, MiB/s, data-transport calls; (b) export of the same snapshots to a download
// ZIP (encrypted, in the blob store): MiB/s; (c) item search latency, p50 / p95 over 200 queries,
// on a search index of 1,000,000 item versions.
import type { RequestContext } from '../../api/context.ts';
import { newId } from '../../db/ids.ts';
import { jobs } from '../../db/schema.ts';
import { runBackup } from '../../workers/backup/engine.ts';
import { runRestore } from '../../workers/recovery/restore.ts';
import { runExport } from '../../workers/recovery/export.ts';
import { benchAccount, benchEnvironment } from './fixtures/environment.ts';
import { searchItems } from '../../api/resources/items/service.ts';
import { SEPARATORS, SPACES } from '../../workers/recovery/search-index.ts';

const SMALL = Number(process.env.BENCH_SMALL ?? 5_000);
const LARGE = Number(process.env.BENCH_LARGE ?? 5);
const LARGE_SIZE = 100 * 1024 * 1024;
const VERSIONS = Number(process.env.BENCH_VERSIONS ?? 1_000_000);
const MiB = 1024 * 1024;

const env = await benchEnvironment(SMALL, LARGE, LARGE_SIZE);
const { emulator: info } = env;

const { deps, accountId, taskId, entity } = await benchAccount(env);
const counters = async () => ((await (await fetch(`${info.url}/_emulator/counters`)).json()) as { dataTransportThisMonth: number }).dataTransportThisMonth;

const results: string[] = [];
try {
  for (const [label, m, count] of [[`${SMALL} × 10 KB`, info.small, SMALL], [`${LARGE} × 100 MiB`, info.large, LARGE]] as const) {
    const entityId = await entity(m);
    const b0 = Date.now();
    const backup = await runBackup(deps, { accountId, entityId, reason: 'manual' });
    if (backup.outcome !== 'succeeded') throw new Error(`backup ${label}: ${JSON.stringify(backup)}`);
    console.log(`backup of ${label} (setup): ${((Date.now() - b0) / 1000).toFixed(1)} s`);
    const [run] = await deps.sql<{ total_size: number }[]>`select total_size::float8 as total_size from backup_runs where id = ${backup.runId}`;
    const bytes = Number(run!.total_size);
    const newJob = async (type: 'restore' | 'export') => {
      const id = newId('job');
      await deps.db.insert(jobs).values({
        id, accountId, type, state: 'pending', taskId, entityId, snapshotId: backup.runId, snapshotAt: new Date(), source: { snapshotId: backup.runId },
        destination: type === 'restore' ? { mode: 'non_destructive' } : { type: 'download' }, itemsTotal: count, bytesTotal: bytes, createdAt: new Date(),
      });
      return id;
    };

    const dt0 = await counters();
    const rJob = await newJob('restore');
    const r0 = performance.now();
    const outcome = await runRestore(deps, rJob);
    const rs = (performance.now() - r0) / 1000;
    const calls = (await counters()) - dt0;
    const [rj] = await deps.sql<{ items_done: number }[]>`select items_done from jobs where id = ${rJob}`;
    results.push(`restore ${label}: ${outcome}, ${rj!.items_done} files in ${rs.toFixed(2)} s → ${(count / rs).toFixed(0)} files/s, ${(bytes / MiB / rs).toFixed(1)} MiB/s, ${calls} data-transport calls`);
    console.log(results.at(-1));

    const eJob = await newJob('export');
    const e0 = performance.now();
    const eOutcome = await runExport(deps, eJob);
    const es = (performance.now() - e0) / 1000;
    const [ej] = await deps.sql<{ result_size: number }[]>`select result_size::float8 as result_size from jobs where id = ${eJob}`;
    results.push(`export ${label} to a download ZIP: ${eOutcome}, ${(Number(ej!.result_size) / MiB).toFixed(1)} MiB archive in ${es.toFixed(2)} s → ${(bytes / MiB / es).toFixed(1)} MiB/s, ${(count / es).toFixed(0)} files/s`);
    console.log(results.at(-1));
  }

  // Search: 1,000,000 synthetic item versions over 10 entities, Zipf-like words in paths.
  const s0 = Date.now();
  const entityIds: string[] = [];
  for (let i = 0; i < 10; i++) entityIds.push(await entity({ id: `dbmid:search${i}`, ns: `ns${i}` }));
  const runId = newId('run');
  await deps.sql`insert into backup_runs (id, account_id, task_id, entity_id, state, reason, mode, started_at, finished_at)
    select ${runId}, ${accountId}, ${taskId}, e, 'succeeded', 'manual', 'full', now(), now() from unnest(${entityIds}::text[]) e limit 1`;
  await deps.sql.unsafe(`
    create table bench_vocab as
      select i, w from (select i, substr(md5(i::text), 1, 3 + (i % 6)) as w from generate_series(1, 5000) i) x`);
  const perEntity = Math.ceil(VERSIONS / entityIds.length);
  for (const [k, e] of entityIds.entries()) {
    await deps.sql.unsafe(`
      insert into item_versions (id, account_id, entity_id, path_lower, path_display, parent_lower, name, kind, size, server_modified, valid_from_run)
      select 'item_' || lpad(to_hex(${k} * 10000000 + g), 26, '0'), $1, $2,
        p.parent || '/' || p.name, p.parent || '/' || p.name, p.parent, p.name, 'file', g % 100000, now() - (g % 1000) * interval '1 hour', $3
      from (select array_agg(w order by i) as a from bench_vocab) v, generate_series(1, ${perEntity}) g,
      lateral (select
        '/' || v.a[1 + floor(4999 * power(random(), 3) + g * 0)::int] || '/' || v.a[1 + floor(4999 * power(random(), 3) + g * 0)::int] as parent,
        v.a[1 + floor(4999 * power(random(), 3) + g * 0)::int] || '-' || v.a[1 + floor(4999 * power(random(), 2) + g * 0)::int] || '.' ||
          (array['pdf','docx','txt','jpg','xlsx'])[1 + g % 5] as name) p`,
      [accountId, e, runId]);
  }
  const loadS = (Date.now() - s0) / 1000;
  const i0 = Date.now();
  await deps.sql.unsafe(`
    insert into search_documents (item_version_id, account_id, entity_id, tsv)
    select id, account_id, entity_id,
      setweight(to_tsvector('simple', translate(unaccent(name), $1, $2)), 'A') || setweight(to_tsvector('simple', translate(unaccent(parent_lower), $1, $2)), 'B')
    from item_versions where account_id = $3`, [SEPARATORS, SPACES, accountId]);
  await deps.sql`vacuum analyze search_documents`;
  await deps.sql`analyze item_versions`;
  const indexS = (Date.now() - i0) / 1000;
  const [{ n }] = await deps.sql<{ n: number }[]>`select count(*)::int as n from search_documents where account_id = ${accountId}` as unknown as [{ n: number }];
  console.log(`search index: ${n} item versions loaded in ${loadS.toFixed(1)} s, indexed in ${indexS.toFixed(1)} s`);

  const vocab = (await deps.sql<{ i: number; w: string }[]>`select i, w from bench_vocab order by i`).map((r) => r.w);
  const ctx: RequestContext = { accountId, userId: 'usr_bench', credentialId: 'key_bench', credentialKind: 'api_key', permissions: new Set(), role: 'custom', ip: '127.0.0.1', userAgent: undefined, requestId: 'bench', accountState: 'active' };
  const queries: string[] = [];
  for (let i = 0; i < 200; i++) {
    const pick = () => vocab[Math.floor(vocab.length * Math.random() ** 2)]!;
    const kind = i % 4;
    queries.push(kind === 0 ? pick() : kind === 1 ? `${pick()} ${pick()}` : kind === 2 ? pick().slice(0, 3) : vocab[i]!); // frequent, two words, prefix, frequent-ish
  }
  for (const q of queries.slice(0, 20)) await searchItems(deps, ctx, { limit: 25, after: undefined }, { q }); // warm up
  const times: number[] = [];
  const byKind: number[][] = [[], [], [], []];
  let hits = 0;
  for (const [i, q] of queries.entries()) {
    const t0 = performance.now();
    const r = await searchItems(deps, ctx, { limit: 25, after: undefined }, { q });
    times.push(performance.now() - t0);
    byKind[i % 4]!.push(times.at(-1)!);
    hits += r.data.length;
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!.toFixed(1);
  console.log(`search p50 by kind: one frequent word ${med(byKind[0]!)} ms, two words ${med(byKind[1]!)} ms, 3-letter prefix ${med(byKind[2]!)} ms, one word of the top 200 ${med(byKind[3]!)} ms`);
  times.sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
  results.push(`item search over ${n.toLocaleString('en')} item versions, 200 ranked queries (top 25 + snapshots): p50 ${pct(0.5).toFixed(1)} ms, p95 ${pct(0.95).toFixed(1)} ms, max ${times.at(-1)!.toFixed(1)} ms (${(hits / 200).toFixed(1)} results per query)`);
  const filtered: number[] = [];
  for (const q of queries.slice(0, 50)) {
    const t0 = performance.now();
    await searchItems(deps, ctx, { limit: 25, after: undefined }, { q, entity_id: entityIds[3]!, modified_from: new Date(Date.now() - 500 * 3600_000).toISOString() });
    filtered.push(performance.now() - t0);
  }
  filtered.sort((a, b) => a - b);
  results.push(`item search with entity + modified filters, 50 queries: p50 ${filtered[25]!.toFixed(1)} ms, p95 ${filtered[47]!.toFixed(1)} ms`);
  console.log(results.at(-2));
  console.log(results.at(-1));
  console.log('\nsummary:\n' + results.map((r) => `  ${r}`).join('\n'));
} finally {
  await env.close();
}
