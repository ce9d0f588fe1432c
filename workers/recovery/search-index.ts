// The item search index, built after a backup (the `search-index` queue), never inside the
// engine's bulk insert: one search_documents row per item version with a stored tsvector.
//
// Paths are tokenized by turning separators into spaces and using the 'simple' configuration
// (test/bench/README.md, gotcha 4: the 'english' parser keeps a whole path as one "file" token);
// the name is weight A, the folders weight B. Every text goes through unaccent() first (so does
// the query, in api/resources/items/service.ts): `resume` finds `résumé-11.txt`, and 'simple'
// lowercases. When the task's "index all data for search" is on, the text of
// text-like files (≤ 1 MiB; the first 256 KiB of text) is added at weight D; it is read from the
// blob store, decrypted only in memory, and never stored as text.
import { eq } from 'drizzle-orm';
import type { AppDeps } from '../../api/deps.ts';
import { entities, tasks } from '../../db/schema.ts';
import { SnapshotReader, type SourceItem } from './source.ts';

export const TEXT_EXTENSIONS = ['txt', 'md', 'markdown', 'csv', 'tsv', 'json', 'html', 'htm', 'xml', 'yaml', 'yml', 'log', 'ini', 'rtf', 'tex', 'js', 'ts', 'py', 'sql'];
export const CONTENT_MAX_FILE = 1024 * 1024;
const CONTENT_MAX_TEXT = 256 * 1024;

/** Separators that become word breaks (the same list is applied to queries). */
export const SEPARATORS = '/._-()[]{},+&@#=~\'';
export const SPACES = ' '.repeat(SEPARATORS.length);

export interface IndexResult {
  paths: number;
  contents: number;
}

export async function indexEntity(deps: AppDeps, accountId: string, entityId: string): Promise<IndexResult> {
  const { sql } = deps;
  // Only versions of completed snapshots (a run in progress is not a snapshot yet); the newest
  // one now is the last snapshot this pass covers.
  const [latest] = await sql<{ id: string | null }[]>`
    select max(r.id) as id from backup_runs r where r.entity_id = ${entityId} and r.account_id = ${accountId} and r.state in ('succeeded', 'partial')`;
  if (!latest?.id) return { paths: 0, contents: 0 };
  const inserted = await sql`
    insert into search_documents (item_version_id, account_id, entity_id, tsv)
    select iv.id, iv.account_id, iv.entity_id,
      setweight(to_tsvector('simple', translate(unaccent(iv.name), ${SEPARATORS}, ${SPACES})), 'A') ||
      setweight(to_tsvector('simple', translate(unaccent(iv.parent_lower), ${SEPARATORS}, ${SPACES})), 'B')
    from item_versions iv
    where iv.entity_id = ${entityId} and iv.account_id = ${accountId}
      and not exists (select 1 from search_documents s where s.item_version_id = iv.id)
      and iv.valid_from_run <= ${latest.id}
    on conflict do nothing`;
  let contents = 0;
  const [entity] = await deps.db.select({ taskId: entities.taskId }).from(entities).where(eq(entities.id, entityId));
  const [task] = entity ? await deps.db.select({ index: tasks.indexForSearch }).from(tasks).where(eq(tasks.id, entity.taskId)) : [];
  if (task?.index) {
    const reader = await SnapshotReader.open(deps, accountId);
    const pattern = `\\.(${TEXT_EXTENSIONS.join('|')})$`;
    for (;;) {
      const files = await sql<SourceItem[]>`
        select iv.id, iv.path_lower, iv.path_display, iv.kind, iv.size::float8 as size, iv.content_hash, iv.blocks, iv.client_modified
        from search_documents s join item_versions iv on iv.id = s.item_version_id
        where s.entity_id = ${entityId} and s.content_indexed = false and iv.kind = 'file'
          and iv.size > 0 and iv.size <= ${CONTENT_MAX_FILE} and iv.path_lower ~ ${pattern}
        order by s.item_version_id
        limit 200`;
      if (!files.length) break;
      let data: Map<string, Buffer>;
      try {
        data = await reader.readSmall(files);
      } catch {
        data = new Map();
      }
      const ids: string[] = [];
      const texts: string[] = [];
      for (const f of files) {
        ids.push(f.id);
        const bytes = data.get(f.id);
        texts.push(bytes ? extractText(f.path_lower, bytes) : '');
      }
      await sql`
        update search_documents s set
          tsv = s.tsv || setweight(to_tsvector('simple', translate(unaccent(d.text), ${SEPARATORS}, ${SPACES})), 'D'),
          content_indexed = true
        from (select unnest(${ids}::text[]) as id, unnest(${texts}::text[]) as text) d
        where s.item_version_id = d.id`;
      contents += files.length;
    }
  }
  // Names, paths and (when indexed) text of every snapshot up to `latest` are searchable now.
  await sql`
    update backup_runs set search_indexed_at = ${deps.clock.now().toISOString()}
    where entity_id = ${entityId} and account_id = ${accountId} and state in ('succeeded', 'partial')
      and id <= ${latest.id} and search_indexed_at is null`;
  return { paths: inserted.count, contents };
}

function extractText(path: string, bytes: Buffer): string {
  let text = bytes.subarray(0, CONTENT_MAX_TEXT * 2).toString('utf8');
  if (text.includes('\u0000')) return '';
  if (/\.(html?|xml)$/.test(path)) text = text.replace(/<script[\s\S]*?<\/script>|<style[\s\S]*?<\/style>/gi, ' ').replace(/<[^>]*>/g, ' ').replace(/&[a-z#0-9]+;/gi, ' ');
  return text.slice(0, CONTENT_MAX_TEXT);
}

/** Indexes every entity of the account with item versions not yet indexed (catch-up). */
export async function indexAccount(deps: AppDeps, accountId: string): Promise<IndexResult> {
  const rows = await deps.sql<{ entity_id: string }[]>`select id as entity_id from entities where account_id = ${accountId}`;
  const total = { paths: 0, contents: 0 };
  for (const r of rows) {
    const one = await indexEntity(deps, accountId, r.entity_id);
    total.paths += one.paths;
    total.contents += one.contents;
  }
  return total;
}
