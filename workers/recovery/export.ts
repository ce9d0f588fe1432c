// Export: a snapshot's files (or chosen items) as one ZIP that keeps the folder structure, streamed
// from the blob store through yazl straight into the destination: never whole in memory or on disk.
//
// Destinations: `download` (the archive encrypted with a per-job key, stored in the account's blob
// store, served by GET /v1/jobs/{id}/download and a signed link for 72 hours), the customer's S3
// bucket or Google Cloud Storage (its S3-compatible XML API) through @aws-sdk/lib-storage's
// multipart Upload, and Azure Blob Storage (block blob uploadStream). Each is all-or-nothing: a
// multipart upload that is aborted, or a block blob whose block list is never committed, leaves no
// object behind, so a canceled or failed export writes nothing.
//
// Resume: an interrupted export starts its archive again (an archive is one object; there is no
// partial object to continue). Progress is reported per file.
import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import yazl from 'yazl';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { AnonymousCredential, BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { azurePipeline, guardS3Client, isTargetRefused, outbound, s3Connection, storageFailure } from '../outbound/clients.ts';
import { azureTarget } from '../outbound/azure-destination.ts';
import { checkTargetUrl } from '../outbound/target.ts';
import type { AppDeps } from '../../api/deps.ts';
import { accountStorage } from '../backup/storage.ts';
import { IntegrityError } from '../storage/errors.ts';
import { encryptArchive } from './archive-crypto.ts';
import { addProgress, cancelRequested, claimJob, finishJob, isTerminal, JobCanceled, reload, withJobLock, type JobRow } from './job-state.ts';
import { emptyFolders, ItemIntegrityError, itemsPage, SnapshotReader, type Selection, type SourceItem } from './source.ts';
import type { JobError } from '../../db/schema.ts';
import { forgetItems, recordItems, type JobItemRow } from './job-items.ts';

export const DESTINATION_SECRET_CONTEXT = 'export-destination';
export const ARCHIVE_KEY_CONTEXT = 'export-archive';
export const LINK_TTL_MS = 72 * 3600 * 1000;
const SMALL_FILE = 1024 * 1024;
const PRELOAD_BYTES = 16 * 1024 * 1024;

export interface DestinationSecret {
  access_key_id?: string;
  secret_access_key?: string;
  connection_string?: string;
  account_name?: string;
  account_key?: string;
}

export interface ExportOptions {
  /** Test hook: after each file has been handed to the archive. */
  afterFile?: (n: number) => Promise<void> | void;
}

/** The download archive's blob key (in the account's store). */
export function archiveKey(jobId: string): string {
  return `exports/${jobId}.zip.cfxa`;
}

export async function runExport(deps: AppDeps, jobId: string, opts: ExportOptions = {}): Promise<string> {
  return (await withJobLock(deps, jobId, () => exportLocked(deps, jobId, opts))) ?? 'skipped';
}

async function exportLocked(deps: AppDeps, jobId: string, opts: ExportOptions): Promise<string> {
  const job = await claimJob(deps, jobId);
  if (!job) return 'skipped';
  const ac = new AbortController();
  try {
    const { size, sha256 } = await writeArchive(deps, job, ac, opts);
    const done = await reload(deps, jobId);
    // A cancel that arrived while the last bytes were written still wins: no link is ever issued.
    if (done.cancelRequested) throw new JobCanceled();
    const state = done.itemsFailed === 0 ? 'succeeded' : 'partially_succeeded';
    const now = deps.clock.now();
    await finishJob(deps, done, state, state === 'succeeded' ? null : `${done.itemsFailed} files could not be read from the backup; see errors.`, {
      resultSize: size,
      resultSha256: sha256,
      ...(job.destination.type === 'download' ? { expiresAt: new Date(now.getTime() + LINK_TTL_MS) } : {}),
    });
    return state;
  } catch (err) {
    ac.abort();
    const current = await reload(deps, jobId);
    if (err instanceof JobCanceled || current.cancelRequested) {
      if (job.destination.type === 'download') await discardArchive(deps, current);
      await forgetItems(deps.sql, jobId);
      await finishJob(deps, current, 'canceled', `Canceled after ${current.itemsDone} of ${current.itemsTotal} files; the partial archive was discarded and nothing was written to the destination.`);
      return 'canceled';
    }
    // Failures a retry cannot mend end the job now.
    const final = finalFailure(err);
    if (final) {
      if (job.destination.type === 'download') await discardArchive(deps, current);
      await forgetItems(deps.sql, jobId);
      await finishJob(deps, current, 'failed', final.reason, final.errors ? { errors: final.errors } : {});
      return 'failed';
    }
    throw err;
  }
}

/**
 * The end of an export that cannot succeed by trying again: backed-up data that fails its integrity
 * check, or a destination whose address is refused. The reason is Coffer's own text: an SDK's
 * message can carry what a server answered, and every reader of the job would see it.
 */
function finalFailure(err: unknown): { reason: string; errors?: JobError[] } | null {
  if (err instanceof IntegrityError) {
    const path = err instanceof ItemIntegrityError ? err.path : undefined;
    const what = path ? `the backed-up data of ${path}` : 'backed-up data';
    return {
      reason: `Integrity check failed: ${what} did not verify (${err.reason}); it was tampered with or corrupted in storage. The export stopped before any of it was written, and nothing was written to the destination.`,
      ...(path ? { errors: [{ path, error: `integrity check failed (${err.reason})` }] } : {}),
    };
  }
  if (isTargetRefused(err)) return { reason: 'The destination resolves to a non-public address; Coffer does not send exports there. Nothing was written.' };
  return null;
}

/** What a failed export reports once its retries are exhausted: never the SDK's own message. */
export function exportFailureReason(err: unknown): string {
  return finalFailure(err)?.reason ?? `The export could not be written to its destination (${storageFailure(err)}). Nothing was written; run the export again.`;
}

/** Called by the queue when its retries are exhausted: the export failed (it cannot be resumed). */
export async function failExport(deps: AppDeps, jobId: string, err: unknown): Promise<void> {
  const job = await reload(deps, jobId);
  if (!job || isTerminal(job.state)) return;
  if (job.destination.type === 'download') await discardArchive(deps, job);
  await forgetItems(deps.sql, jobId);
  await finishJob(deps, job, 'failed', exportFailureReason(err));
}

/** Erases a download archive and forgets its key (a link computed from it can never work again). */
async function discardArchive(deps: AppDeps, job: JobRow): Promise<void> {
  const { store } = await accountStorage(deps, job.accountId);
  await store.delete([...new Set([archiveKey(job.id), ...(job.resultKey ? [job.resultKey] : [])])]);
  await deps.sql`update jobs set result_key = null, result_secret = null where id = ${job.id}`;
}

async function writeArchive(deps: AppDeps, job: JobRow, ac: AbortController, opts: ExportOptions): Promise<{ size: number; sha256: string }> {
  const reader = await SnapshotReader.open(deps, job.accountId);
  const selection: Selection = { accountId: job.accountId, entityId: job.entityId, runId: job.snapshotId, roots: job.source.items };
  // Progress, and the list of files written, restart with the archive.
  await deps.sql.begin(async (tx) => {
    await tx`update jobs set items_done = 0, items_failed = 0, bytes_done = 0, errors = '[]'::jsonb where id = ${job.id}`;
    await tx`delete from job_items where job_id = ${job.id}`;
  });

  const zip = new yazl.ZipFile();
  let bytesOut = 0;
  // Published with the job so a client can check the archive it downloaded (or resumed) end to end.
  const digest = createHash('sha256');
  let added = 0;
  let waiter: { target: number; resolve: () => void } | undefined;
  const flowed = (target: number) => new Promise<void>((resolve) => {
    if (bytesOut >= target) resolve();
    else waiter = { target, resolve };
  });
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      bytesOut += chunk.length;
      digest.update(chunk);
      if (waiter && bytesOut >= waiter.target) {
        waiter.resolve();
        waiter = undefined;
      }
      cb(null, chunk);
    },
  });
  const out = (zip.outputStream as Readable).pipe(counter);
  out.on('error', () => {}); // reported through `failed` / the sink's rejection
  const sink = startSink(deps, job, out, ac.signal);

  let failed: unknown;
  const aborted = new Promise<never>((_, reject) => ac.signal.addEventListener('abort', () => reject(new JobCanceled()), { once: true }));
  aborted.catch(() => {});
  const feed = (async () => {
    let after: string | undefined;
    let n = 0;
    let progress = { itemsDone: 0, bytesDone: 0 };
    let items: JobItemRow[] = [];
    let lastFlush = Date.now();
    // Progress and the files it counts are checkpointed together.
    const flush = async () => {
      const p = progress;
      const rows = items;
      progress = { itemsDone: 0, bytesDone: 0 };
      items = [];
      await deps.sql.begin(async (tx) => {
        await addProgress(deps, job.id, p, tx as never);
        await recordItems(tx, rows);
      });
    };
    for (const folder of await emptyFolders(deps, selection)) zip.addEmptyDirectory(folder.path_display.slice(1));
    for (;;) {
      const page = await itemsPage(deps, selection, 'file', after, 500);
      const refs = await reader.refs(page);
      // Small files are read ahead in groups (neighbouring blocks of a pack in one ranged GET).
      let preloaded = new Map<string, Buffer>();
      let preloadedUpTo = -1;
      for (const [index, f] of page.entries()) {
        if (ac.signal.aborted) throw new JobCanceled();
        if (index > preloadedUpTo && f.size <= SMALL_FILE) {
          const group: SourceItem[] = [];
          let bytes = 0;
          for (let j = index; j < page.length && page[j]!.size <= SMALL_FILE && bytes < PRELOAD_BYTES; j++) {
            group.push(page[j]!);
            bytes += page[j]!.size;
          }
          preloaded = await reader.readSmall(group);
          preloadedUpTo = index + group.length - 1;
        }
        const ready = preloaded.get(f.id);
        // Stored, not deflated: backed-up content is mostly compressed already, and deflate costs
        // more CPU per small file than the rest of the export.
        const options = { mtime: f.client_modified ? new Date(f.client_modified) : new Date(0), compress: false };
        added += f.size;
        if (ready) {
          zip.addBuffer(ready, f.path_display.slice(1), options);
          // Backpressure: the next group is read only once this one has flowed out.
          if (index === preloadedUpTo) await Promise.race([aborted, flowed(added)]);
        } else {
          // Large files stream one at a time; wait until yazl has consumed each.
          await Promise.race([aborted, new Promise<void>((resolve, reject) => {
            zip.addReadStreamLazy(f.path_display.slice(1), { ...options, size: f.size }, (cb) => {
              reader.stream(f as SourceItem, refs.get(f.id)).then((s) => {
                s.once('end', () => resolve());
                s.once('error', reject);
                cb(null, s);
              }, reject);
            });
          })]);
        }
        n++;
        progress.itemsDone++;
        progress.bytesDone += f.size;
        items.push({ job_id: job.id, account_id: job.accountId, path: f.path_display, destination: f.path_display.slice(1), size: f.size, status: 'exported', error: null });
        await opts.afterFile?.(n);
        if (Date.now() - lastFlush > 1000 || progress.itemsDone >= 1000) {
          await flush();
          lastFlush = Date.now();
          if (await cancelRequested(deps, job.id)) throw new JobCanceled();
        }
      }
      if (page.length < 500) break;
      after = page[page.length - 1]!.path_lower;
    }
    await flush();
    if (await cancelRequested(deps, job.id)) throw new JobCanceled();
    zip.end();
  })().catch((err) => {
    failed = err;
    ac.abort();
    out.destroy(err instanceof Error ? err : new Error(String(err)));
  });

  try {
    await sink;
  } catch (err) {
    ac.abort();
    await feed;
    // The feed stops with JobCanceled when the sink failed first: the sink's error is the news.
    throw failed && !(failed instanceof JobCanceled) ? failed : err;
  }
  await feed;
  if (failed) throw failed;
  return { size: bytesOut, sha256: digest.digest('hex') };
}

