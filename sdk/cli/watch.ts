// Long work, watched: `coffer jobs watch ID` (and `jobs wait`, `restores create --wait`,
// `exports create --wait`) and `coffer backup ENTITY_ID --wait`. On a terminal a progress bar on
// stderr; with --json one JSON object a line on stdout — `{"type":"progress",…}` while it runs,
// `{"type":"summary",…}` at the end — where `job` / `run` is exactly what the API returned.
import type { Coffer } from '../client.ts';
import { JobFailedError } from '../errors.ts';
import type { Job } from '../jobs.ts';
import type { ResultOf } from '../types.ts';
import { PreconditionError } from './exit-codes.ts';
import { printLine, printObject } from './output.ts';
import { formatBytes, Meter, ProgressBar } from './progress.ts';

type Run = ResultOf<'getBackupRun'>;

export interface WatchOptions {
  json: boolean;
  signal: AbortSignal;
  /** Longest pause between reads (ms); a progress bar wants it short. */
  maxIntervalMs?: number;
  timeoutMs?: number;
}

const plain = (value: unknown) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>;

/** Follows a job to its end; a failed job raises JobFailedError (exit 6) after the summary. */
export async function watchJob(coffer: Coffer, id: string, o: WatchOptions): Promise<Job> {
  const bar = o.json ? undefined : new ProgressBar(process.stderr, id);
  const meter = new Meter();
  let final: Job | undefined;
  try {
    final = await coffer.jobs.wait(id, {
      signal: o.signal,
      maxIntervalMs: o.maxIntervalMs ?? 2_000,
      ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
      onProgress: (job) => {
        const sample = { itemsDone: job.items_done, itemsTotal: job.items_total, bytesDone: job.bytes_done, bytesTotal: job.bytes_total };
        if (bar) return bar.update(sample, job.state);
        meter.add(job.bytes_done);
        const rate = meter.rate();
        printLine({ type: 'progress', rate_bytes_per_second: rate === null ? null : Math.round(rate), eta_seconds: meter.eta(job.bytes_total - job.bytes_done), job: plain(job) });
      },
    });
    return final;
  } catch (err) {
    if (err instanceof JobFailedError) final = err.job as Job;
    throw err;
  } finally {
    bar?.done();
    if (final) {
      if (o.json) printLine({ type: 'summary', job: plain(final) });
      else if (final.state !== 'failed') {
        printObject(final);
        if (final.state !== 'succeeded') process.stderr.write(`warning: job ${final.id} ended ${final.state}${final.reason ? `: ${final.reason}` : ''}\n`);
      }
    }
  }
}

/** A failed backup run: exit 6 like a failed job. */
export class RunFailedError extends JobFailedError<{ id: string; state: string; reason: string | null }> {}

/**
 * `coffer backup ENTITY_ID [--wait]`: asks for a backup now; with --wait, follows the run it
 * starts (the first run newer than the latest before the request) until it ends.
 */
export async function backup(coffer: Coffer, entityId: string, wait: boolean, o: WatchOptions): Promise<Run | undefined> {
  const before = (await coffer.runs.list(entityId, { limit: 1 }, { signal: o.signal })).data[0]?.id ?? '';
  const result = await coffer.entities.applyAction({ action: 'backup_now', entity_ids: [entityId] }, { signal: o.signal });
  const outcome = result.results[0]!;
  if (!outcome.ok) throw new PreconditionError(`cannot back up ${entityId} now: ${outcome.error?.code ?? 'refused'}${outcome.error?.detail ? ` — ${outcome.error.detail}` : ''}`);
  if (!wait) {
    if (o.json) printLine({ type: 'requested', entity_id: entityId });
    else process.stderr.write(`backup of ${entityId} requested\n`);
    return undefined;
  }
  const bar = o.json ? undefined : new ProgressBar(process.stderr, entityId);
  const deadline = o.timeoutMs ? Date.now() + o.timeoutMs : Infinity;
  let interval = 500;
  let run: Run | undefined;
  try {
    for (;;) {
      o.signal.throwIfAborted();
      if (Date.now() > deadline) throw Object.assign(new Error(`the backup of ${entityId} did not finish in time`), { name: 'TimeoutError' });
      const latest = (await coffer.runs.list(entityId, { limit: 1 }, { signal: o.signal })).data[0];
      if (latest && latest.id > before) {
        run = latest;
        const done = run.counts.new + run.counts.changed + run.counts.unchanged;
        if (bar) bar.update({ itemsDone: done, itemsTotal: run.total_items ?? 0, bytesDone: run.bytes_downloaded, bytesTotal: run.size_bytes ?? 0 }, run.state);
        else printLine({ type: 'progress', run: plain(run) });
        if (run.state !== 'running') break;
      }
      await new Promise((r) => setTimeout(r, interval));
      interval = Math.min(o.maxIntervalMs ?? 2_000, Math.round(interval * 1.5));
    }
  } finally {
    bar?.done();
  }
  if (o.json) printLine({ type: 'summary', run: plain(run) });
  else {
    printObject(run);
    process.stderr.write(`backup ${run.state}: ${run.total_items ?? 0} items, ${formatBytes(run.size_bytes ?? 0)}; ${formatBytes(run.bytes_downloaded)} downloaded\n`);
  }
  if (run.state === 'failed') throw new RunFailedError({ id: run.id, state: run.state, reason: run.error });
  return run;
}
