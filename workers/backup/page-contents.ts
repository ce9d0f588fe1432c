// The contents a listing page needs before it can be committed: for every new or changed file, its
// content is already stored (`contents`), was brought by a zip (the first backup's pre-pass, or a
// zip of a folder new since the last run), or is downloaded now. Whatever this stored is durable
// (flushed) when this returns; what could not be fetched is a failure by content key.
import { DropboxAuthError } from '../dropbox/oauth.ts';
import type { ListEntry } from '../dropbox/files.ts';
import { download, exportDocument, flushBlocks } from './content-fetch.ts';
import { contentKey, EMPTY_CONTENT_HASH, unchanged, type AliveRow, type Content, type FileEntry, type NewContent } from './entries.ts';
import { mapLimit } from './map-limit.ts';
import { errorText } from './outcome.ts';
import type { EntityBackup } from './run-state.ts';
import { SMALL_FILE_BYTES, zipNewFolders } from './zip-prepass.ts';

const SMALL_FILE_CONCURRENCY = 8;
const BIG_FILE_CONCURRENCY = 3;

export interface PageContents {
  /** Content by content key (contentKey) for every file of the page that has one now. */
  contentByHash: Map<string, Content>;
  /** Why a content key could not be fetched. */
  failures: Map<string, string>;
  /** Contents to record in `contents` with the page. */
  newContents: NewContent[];
  downloaded: number;
  bytesDownloaded: number;
}

export async function gatherPageContents(b: EntityBackup, entries: ListEntry[], alive: Map<string, AliveRow>): Promise<PageContents> {
  const wanted = new Map<string, FileEntry>();
  for (const e of entries) {
    if (e['.tag'] !== 'file') continue;
    if (unchanged(alive.get(e.path_lower!), e)) continue;
    const hash = contentKey(e);
    if (!wanted.has(hash)) wanted.set(hash, e as FileEntry);
  }
  const contentByHash = new Map<string, Content>();
  const failures = new Map<string, string>();
  const newContents: NewContent[] = [];
  if (wanted.has(EMPTY_CONTENT_HASH)) contentByHash.set(EMPTY_CONTENT_HASH, { size: 0, blocks: Buffer.alloc(0) });
  // What this run's zip pre-pass stored: known without asking the database, recorded with the page.
  const takeZipped = () => {
    for (const h of wanted.keys()) {
      const zipped = contentByHash.has(h) ? undefined : b.zipContents.get(h);
      if (!zipped) continue;
      contentByHash.set(h, { size: zipped.size, blocks: zipped.blocks });
      newContents.push(zipped);
    }
  };
  takeZipped();
  const hashes = [...wanted.keys()].filter((h) => h !== '' && h !== EMPTY_CONTENT_HASH && !contentByHash.has(h));
  if (hashes.length) {
    // Condemned contents (retention.ts) count as missing; filtered here for the same reason as in storedBlocks.
    const rows = await b.sql<{ content_hash: string; size: number; blocks: Buffer; condemned: boolean }[]>`
      select content_hash, size::float8 as size, blocks, condemned_at is not null as condemned from contents
      where account_id = ${b.accountId} and content_hash = any(${hashes})`;
    for (const r of rows) if (!r.condemned) contentByHash.set(r.content_hash, { size: Number(r.size), blocks: r.blocks });
  }
  // While the zips are still being stored, what the page lacks is most likely in one of them:
  // wait for them rather than fetch it file by file.
  while (b.prepass && [...wanted.keys()].some((h) => h !== '' && !contentByHash.has(h))) {
    await b.zipProgress.promise;
    takeZipped();
  }
  if (b.prepassFailure) throw b.prepassFailure;
  let downloaded = 0;
  let bytesDownloaded = 0;
  let toFetch = [...wanted.entries()].filter(([h]) => !contentByHash.has(h));
  let zippedNow = 0;
  if (!b.firstEver) {
    // A folder that appeared since the last run, holding many small files: one zip of it rather than a call per file.
    const zipped = await zipNewFolders(b, entries, alive, toFetch);
    zippedNow = zipped.length;
    for (const c of zipped) {
      if (wanted.has(c.content_hash) && !contentByHash.has(c.content_hash)) contentByHash.set(c.content_hash, { size: c.size, blocks: c.blocks });
      newContents.push(c); // later pages may list the rest of the folder
    }
    if (zipped.length) toFetch = toFetch.filter(([h]) => !contentByHash.has(h));
  }
  // Small files are latency-bound (one call each): more in flight. Big ones are bandwidth- and
  // memory-bound (a 4 MiB block in the splitter each): fewer.
  const smallFiles = toFetch.filter(([, e]) => e.size < SMALL_FILE_BYTES);
  const bigFiles = toFetch.filter(([, e]) => e.size >= SMALL_FILE_BYTES);
  const fetchOne = async ([hash, entry]: [string, FileEntry]) => {
    if (!hash) {
      failures.set(hash, 'Dropbox reported no content_hash for this file');
      return;
    }
    try {
      const content = entry.is_downloadable === false ? await exportDocument(b, entry, hash) : await download(b, entry);
      contentByHash.set(hash, content);
      newContents.push({ content_hash: hash, size: content.size, blocks: content.blocks });
      downloaded++;
      bytesDownloaded += content.size;
    } catch (err) {
      if (err instanceof DropboxAuthError) throw err;
      failures.set(hash, errorText(err));
    }
  };
  await Promise.all([
    mapLimit(smallFiles, b.opts.concurrency ?? SMALL_FILE_CONCURRENCY, fetchOne),
    mapLimit(bigFiles, Math.min(b.opts.concurrency ?? BIG_FILE_CONCURRENCY, BIG_FILE_CONCURRENCY), fetchOne),
  ]);
  // Blocks this page stored become durable before the page records them. A page that stored
  // nothing leaves the writer alone: sealing now would cut short the pack a running pre-pass fills.
  if (toFetch.length > 0 || zippedNow > 0) await flushBlocks(b);
  return { contentByHash, failures, newContents, downloaded, bytesDownloaded };
}
