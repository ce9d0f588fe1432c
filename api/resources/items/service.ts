// Item search across an account's backups: PostgreSQL full-text search over search_documents (a
// stored tsvector per item version, GIN-indexed; see workers/recovery/search-index.ts), with
// filters, relevance order and keyset pagination.
//
// The tsquery is computed once in the FROM clause (`cross join to_tsquery(...) q`):
// with postgres.js prepared statements a generic plan for `ts_rank(tsv, to_tsquery($1))` chose a
// parallel plan ~30 ms slower (test/bench/README.md, gotcha 3); this form plans like a custom plan.
import type postgres from 'postgres';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { badRequest } from '../../errors.ts';
import { encodeCursor, type PageRequest } from '../../pagination.ts';
import type { ItemSearchQuery, SearchItem } from './schemas.ts';
import { containsPattern } from '../../../db/like.ts';

/** Words of the query as a tsquery: every word must match, the last one as a prefix. */
export function toTsquery(q: string | undefined): string | null {
  if (!q) return null;
  const words = q.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  if (!words.length) return null;
  return words.slice(0, 16).map((w, i, all) => (i === all.length - 1 ? `${w}:*` : w)).join(' & ');
}

interface Row {
  id: string;
  task_id: string;
  entity_id: string;
  entity_name: string;
  kind: 'file' | 'folder';
  name: string;
  path_display: string;
  size: number;
  server_modified: Date | string | null;
  modified_by: string | null;
  valid_from_run: string;
  valid_until_run: string | null;
  rank: number | null;
  snapshot_ids: string[] | null;
  snapshot_count: number;
}

function decodeAfter(after: string | undefined, ranked: boolean): { rank?: number; id: string } | undefined {
  if (after === undefined) return undefined;
  if (!ranked) return { id: after };
  const m = /^(-?[0-9.e+-]+)\|(item_[0-9a-z]{26})$/.exec(after);
  if (!m || !Number.isFinite(Number(m[1]))) throw badRequest('invalid_cursor', 'The cursor is not one this API returned (or belongs to another query).');
  return { rank: Number(m[1]), id: m[2]! };
}

/**
 * The query's words and name filter as the index holds them: through PostgreSQL's unaccent()
 * (search-index.ts applies it to every document), before they are cut into words here, since
 * unaccent turns a few letters into punctuation (`ŉ` → `'n`, `½` → ` 1/2`) that must not reach
 * to_tsquery as syntax.
 */
async function unaccented(deps: AppDeps, query: ItemSearchQuery): Promise<{ q?: string; name?: string }> {
  if (!query.q && !query.name) return {};
  const [row] = await deps.sql<{ q: string | null; name: string | null }[]>`select unaccent(${query.q ?? null}::text) as q, unaccent(${query.name ?? null}::text) as name`;
  return { ...(row?.q ? { q: row.q } : {}), ...(row?.name ? { name: row.name } : {}) };
}

export async function searchItems(deps: AppDeps, ctx: RequestContext, page: PageRequest, query: ItemSearchQuery) {
  const sql = deps.sql;
  const plain = await unaccented(deps, query);
  const tsq = toTsquery(plain.q);
  const after = decodeAfter(page.after, tsq !== null);
  // Filters on the document itself, and on the item version (which then has to be joined for
  // every match; without them only the page's rows are joined).
  const docFilters: postgres.PendingQuery<postgres.Row[]>[] = [];
  const ivFilters: postgres.PendingQuery<postgres.Row[]>[] = [];
  if (query.entity_id) docFilters.push(sql`and d.entity_id = ${query.entity_id}`);
  if (query.task_id) docFilters.push(sql`and d.entity_id in (select id from entities where task_id = ${query.task_id} and account_id = ${ctx.accountId})`);
  if (query.author) ivFilters.push(sql`and iv.modified_by = ${query.author}`);
  if (plain.name) ivFilters.push(sql`and unaccent(iv.name) ilike ${containsPattern(plain.name)}`);
  if (query.kind) ivFilters.push(sql`and iv.kind = ${query.kind}`);
  if (query.modified_from) ivFilters.push(sql`and iv.server_modified >= ${new Date(query.modified_from).toISOString()}`);
  if (query.modified_to) ivFilters.push(sql`and iv.server_modified <= ${new Date(query.modified_to).toISOString()}`);
  const join = (parts: postgres.PendingQuery<postgres.Row[]>[]) => parts.reduce((a, f) => sql`${a} ${f}`, sql``);
  const rankExpr = tsq ? sql`ts_rank(d.tsv, q)::float8` : sql`null::float8`;
  let keyset = sql``;
  if (after) {
    keyset = tsq
      ? sql`and (ts_rank(d.tsv, q)::float8 < ${after.rank!} or (ts_rank(d.tsv, q)::float8 = ${after.rank!} and d.item_version_id > ${after.id}))`
      : sql`and d.item_version_id > ${after.id}`;
  }
  const rows = await sql<Row[]>`
    with top as (
      select d.item_version_id as id, d.entity_id, ${rankExpr} as rank
      from search_documents d
      ${ivFilters.length ? sql`join item_versions iv on iv.id = d.item_version_id` : sql``}
      ${tsq ? sql`cross join to_tsquery('simple', ${tsq}) q` : sql``}
      where d.account_id = ${ctx.accountId}
        ${tsq ? sql`and d.tsv @@ q` : sql``}
        ${join(docFilters)}
        ${join(ivFilters)}
        ${keyset}
      order by ${tsq ? sql`rank desc,` : sql``} d.item_version_id
      limit ${page.limit + 1}
    )
    select top.id, top.rank, e.task_id, top.entity_id, e.name as entity_name, iv.kind, iv.name, iv.path_display,
      iv.size::float8 as size, iv.server_modified, iv.modified_by, iv.valid_from_run, iv.valid_until_run,
      (select array_agg(x.id) from (
         select r.id from backup_runs r
         where r.entity_id = top.entity_id and r.state in ('succeeded', 'partial')
           and r.id >= iv.valid_from_run and (iv.valid_until_run is null or r.id < iv.valid_until_run)
         order by r.id desc limit 20) x) as snapshot_ids,
      (select count(*)::int from backup_runs r
         where r.entity_id = top.entity_id and r.state in ('succeeded', 'partial')
           and r.id >= iv.valid_from_run and (iv.valid_until_run is null or r.id < iv.valid_until_run)) as snapshot_count
    from top
    join item_versions iv on iv.id = top.id
    join entities e on e.id = top.entity_id and e.account_id = ${ctx.accountId}
    order by ${tsq ? sql`top.rank desc,` : sql``} top.id`;
  const more = rows.length > page.limit;
  const pageRows = more ? rows.slice(0, page.limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return {
    data: pageRows.map(serialize),
    next_cursor: more && last ? encodeCursor(tsq ? `${last.rank}|${last.id}` : last.id) : null,
  };
}

function serialize(r: Row): SearchItem {
  return {
    id: r.id,
    task_id: r.task_id,
    entity_id: r.entity_id,
    entity_name: r.entity_name,
    kind: r.kind,
    name: r.name,
    path: r.path_display,
    size: Number(r.size),
    modified_time: r.server_modified ? new Date(r.server_modified).toISOString() : null,
    author: r.modified_by,
    snapshot_ids: r.snapshot_ids ?? [],
    snapshot_count: r.snapshot_count,
    current: r.valid_until_run === null,
    rank: r.rank,
  };
}
