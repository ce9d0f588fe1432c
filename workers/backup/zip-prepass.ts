// The backup's zip stage: Dropbox's `files/download_zip` fetches a folder's small files in one call
// instead of one call per file (calls are what Dropbox rate-limits). A first backup runs a pre-pass
// that zips the whole namespace alongside the listing; later runs zip folders that are new in a
// page. Every file in a zip is stored as content keyed by the content_hash of its own bytes, so the
// pages find it stored and download only what the zips missed; any zip problem falls back to
// per-file downloads. These functions work on the run's state (EntityBackup, run-state.ts).
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import yauzl from 'yauzl';
import { downloadZip, listChildFolders, type ListEntry } from '../dropbox/files.ts';
import { DropboxAuthError } from '../dropbox/oauth.ts';
import { DROPBOX_BLOCK_SIZE } from '../storage/index.ts';
import { inflateEntry } from './zip-entry.ts';
import { flushBlocks, storeBlock, storeStream } from './content-fetch.ts';
import type { AliveRow, FileEntry } from './entries.ts';
import type { EntityBackup } from './run-state.ts';

/** Below this a file counts as small: worth fetching in a zip. */
export const SMALL_FILE_BYTES = 1024 * 1024;
export const ZIP_MAX_BYTES = 512 * 1024 * 1024;
/** Zip entries being inflated and hashed at once. */
export const ZIP_CONCURRENCY = 16;
export const ZIP_IN_MEMORY_BYTES = 64 * 1024 * 1024;
export const ZIP_MAX_DEPTH = 3;
/** A first page with fewer files than this is not worth a zip. */
export const ZIP_MIN_FILES = 20;
export const ZIP_MAX_CALLS = 200;

/**
 * First backup: fetch the whole namespace as one zip (one call instead of one per file) and store
 * every file in it as content keyed by the content_hash of its own bytes, so the listing that
 * follows finds them stored and downloads only what the zip missed. Anything unexpected (too many
 * files, too large, a broken zip) silently falls back to file-by-file downloads.
 */
export async function zipPrepass(b: EntityBackup): Promise<void> {
  const dir = join(b.deps.config.dataDir, 'tmp');
  await mkdir(dir, { recursive: true });
  // A zip's contents become usable by the pages once its blocks are durable: looked up and placed
  // (ingest.flush), then in packs that were written (writer.written, asked as soon as they are
  // placed; it does not seal the open pack early, so packs stay full). Released in zip order.
  let durable: Promise<void> = Promise.resolve();
  const onStored = (found: { content_hash: string; size: number; blocks: Buffer }[], zipBytes: number) => {
    const written = b.ingest.flush().then(() => b.writer.written());
    durable = Promise.all([durable, written]).then(() => {
      for (const c of found) b.zipContents.set(c.content_hash, c);
      b.zipFiles += found.length;
      b.zipBytes += zipBytes;
      b.zipProgressed();
    });
    durable.catch(() => {}); // awaited below
  };
  let failure: unknown = null;
  try {
    await zipFolders(b, dir, onStored);
  } catch (err) {
    failure = err;
  }
  try {
    // Seals the last pack, which releases the last zips' contents (also after a failure, or their
    // wait would never end). The contents are recorded by the pages whose files they are (a
    // content no listed file has is not worth a row); a run that dies first finds the blocks
    // stored on resume.
    await flushBlocks(b);
    await durable;
  } catch {
    // A failed pack PUT leaves the writer failed: the page that next stores a block reports it.
  }
  if (failure instanceof DropboxAuthError) throw failure;
}

/**
 * Zips folders that are new in this page (not alive before) and hold at least ZIP_MIN_FILES small
 * files still to fetch: a user who adds a folder of 5,000 photos costs a few calls, not 5,000.
 * Everything in them is new, so nothing is fetched twice. Returns what the zips stored (blocks
 * not durable until the page's flush); any zip problem leaves the files to per-file downloads.
 */
