// `coffer exports create … --wait --download FILE`: the archive of a finished export, written to
// FILE.part while it arrives and renamed to FILE once its SHA-256 matches the one the job
// publishes (`download.sha256`). An interrupted download — a dropped connection now, or Ctrl-C and
// the same command again later — continues where FILE.part ends (HTTP Range, with If-Range so a
// different archive is never spliced on).
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import type { Coffer } from '../client.ts';
import { CofferError } from '../errors.ts';
import type { Job } from '../jobs.ts';
import { printLine } from './output.ts';
import { ProgressBar, Meter } from './progress.ts';

export interface Downloaded {
  path: string;
  size: number;
  sha256: string;
  /** Bytes already in FILE.part when this run began (0: a fresh download). */
  resumed_from: number;
  verified: boolean;
}

export class ChecksumMismatchError extends Error {
  override name = 'ChecksumMismatchError';
}

const MAX_ATTEMPTS = 5;

async function sizeOf(path: string): Promise<number> {
  return stat(path).then((s) => s.size, () => 0);
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function downloadArchive(coffer: Coffer, job: Job, path: string, o: { json: boolean; signal: AbortSignal }): Promise<Downloaded> {
  const size = job.download?.size ?? 0;
  const expected = job.download?.sha256 ?? null;
  const part = `${path}.part`;
  let have = await sizeOf(part);
  if (have > size) { await rm(part, { force: true }); have = 0; }
  const resumedFrom = have;
  const bar = o.json ? undefined : new ProgressBar(process.stderr, `download ${job.id}`);
  const meter = new Meter();
  let lastReport = 0;
  const report = (force = false) => {
    const sample = { itemsDone: have >= size ? 1 : 0, itemsTotal: 1, bytesDone: have, bytesTotal: size };
    if (bar) return bar.update(sample);
    meter.add(have);
    if (!force && Date.now() - lastReport < 500) return;
    lastReport = Date.now();
    const rate = meter.rate();
    printLine({ type: 'progress', phase: 'download', job_id: job.id, bytes_done: have, bytes_total: size, rate_bytes_per_second: rate === null ? null : Math.round(rate), eta_seconds: meter.eta(size - have) });
  };
  try {
    for (let attempt = 1; have < size || (size === 0 && attempt === 1); attempt++) {
      const headers: Record<string, string> = have > 0 ? { range: `bytes=${have}-`, ...(expected ? { 'if-range': `"${expected}"` } : {}) } : {};
      try {
        const response = await coffer.jobs.downloadResult(job.id, { signal: o.signal, headers });
        if (response.status === 200 && have > 0) have = 0; // the server sent the whole archive: start over
        const out = createWriteStream(part, { flags: have > 0 ? 'a' : 'w' });
        try {
          for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
            if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
            have += chunk.length;
            report();
          }
        } finally {
          await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
        }
        if (size === 0) break;
      } catch (err) {
        // Refusals (404, 410 expired, …) and Ctrl-C end it; a dropped connection is resumed.
        if (o.signal.aborted) process.stderr.write(`\ninterrupted: \`coffer jobs download ${job.id} ${path}\` continues from ${part}\n`);
        if (o.signal.aborted || (err instanceof CofferError && err.status > 0 && err.status < 500) || attempt >= MAX_ATTEMPTS) throw err;
        have = await sizeOf(part);
        await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
      }
    }
    report(true);
  } finally {
    bar?.done();
  }
  const actual = await hashFile(part);
  if (expected && actual !== expected) {
    await rm(part, { force: true });
    throw new ChecksumMismatchError(`the downloaded archive does not match its published SHA-256 (got ${actual}, expected ${expected}); removed it — run the command again`);
  }
  await rename(part, path);
  if (!expected) process.stderr.write('warning: the API published no checksum for this archive; it was not verified\n');
  return { path, size: have, sha256: actual, resumed_from: resumedFrom, verified: expected !== null };
}