/** Runs `fn` on abort, or at once when the signal was aborted already. */
function onAbort(signal: AbortSignal, fn: () => void): void {
  if (signal.aborted) fn();
  else signal.addEventListener('abort', fn, { once: true });
}

/** Pipes the archive into the job's destination; resolves once the object is complete there. */
async function startSink(deps: AppDeps, job: JobRow, archive: Readable, signal: AbortSignal): Promise<void> {
  const d = job.destination;
  const secret: DestinationSecret = job.destinationSecret ? JSON.parse(deps.keyring.openSecret(job.destinationSecret, DESTINATION_SECRET_CONTEXT)) : {};
  const name = d.key ?? d.blob ?? `coffer-export-${job.id}.zip`;
  if (d.type === 'download') {
    const { store } = await accountStorage(deps, job.accountId);
    const key = randomBytes(32);
    // The sealed key is stored before any byte is written, so an archive is never unreadable.
    await deps.sql`update jobs set result_key = ${archiveKey(job.id)}, result_secret = ${deps.keyring.sealSecret(key.toString('base64'), ARCHIVE_KEY_CONTEXT)} where id = ${job.id}`;
    const encrypted = archive.pipe(encryptArchive(key));
    // pipe() does not pass errors on, and the feed may have failed (aborting) before we got here.
    archive.on('error', (e) => encrypted.destroy(e));
    encrypted.on('error', () => {}); // reported through the put's rejection
    onAbort(signal, () => encrypted.destroy(new JobCanceled()));
    await store.put(archiveKey(job.id), encrypted);
    return;
  }
  const o = outbound(deps);
  if (d.type === 's3' || d.type === 'gcs') {
    const client = guardS3Client(new S3Client({
      ...s3Connection(o),
      region: d.region ?? (d.type === 'gcs' ? 'auto' : 'us-east-1'),
      ...(d.endpoint || d.type === 'gcs' ? { endpoint: d.endpoint ?? 'https://storage.googleapis.com' } : {}),
      forcePathStyle: d.forcePathStyle ?? Boolean(d.endpoint),
      credentials: { accessKeyId: secret.access_key_id!, secretAccessKey: secret.secret_access_key! },
    }), o);
    const body = new PassThrough();
    body.on('error', () => {}); // reported through the upload's rejection
    archive.on('error', (e) => body.destroy(e));
    archive.pipe(body);
    const upload = new Upload({ client, params: { Bucket: d.bucket!, Key: name, Body: body, ContentType: 'application/zip' }, partSize: 16 * 1024 * 1024, queueSize: 2 });
    onAbort(signal, () => void upload.abort().catch(() => {}));
    try {
      await upload.done();
    } finally {
      client.destroy();
    }
    return;
  }
  if (d.type === 'azure') {
    // Parsed again (strictly) and checked again: the job may predate the rules, or the server's
    // setting may have changed since the export was created.
    const target = azureTarget(secret, d.endpoint);
    checkTargetUrl(target.url, o.allowPrivate);
    const credential = target.accountName && target.accountKey ? new StorageSharedKeyCredential(target.accountName, target.accountKey) : new AnonymousCredential();
    const service = new BlobServiceClient(target.sas ? `${target.url}?${target.sas}` : target.url, azurePipeline(credential, o));
    const blob = service.getContainerClient(d.container!).getBlockBlobClient(name);
    await blob.uploadStream(archive, 8 * 1024 * 1024, 4, { abortSignal: signal, blobHTTPHeaders: { blobContentType: 'application/zip' } });
    return;
  }
  throw new Error(`unknown export destination ${String(d.type)}`);
}