export async function zipNewFolders(b: EntityBackup, entries: ListEntry[], alive: Map<string, AliveRow>, toFetch: [string, FileEntry][]): Promise<{ content_hash: string; size: number; blocks: Buffer }[]> {
  if (b.newFolderZipBudget < 0) b.newFolderZipBudget = b.opts.zipMaxBytes ?? ZIP_MAX_BYTES;
  if (b.newFolderZipBudget <= 0) return [];
  const small = toFetch.filter(([, e]) => e.size < SMALL_FILE_BYTES && e.is_downloadable !== false);
  if (small.length < ZIP_MIN_FILES) return [];
  const newFolders = entries.filter((e) => e['.tag'] === 'folder' && e.path_lower && !alive.has(e.path_lower)).map((e) => e.path_lower!);
  const under = (path: string, folder: string) => path.startsWith(folder + '/');
  const tops = newFolders.filter((f) => !newFolders.some((g) => g !== f && under(f, g)));
  const found: { content_hash: string; size: number; blocks: Buffer }[] = [];
  for (const folder of tops) {
    const files = small.filter(([, e]) => under(e.path_lower!, folder));
    const bytes = files.reduce((n, [, e]) => n + e.size, 0);
    if (files.length < ZIP_MIN_FILES || bytes > b.newFolderZipBudget) continue;
    const file = join(b.deps.config.dataDir, 'tmp', `${b.run.id}-${randomBytes(6).toString('hex')}.zip`);
    try {
      await mkdir(join(b.deps.config.dataDir, 'tmp'), { recursive: true });
      const got = await downloadZip(b.team, b.scope, folder, file, { maxBytes: b.newFolderZipBudget, memoryBytes: b.opts.zipMemoryBytes ?? ZIP_IN_MEMORY_BYTES }, b.fetch);
      if (!got.ok) continue;
      b.newFolderZipBudget -= got.bytes;
      const stored = await storeZip(b, got.buffer ?? file);
      found.push(...stored);
      b.zipFiles += stored.length;
      b.zipBytes += got.bytes;
    } catch (err) {
      if (err instanceof DropboxAuthError) throw err;
      // Anything else (a broken zip, a failed pack write): per-file downloads; a writer failure resurfaces at the flush.
    } finally {
      await rm(file, { force: true });
    }
  }
  return found;
}

/**
 * Zips the namespace's top-level folders: download_zip takes no root (its path is a ReadPath,
 * which cannot be ""), so the root costs one non-recursive listing instead, and the files at the
 * root are left to the per-file downloads. When Dropbox says a folder has too many entries
 * (≥ 10,000 with the folder itself), zips its subfolders instead (a few levels down). Files the
 * zips did not cover are downloaded one by one later. The next zip downloads while the previous
 * one is being stored, so at most two zip files exist at once and their bytes together stay
 * within the budget.
 */
