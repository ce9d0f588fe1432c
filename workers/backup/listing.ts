// The run's listing: the last run's failed items first (an incremental run), then list_folder pages
// from the checkpoint, one page fetched ahead while the current one is applied. A first backup whose
// first page looks like many small files starts the zip pre-pass beside the pages. A cursor Dropbox
// reset turns the run into a full one.
import type { RunError } from '../../db/schema/snapshots.ts';
import { getMetadata, listFolderContinue, listFolderStart, ListingResetError, LIST_LIMIT, type ListEntry, type ListPage } from '../dropbox/files.ts';
import type { FileEntry } from './entries.ts';
import { applyPage } from './page-commit.ts';
import { switchToFull } from './run-open.ts';
import type { EntityBackup } from './run-state.ts';
import { SMALL_FILE_BYTES, ZIP_MAX_BYTES, ZIP_MIN_FILES, zipPrepass } from './zip-prepass.ts';

export async function listAndApply(b: EntityBackup): Promise<void> {
  const run = b.run;
  if (run.mode === 'incremental' && run.cursor === null) {
    // First page of an incremental run: retry the last run's failed items.
    const retry = run.errors.filter((e) => (e as RunError & { retry?: boolean }).retry && e.entry);
    const entries: ListEntry[] = [];
    for (const e of retry) {
      const meta = await getMetadata(b.team, b.scope, (e.entry as { path_lower?: string }).path_lower ?? e.path);
      if (meta && meta['.tag'] === 'file') entries.push(meta);
    }
    await applyPage(b, entries, run.start_cursor!, { clearRetries: true });
  }
  let cursor = run.cursor ?? (run.mode === 'incremental' ? run.start_cursor : null);
  let pending: ListPage | null = null;
  const budget = b.opts.zipMaxBytes ?? ZIP_MAX_BYTES;
  if (run.mode === 'full' && run.pages === 0 && cursor === null && b.firstEver && budget > 0) {
    // The first page tells whether this looks like many small files (worth zipping) or a few big
    // ones (better streamed one by one: a zip cannot be resumed or ranged).
    pending = await listFolderStart(b.team, b.scope, b.opts.pageLimit ?? LIST_LIMIT);
    const files = pending.entries.filter((e): e is FileEntry => e['.tag'] === 'file');
    const bytes = files.reduce((n, e) => n + e.size, 0);
    if (files.length >= ZIP_MIN_FILES && bytes / files.length < SMALL_FILE_BYTES && (pending.hasMore || bytes <= budget)) {
      // The zips are fetched and stored while the pages are applied: a page waits only for the
      // zips holding its files (durable), and its database work overlaps the next zips' storing.
      b.prepass = zipPrepass(b)
        .catch((err: unknown) => {
          b.prepassFailure = err;
        })
        .finally(() => {
          b.prepass = null;
          b.zipProgressed();
        });
    }
  }
  // The next page is fetched while this one is applied (one page ahead: a page is at most
  // LIST_LIMIT entries, so memory stays bounded).
  let ahead: Promise<ListPage> | null = null;
  try {
    for (;;) {
      let page: ListPage;
      try {
        if (pending) {
          page = pending;
          pending = null;
        } else if (ahead) {
          const next = ahead;
          ahead = null;
          page = await next;
        } else {
          page = cursor ? await listFolderContinue(b.team, b.scope, cursor) : await listFolderStart(b.team, b.scope, b.opts.pageLimit ?? LIST_LIMIT);
        }
      } catch (err) {
        if (!(err instanceof ListingResetError)) throw err;
        await switchToFull(b);
        cursor = null;
        continue;
      }
      if (page.hasMore) {
        ahead = listFolderContinue(b.team, b.scope, page.cursor);
        // Its failure is seen when the page is taken; until then (a page may wait for zips) it must not count as unhandled.
        ahead.catch(() => {});
      }
      // The last page commits after the pre-pass ended, so the run counts everything it fetched.
      if (!page.hasMore && b.prepass) await b.prepass;
      if (b.prepassFailure) throw b.prepassFailure;
      await applyPage(b, page.entries, page.cursor, {});
      cursor = page.cursor;
      if (!page.hasMore) return;
    }
  } finally {
    // A page fetched ahead of a failure is dropped; its error (if any) must not go unobserved.
    if (ahead) await (ahead as Promise<ListPage>).catch(() => {});
    // Never leave the pre-pass running behind a failure (it uses the writer this run owns).
    b.prepassStop = true;
    if (b.prepass) await b.prepass;
  }
}
