// One listing page, applied atomically with the cursor that follows it: the live versions at the
// page's paths, the contents its new or changed files need (page-contents.ts), the diff
// (page-diff.ts), then one transaction that closes or deletes replaced versions, inserts the new
// ones and their contents, adds the page's counts and moves the run's checkpoint cursor. A worker
// killed at any instant resumes from the last committed page and re-applies nothing twice.
import { insertRows, type Column } from '../../db/bulk-insert.ts';
import type { ListEntry } from '../dropbox/files.ts';
import type { AliveRow } from './entries.ts';
import { gatherPageContents } from './page-contents.ts';
import { diffPage, ITEM_VERSION_COLUMNS } from './page-diff.ts';
import type { EntityBackup } from './run-state.ts';

const CONTENT_COLUMNS: Column[] = [{ name: 'account_id', type: 'text' }, { name: 'content_hash', type: 'text' }, { name: 'size', type: 'bigint' }, { name: 'blocks', type: 'bytea' }];

/** `clearRetries`: the page of the last run's failed items, whose errors it replaces. */
export async function applyPage(b: EntityBackup, entries: ListEntry[], nextCursor: string, flags: { clearRetries?: boolean }): Promise<void> {
  const { sql } = b;
  const runId = b.run.id;
  const full = b.run.mode === 'full';
  const paths = [...new Set(entries.map((e) => e.path_lower!).filter(Boolean))];
  const aliveRows = paths.length
    ? await sql<AliveRow[]>`
        select id, path_lower, kind, rev, content_hash, export_as, valid_from_run from item_versions
        where entity_id = ${b.entity.id} and valid_until_run is null and path_lower = any(${paths})`
    : [];
  const alive = new Map(aliveRows.map((r) => [r.path_lower, r]));

  const got = await gatherPageContents(b, entries, alive);
  const d = diffPage({ accountId: b.accountId, entityId: b.entity.id, runId }, entries, alive, got.contentByHash, got.failures);

  const storedBytes = b.storedSinceCommit;
  const calls = b.callCount();
  const downloaded = got.downloaded + b.zipFiles;
  const bytesDownloaded = got.bytesDownloaded + b.zipBytes;
  b.zipFiles = 0;
  b.zipBytes = 0;
  await sql.begin(async (tx) => {
    let closed = 0;
    const exact = [...d.exactCloses];
    const subtree = [...d.subtreeCloses];
    if (exact.length || subtree.length) {
      await tx`
        delete from item_versions where entity_id = ${b.entity.id} and valid_until_run is null and valid_from_run = ${runId}
          and (path_lower = any(${exact.concat(subtree)})
               or (${subtree.length > 0} and exists (select 1 from unnest(${subtree}::text[]) r where starts_with(path_lower, r || '/'))))`;
      const upd = await tx`
        update item_versions set valid_until_run = ${runId}
        where entity_id = ${b.entity.id} and valid_until_run is null and valid_from_run < ${runId}
          and (path_lower = any(${exact.concat(subtree)})
               or (${subtree.length > 0} and exists (select 1 from unnest(${subtree}::text[]) r where starts_with(path_lower, r || '/'))))`;
      closed = upd.count;
    }
    if (full && d.seen.length) {
      await tx`update item_versions set seen_run = ${runId} where id = any(${d.seen})`;
    }
    await insertRows(tx, 'item_versions', ITEM_VERSION_COLUMNS, [...d.inserts.values()]);
    // One row per content_hash: ON CONFLICT DO UPDATE refuses to touch a row twice in one statement
    // (two new folders zipped in one page may hold the same file).
    const contentRows = [...new Map(got.newContents.map((c) => [c.content_hash, { account_id: b.accountId, ...c }])).values()];
    await insertRows(tx, 'contents', CONTENT_COLUMNS, contentRows,
      'on conflict (account_id, content_hash) do update set condemned_at = null where contents.condemned_at is not null');
    const deleted = Math.max(0, closed - d.replaced);
    const errorsJson = JSON.stringify(d.errors);
    await tx`
      update backup_runs set
        cursor = ${nextCursor}, pages = pages + 1,
        new_count = new_count + ${d.nNew}, changed_count = changed_count + ${d.nChanged}, deleted_count = deleted_count + ${deleted},
        failed_count = failed_count + ${d.nFailed}, unchanged_count = unchanged_count + ${d.nUnchanged},
        downloaded_count = downloaded_count + ${downloaded}, bytes_downloaded = bytes_downloaded + ${bytesDownloaded},
        bytes_stored = bytes_stored + ${storedBytes},
        dropbox_calls = ${b.run.dropbox_calls + calls},
        errors = ${flags.clearRetries ? tx`${errorsJson}::jsonb` : tx`errors || ${errorsJson}::jsonb`}
      where id = ${runId}`;
  });
  b.storedSinceCommit -= storedBytes;
  b.run.cursor = nextCursor;
  b.run.pages++;
  await b.opts.onPageCommitted?.({ runId, pages: b.run.pages });
}
