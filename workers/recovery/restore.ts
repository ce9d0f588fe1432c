// Restore: a snapshot's files (or chosen items) uploaded back into Dropbox.
//
// Batching (docs/dropbox.md §3.4, §5.3): files are walked in path_lower order and cut into batches of at
// most 1,000 files and about 128 MiB. One batch costs `upload_session/start_batch` (one session per
// file), one `append_batch` per ≤128 MiB of small files (every piece closes its session; empty
// files are zero-length pieces), `append_v2` with 128 MiB chunks for each large file, and one
// `finish_batch_v2` that commits the whole batch: 1,000 files of 10 KB = 3 data-transport calls.
// One batch is committed at a time per job (one job writes into one namespace), so commits never
// contend for the namespace lock.
//
// WriteMode is always `add` with autorename: an empty target is written, identical content is a
// no-op, a different existing file keeps its name and the restored copy lands beside it ("x (1).txt").
// Nothing is ever overwritten. Every committed file's content_hash (as Dropbox reports it) is
// compared with the one recorded at backup.
//
// Checkpoint: after each committed batch, the job's checkpoint holds the path of its last file; a
// resumed job (worker killed, data-transport limit, failure) continues after it. Uncommitted
// sessions of an interrupted batch are simply abandoned: Dropbox never shows them, so a cancel or a
// crash leaves no half-written file. Re-sending a batch that was committed but not checkpointed is
// harmless: identical content at the same path is a no-op.
import { eq } from 'drizzle-orm';
import type { files } from 'dropbox';
import type { AppDeps } from '../../api/deps.ts';
import { entities, tasks, type JobError } from '../../db/schema.ts';
import { DropboxCallError, type CallScope, type DropboxTeam } from '../dropbox/client.ts';
import { clientForTask } from '../dropbox/connection.ts';
import { getUploadLimit } from '../dropbox/team.ts';
import { addProgress, cancelRequested, claimJob, finishJob, JobCanceled, reload, withJobLock, type JobRow } from './job-state.ts';
import { emptyFolders, itemsPage, SnapshotReader, type Selection, type SourceItem } from './source.ts';
import { recordItems, type JobItemRow } from './job-items.ts';

export const MiB = 1024 * 1024;

export interface RestoreOptions {
  /** Files per batch (≤ 1000, Dropbox's limit for start_batch / finish_batch_v2). */
  batchFiles?: number;
  /** Bytes per batch (small files are held in memory while a batch is sent). */
  batchBytes?: number;
  /** Files above this go through their own append_v2 chunks. */
  smallFileMax?: number;
  /** append_v2 chunk size for large files (a multiple of 4 MiB, ≤ 150 MiB). */
  chunkBytes?: number;
  /**
   * Largest Dropbox-API-Arg header an append_batch may send. Its entries travel in that header
   * (about 100 bytes each); HTTP servers cap headers (Node's default: 16 KiB in all), so one
   * append_batch carries about 140 files and 1,000 small files take 7–8 of them.
   */
  argBytes?: number;
  /** Test hook: after each committed and checkpointed batch. Throwing simulates a crash. */
  afterBatch?: (info: { batch: number; files: number }) => Promise<void> | void;
  /** Dropbox client override (tests and benchmarks). */
  client?: DropboxTeam;
}

const UPLOAD_ROUTES = [
  'files/upload_session/start_batch',
  'files/upload_session/append_batch',
  'files/upload_session/append_v2',
  'files/upload_session/finish_batch_v2',
];

export function monthOf(d: Date): string {
  return d.toISOString().slice(0, 7);
}

export function isDataTransportLimit(err: unknown): boolean {
  return err instanceof DropboxCallError && err.status === 403 && (err.tag === 'invalid_account_type' || /invalid_account_type/.test(err.summary ?? ''));
}

/** `Restored 2026-11-28 03-15-36 UTC`: the non-destructive folder, named with the restore time. */
export function restoreFolderName(at: Date): string {
  return `Restored ${at.toISOString().slice(0, 19).replace('T', ' ').replace(/:/g, '-')} UTC`;
}

function dropboxTime(d: Date | string | null): string | undefined {
  return d ? new Date(d).toISOString().slice(0, 19) + 'Z' : undefined;
}

export type RestoreOutcome = 'succeeded' | 'partially_succeeded' | 'failed' | 'canceled' | 'skipped';

export async function runRestore(deps: AppDeps, jobId: string, opts: RestoreOptions = {}): Promise<RestoreOutcome> {
  return (await withJobLock(deps, jobId, () => restoreLocked(deps, jobId, opts))) ?? 'skipped';
}

