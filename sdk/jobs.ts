// `coffer.jobs.wait(id)`: restores, exports and other jobs run in the background; this polls one
// until it ends, backing off from 0.5 s to 10 s between reads, and returns its final state. A job
// that ends `failed` raises JobFailedError (carrying the job); `canceled`, `succeeded` and
// `partially_succeeded` are returned, so check `job.state` and `job.errors`.
import { JobFailedError } from './errors.ts';
import { OPERATIONS } from './operations.ts';
import { Resource } from './resource.ts';
import type { ResultOf, WithResponse } from './types.ts';

export type Job = WithResponse<ResultOf<'getJob'>>;
export const TERMINAL_JOB_STATES: readonly string[] = ['succeeded', 'partially_succeeded', 'failed', 'canceled'];

export interface WaitOptions {
  /** Called with each state read while the job runs (and with the final one). */
  onProgress?: (job: Job) => void;
  signal?: AbortSignal;
  /** Give up (a TimeoutError) after this long; default: wait as long as it takes. */
  timeoutMs?: number;
  /** First and longest pause between reads (default 500 ms and 10 s). */
  minIntervalMs?: number;
  maxIntervalMs?: number;
}

export class JobWaiter extends Resource {
  async wait(id: string, options: WaitOptions = {}): Promise<Job> {
    const signals = [options.signal, options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length ? AbortSignal.any(signals) : undefined;
    let interval = options.minIntervalMs ?? 500;
    const max = options.maxIntervalMs ?? 10_000;
    for (;;) {
      signal?.throwIfAborted();
      const job = (await this._transport.call(OPERATIONS.getJob, [id], undefined, { signal })) as Job;
      options.onProgress?.(job);
      if (job.state === 'failed') throw new JobFailedError(job);
      if (TERMINAL_JOB_STATES.includes(job.state)) return job;
      await pause(interval, signal);
      interval = Math.min(max, Math.round(interval * 1.5));
    }
  }
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => { clearTimeout(handle); reject(signal!.reason); };
    const handle = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