async function zipFolders(b: EntityBackup, dir: string, onStored: (found: { content_hash: string; size: number; blocks: Buffer }[], zipBytes: number) => void): Promise<void> {
  let bytesLeft = b.opts.zipMaxBytes ?? ZIP_MAX_BYTES;
  let callsLeft = ZIP_MAX_CALLS;
  const targets = (await listChildFolders(b.team, b.scope, '')).map((c) => ({ path: c.pathLower, depth: 1 }));
  let storing: Promise<void> | null = null;
  try {
    while (targets.length > 0 && callsLeft > 0 && bytesLeft > 0 && !b.prepassStop) {
      const target = targets.shift()!;
      callsLeft--;
      const file = join(dir, `${b.run.id}-${randomBytes(6).toString('hex')}.zip`);
      let got: Awaited<ReturnType<typeof downloadZip>>;
      try {
        got = await downloadZip(b.team, b.scope, target.path, file, { maxBytes: bytesLeft, memoryBytes: b.opts.zipMemoryBytes ?? ZIP_IN_MEMORY_BYTES }, b.fetch);
      } catch (err) {
        await rm(file, { force: true });
        throw err;
      }
      if (got.ok) {
        bytesLeft -= got.bytes;
        const zipBytes = got.bytes;
        const inMemory = got.buffer;
        const previous = storing;
        storing = (async () => {
          try {
            if (previous) await previous;
            onStored(await storeZip(b, inMemory ?? file), zipBytes);
          } finally {
            await rm(file, { force: true });
          }
        })();
        // Hold the next download until the zip before this one is stored (one storing, one downloading).
        if (previous) await previous;
        continue;
      }
      await rm(file, { force: true });
      if (!got.reason.includes('too_many_files') || target.depth >= ZIP_MAX_DEPTH) continue;
      const children = await listChildFolders(b.team, b.scope, target.path);
      targets.unshift(...children.map((c) => ({ path: c.pathLower, depth: target.depth + 1 })));
    }
  } finally {
    // Never leave a store running (or its rejection unobserved) behind an error.
    if (storing) await (storing as Promise<void>).catch(() => {});
  }
  if (storing) await storing;
}

/**
 * Stores every file of the zip (several entries at a time); resolves with their contents. From a
 * zip in memory (up to ZIP_IN_MEMORY_BYTES), a file of one block is inflated in one call; from a
 * zip on disk, or for bigger files, entries are streamed.
 */
async function storeZip(b: EntityBackup, source: Buffer | string): Promise<{ content_hash: string; size: number; blocks: Buffer }[]> {
  const buffer = typeof source === 'string' ? null : source;
  const file = typeof source === 'string' ? source : '';
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => {
    const done = (err: Error | null, zip?: yauzl.ZipFile) => (err || !zip ? reject(err ?? new Error('zip did not open')) : resolve(zip));
    if (buffer) yauzl.fromBuffer(buffer, { lazyEntries: true }, done);
    else yauzl.open(file, { lazyEntries: true, autoClose: true }, done);
  });
  return new Promise((resolve, reject) => {
    const found = new Map<string, { content_hash: string; size: number; blocks: Buffer }>();
    let inflight = 0;
    let reading = false;
    let ended = false;
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      zip.close();
      reject(e);
    };
    const finish = () => {
      if (ended && inflight === 0 && !failed) resolve([...found.values()]);
    };
    const next = () => {
      if (!ended && !reading && !failed && inflight < ZIP_CONCURRENCY) {
        reading = true;
        zip.readEntry();
      }
    };
    zip.on('error', fail);
    zip.on('end', () => {
      reading = false;
      ended = true;
      finish();
    });
    const stored = (c: { content_hash: string; size: number; blocks: Buffer }) => {
      found.set(c.content_hash, c);
      inflight--;
      next();
      finish();
    };
    zip.on('entry', (entry: yauzl.Entry) => {
      reading = false;
      if (!entry.fileName.endsWith('/') && entry.uncompressedSize > 0) {
        inflight++;
        if (buffer && entry.uncompressedSize <= DROPBOX_BLOCK_SIZE && (entry.compressionMethod === 0 || entry.compressionMethod === 8) && !entry.isEncrypted()) {
          // A file of one block in an in-memory zip: inflated in one call, no streams.
          zip.readLocalFileHeader(entry, { minimal: true }, (e, header) => {
            if (e) return fail(e);
            let data: Buffer;
            try {
              data = inflateEntry(buffer, header.fileDataStart, entry);
            } catch (err) {
              return fail(err);
            }
            storeBlock(b, data).then(stored, fail);
          });
        } else {
          zip.openReadStream(entry, (e, stream) => {
            if (e || !stream) return fail(e ?? new Error('zip entry did not open'));
            storeStream(b, stream).then(stored, fail);
          });
        }
      }
      next();
    });
    next();
  });
}