async function restoreLocked(deps: AppDeps, jobId: string, opts: RestoreOptions): Promise<RestoreOutcome> {
  let job = await claimJob(deps, jobId);
  if (!job) return 'skipped';
  try {
    return await new Restore(deps, job, opts).run();
  } catch (err) {
    job = await reload(deps, jobId);
    if (err instanceof JobCanceled) {
      await finishJob(deps, job, 'canceled', `Canceled after ${job.itemsDone} of ${job.itemsTotal} files were restored${job.checkpoint.base ? ` into ${job.checkpoint.base}` : ''}; every restored file is complete and nothing else was written.`);
      return 'canceled';
    }
    throw err;
  }
}

/** Called by the queue when its retries are exhausted: the job fails, resumable by the user. */
export async function failJob(deps: AppDeps, jobId: string, err: unknown): Promise<void> {
  const job = await reload(deps, jobId);
  if (!job || job.state === 'succeeded' || job.state === 'canceled' || job.state === 'failed' || job.state === 'partially_succeeded') return;
  await finishJob(deps, job, job.itemsDone > 0 ? 'partially_succeeded' : 'failed', `Stopped: ${(err as Error).message}. The job can be resumed (POST /v1/jobs/${job.id}/resume).`);
}

interface Target {
  scope: CallScope;
  /** Folder the snapshot's paths are placed under ('' = the original folders). */
  base: string;
}

class Restore {
  readonly deps: AppDeps;
  job: JobRow;
  readonly opts: Required<Omit<RestoreOptions, 'afterBatch' | 'client'>> & Pick<RestoreOptions, 'afterBatch'>;
  client!: DropboxTeam;
  reader!: SnapshotReader;
  calls = 0;
  batches = 0;

  constructor(deps: AppDeps, job: JobRow, opts: RestoreOptions) {
    this.deps = deps;
    this.job = job;
    this.opts = {
      batchFiles: Math.min(1000, opts.batchFiles ?? 1000),
      batchBytes: opts.batchBytes ?? 128 * MiB,
      smallFileMax: opts.smallFileMax ?? 8 * MiB,
      chunkBytes: opts.chunkBytes ?? 128 * MiB,
      argBytes: opts.argBytes ?? 14_000,
      afterBatch: opts.afterBatch,
    };
    if (opts.client) this.client = opts.client;
  }

  async run(): Promise<RestoreOutcome> {
    const { deps, job } = this;
    const [task] = await deps.db.select().from(tasks).where(eq(tasks.id, job.taskId));
    if (!task || task.state !== 'active' || task.connectionStatus !== 'connected' || (task.plan !== 'professional' && !task.dropboxAdminMemberId)) {
      await finishJob(deps, job, 'failed', 'The backup task is not connected to Dropbox; reconnect it, then resume the job.');
      return 'failed';
    }
    const targetEntityId = job.destination.mode === 'other_account' ? job.destination.entityId! : job.entityId;
    const [target] = await deps.db.select().from(entities).where(eq(entities.id, targetEntityId));
    const [source] = await deps.db.select().from(entities).where(eq(entities.id, job.entityId));
    if (!target || !source || !target.namespaceId) {
      await finishJob(deps, job, 'failed', 'The destination account or folder no longer exists.');
      return 'failed';
    }
    this.client ??= clientForTask(deps, task);
    this.reader = await SnapshotReader.open(deps, job.accountId);

    // The team's monthly data-transport cap, shown on the task (a team route: not for an individual account).
    if (task.plan !== 'professional') {
      try {
        const limit = await getUploadLimit(this.client);
        await deps.db.update(tasks).set({ uploadLimit: limit }).where(eq(tasks.id, task.id));
      } catch {
        // informational only
      }
    }

    // An individual account's token writes as that account, without a select header.
    const scope: CallScope = task.plan === 'professional'
      ? {}
      : target.kind === 'member'
      ? { selectUser: target.dropboxId }
      : { selectAdmin: task.dropboxAdminMemberId!, namespaceId: target.namespaceId };
    let base = job.checkpoint.base;
    if (base === undefined) {
      const mode = job.destination.mode;
      const custom = job.destination.path?.replace(/\/+$/, '');
      if (mode === 'in_place') base = '';
      else if (mode === 'other_account') base = custom || `/${restoreFolderName(job.createdAt)} from ${source.name}`;
      else base = custom || `/${restoreFolderName(job.createdAt)}`;
      await addProgress(deps, job.id, { checkpoint: { base } });
    }
    const t: Target = { scope, base };

    const selection: Selection = { accountId: job.accountId, entityId: job.entityId, runId: job.snapshotId, roots: job.source.items };
    let after = job.checkpoint.after;
    let batch: SourceItem[] = [];
    let batchBytes = 0;
    for (;;) {
      const page = await itemsPage(deps, selection, 'file', after, 2000);
      for (const f of page) {
        if (batch.length >= this.opts.batchFiles || (batch.length > 0 && batchBytes + Math.min(f.size, this.opts.smallFileMax) > this.opts.batchBytes)) {
          const stop = await this.commitBatch(t, batch);
          if (stop) return stop;
          batch = [];
          batchBytes = 0;
        }
        batch.push(f);
        batchBytes += f.size;
      }
      if (page.length < 2000) break;
      after = page[page.length - 1]!.path_lower;
    }
    if (batch.length) {
      const stop = await this.commitBatch(t, batch);
      if (stop) return stop;
    }
    if (!this.job.checkpoint.foldersDone) {
      await this.createEmptyFolders(t, selection);
      await addProgress(deps, job.id, { checkpoint: { foldersDone: true } });
    }
    const done = await reload(deps, job.id);
    const state = done.itemsFailed === 0 ? 'succeeded' : done.itemsDone > 0 ? 'partially_succeeded' : 'failed';
    const where = base === '' ? 'into the original folders' : `into ${base}`;
    await finishJob(deps, done, state, state === 'succeeded' ? null : `${done.itemsFailed} of ${done.itemsTotal} files could not be restored ${where}; see errors.`);
    return state;
  }

  /** Uploads and commits one batch; returns an outcome when the job must stop. */
  async commitBatch(t: Target, batch: SourceItem[]): Promise<RestoreOutcome | undefined> {
    const { deps } = this;
    if (await cancelRequested(deps, this.job.id)) throw new JobCanceled();
    const before = this.uploadCalls();
    try {
      const results = await this.upload(t, batch);
      const errors: JobError[] = [];
      const items: JobItemRow[] = [];
      let ok = 0;
      let bytes = 0;
      for (const [i, r] of results.entries()) {
        const f = batch[i]!;
        const item = { job_id: this.job.id, account_id: this.job.accountId, path: f.path_display, destination: r.path ?? null, size: f.size };
        let error: string | undefined;
        if (r.error) error = r.error;
        else if (r.contentHash !== f.content_hash) error = `content_hash after upload is ${r.contentHash}, expected ${f.content_hash}`;
        if (error) {
          errors.push({ path: f.path_display, error });
          items.push({ ...item, status: 'failed', error });
        } else {
          ok++;
          bytes += f.size;
          items.push({ ...item, status: 'restored', error: null });
        }
      }
      await this.checkpoint({ itemsDone: ok, itemsFailed: errors.length, bytesDone: bytes, errors, checkpoint: { after: batch[batch.length - 1]!.path_lower } }, before, items);
      this.batches++;
      await this.opts.afterBatch?.({ batch: this.batches, files: batch.length });
      return undefined;
    } catch (err) {
      await this.checkpoint({}, before);
      if (isDataTransportLimit(err)) {
        const job = await reload(deps, this.job.id);
        const [task] = await deps.db.select({ calls: tasks.uploadCalls, limit: tasks.uploadLimit }).from(tasks).where(eq(tasks.id, job.taskId));
        await finishJob(deps, job, 'partially_succeeded',
          `Dropbox's monthly data-transport limit for this team was reached${task?.limit ? ` (limit ${task.limit} calls; Coffer has made ${task.calls} this month)` : ''}. ` +
          `${job.itemsDone} of ${job.itemsTotal} files were restored; the rest were not written. Resume the job (POST /v1/jobs/${job.id}/resume) when the limit resets on the 1st, or export the data instead.`);
        return 'partially_succeeded';
      }
      throw err;
    }
  }

  uploadCalls(): number {
    let n = 0;
    for (const r of UPLOAD_ROUTES) n += this.client.calls.get(r) ?? 0;
    return n;
  }

  /**
   * Records progress, the batch's files (job_items) and the data-transport calls spent since
   * `before`, on the job and on the task (per month), in one transaction.
   */
  async checkpoint(p: Parameters<typeof addProgress>[2], before: number, items: JobItemRow[] = []): Promise<void> {
    const { deps } = this;
    const spent = this.uploadCalls() - before;
    const month = monthOf(deps.clock.now());
    await deps.sql.begin(async (tx) => {
      await addProgress(deps, this.job.id, { ...p, dataTransportCalls: spent }, tx as never);
      await recordItems(tx, items);
      if (spent > 0) {
        await tx`
          update tasks set
            upload_calls = case when upload_calls_month = ${month} then upload_calls + ${spent} else ${spent} end,
            upload_calls_month = ${month}
          where id = ${this.job.taskId}`;
      }
    });
  }

  async upload(t: Target, batch: SourceItem[]): Promise<{ contentHash?: string; path?: string; error?: string }[]> {
    const { client, opts } = this;
    const { session_ids: ids } = await client.call('files/upload_session/start_batch',
      (d) => d.filesUploadSessionStartBatch({ num_sessions: batch.length }), t.scope);
    const small = batch.map((f, i) => ({ f, i })).filter(({ f }) => f.size <= opts.smallFileMax);
    const large = batch.map((f, i) => ({ f, i })).filter(({ f }) => f.size > opts.smallFileMax);
    // Small files: one append_batch per ≤ batchBytes of content, every piece closing its session.
    let group: { f: SourceItem; i: number }[] = [];
    let groupBytes = 0;
    let groupArg = 0;
    const flush = async () => {
      if (!group.length) return;
      const data = await this.reader.readSmall(group.map((g) => g.f));
      const body = Buffer.concat(group.map((g) => data.get(g.f.id)!));
      const entries = group.map((g) => ({ cursor: { session_id: ids[g.i]!, offset: 0 }, length: g.f.size, close: true }));
      const res = await client.call('files/upload_session/append_batch', (d) => d.filesUploadSessionAppendBatch({ entries, contents: body }), t.scope);
      for (const [k, e] of res.entries.entries()) if (e['.tag'] !== 'success') throw new Error(`append_batch failed for ${group[k]!.f.path_display}: ${JSON.stringify(e)}`);
      group = [];
      groupBytes = 0;
      groupArg = 0;
    };
    for (const s of small) {
      const argSize = JSON.stringify({ cursor: { session_id: ids[s.i]!, offset: 0 }, length: s.f.size, close: true }).length + 1;
      if (group.length && (groupBytes + s.f.size > opts.batchBytes || groupArg + argSize > opts.argBytes - 32)) await flush();
      group.push(s);
      groupBytes += s.f.size;
      groupArg += argSize;
    }
    await flush();
    // Large files: their own session, appended in big chunks, the last one closing it.
    for (const { f, i } of large) {
      const stream = await this.reader.stream(f);
      let offset = 0;
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const send = async () => {
        const chunk = Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
        const close = offset + chunk.length === f.size;
        const cursor = { session_id: ids[i]!, offset };
        await client.call('files/upload_session/append_v2', (d) => d.filesUploadSessionAppendV2({ cursor, close, contents: chunk }), t.scope);
        offset += chunk.length;
        if (!close && (await cancelRequested(this.deps, this.job.id))) throw new JobCanceled();
      };
      for await (const piece of stream) {
        let buf = piece as Buffer;
        while (buf.length) {
          const take = Math.min(buf.length, opts.chunkBytes - pendingBytes);
          pending.push(buf.subarray(0, take));
          pendingBytes += take;
          buf = buf.subarray(take);
          if (pendingBytes === opts.chunkBytes) await send();
        }
      }
      if (pendingBytes > 0 || offset < f.size || offset === 0) await send();
    }
    // Commit the whole batch at once.
    const entries: files.UploadSessionFinishArg[] = batch.map((f, i) => ({
      cursor: { session_id: ids[i]!, offset: f.size },
      commit: {
        path: `${t.base}${f.path_display}`,
        mode: { '.tag': 'add' },
        autorename: true,
        mute: true,
        ...(f.client_modified ? { client_modified: dropboxTime(f.client_modified)! } : {}),
      },
    }));
    const res = await client.call('files/upload_session/finish_batch_v2', (d) => d.filesUploadSessionFinishBatchV2({ entries }), t.scope);
    return res.entries.map((e) => {
      if (e['.tag'] === 'success') {
        // Where it landed: the commit path, or the name autorename gave it beside an existing file.
        const m = e as unknown as { content_hash?: string; path_display?: string };
        return { contentHash: m.content_hash, ...(m.path_display ? { path: m.path_display } : {}) };
      }
      const failure = (e as { failure?: unknown }).failure;
      return { error: `Dropbox refused the commit: ${summarize(failure)}` };
    });
  }

  async createEmptyFolders(t: Target, selection: Selection): Promise<void> {
    const folders = await emptyFolders(this.deps, selection);
    for (const f of folders) {
      const path = `${t.base}${f.path_display}`;
      if (path === '') continue;
      try {
        await this.client.call('files/create_folder_v2', (d) => d.filesCreateFolderV2({ path, autorename: false }), t.scope);
      } catch (err) {
        if (err instanceof DropboxCallError && err.status === 409) continue; // already there
        throw err;
      }
    }
    if (t.base !== '' && folders.length === 0 && this.job.itemsTotal === 0) {
      try {
        await this.client.call('files/create_folder_v2', (d) => d.filesCreateFolderV2({ path: t.base, autorename: false }), t.scope);
      } catch (err) {
        if (!(err instanceof DropboxCallError && err.status === 409)) throw err;
      }
    }
  }
}

function summarize(v: unknown): string {
  const parts: string[] = [];
  let cur = v as Record<string, unknown> | undefined;
  while (cur && typeof cur === 'object' && typeof cur['.tag'] === 'string') {
    const tag = cur['.tag'] as string;
    parts.push(tag);
    cur = cur[tag] as Record<string, unknown> | undefined;
  }
  return parts.join('/') || JSON.stringify(v);
}
