// A `download` export read back: the archive's plaintext for GET /v1/jobs/{id}/download (archives
// of both encryption formats), and the signed links that download it without credentials.
import { createDecipheriv, createHmac, timingSafeEqual, type DecipherGCM } from 'node:crypto';
import { PassThrough, Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AppDeps } from '../../api/deps.ts';
import { accountStorage } from '../backup/storage.ts';
import { IntegrityError } from '../storage/errors.ts';
import { decryptArchive } from './archive-crypto.ts';
import { ARCHIVE_KEY_CONTEXT } from './export.ts';
import type { JobRow } from './job-state.ts';

/**
 * Archives written before segmented encryption (archive-crypto.ts): one AES-GCM stream,
 * `nonce(12) ciphertext tag(16)`, verifiable only at its end. They live at most 72 hours; until
 * they are gone, one is read twice: through to its tag first, and only then streamed out.
 */
function isLegacyArchive(resultKey: string): boolean {
  return resultKey.endsWith('.zip.enc');
}

function decryptLegacy(key: Buffer): Transform {
  let head = Buffer.alloc(0);
  let decipher: DecipherGCM | undefined;
  let tail = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      let data = chunk;
      if (!decipher) {
        head = Buffer.concat([head, data]);
        if (head.length < 12) return cb();
        decipher = createDecipheriv('aes-256-gcm', key, head.subarray(0, 12));
        data = head.subarray(12);
      }
      const all = Buffer.concat([tail, data]);
      const keep = Math.min(16, all.length);
      tail = Buffer.from(all.subarray(all.length - keep));
      cb(null, decipher.update(all.subarray(0, all.length - keep)));
    },
    flush(cb) {
      try {
        if (!decipher || tail.length !== 16) throw new IntegrityError('format', 'export archive truncated');
        decipher.setAuthTag(tail);
        cb(null, decipher.final());
      } catch (err) {
        cb(err instanceof IntegrityError ? err : new IntegrityError('authentication', 'export archive failed authentication (tampered with or corrupt)', { cause: err }));
      }
    },
  });
}

/** The archive's plaintext; the stream fails (IntegrityError) before releasing any tampered bytes. */
export async function openArchive(deps: AppDeps, job: JobRow): Promise<Readable> {
  const { store } = await accountStorage(deps, job.accountId);
  const key = Buffer.from(deps.keyring.openSecret(job.resultSecret!, ARCHIVE_KEY_CONTEXT), 'base64');
  const legacy = isLegacyArchive(job.resultKey!);
  if (legacy) {
    await pipeline(await store.getStream(job.resultKey!), decryptLegacy(key), new Writable({ write: (_c, _e, cb) => cb() }));
  }
  const raw = await store.getStream(job.resultKey!);
  const out = new PassThrough();
  pipeline(raw, legacy ? decryptLegacy(key) : decryptArchive(key), out).catch((err) => out.destroy(err));
  return out;
}

// Signed links: `<job id>.<expiry seconds>.<HMAC-SHA256 under a key derived from the archive key>`.
// Only a holder of the link (given to the job's account) can compute or use it; it stops working
// when it expires, and a link for one job says nothing about another.
function linkKey(deps: AppDeps, job: JobRow): Buffer {
  const archive = Buffer.from(deps.keyring.openSecret(job.resultSecret!, ARCHIVE_KEY_CONTEXT), 'base64');
  return createHmac('sha256', archive).update('coffer/download-link/v1').digest();
}

export function downloadToken(deps: AppDeps, job: JobRow): string | null {
  if (!job.resultSecret || !job.expiresAt || job.state !== 'succeeded' || job.cancelRequested) return null;
  const exp = Math.floor(job.expiresAt.getTime() / 1000);
  const mac = createHmac('sha256', linkKey(deps, job)).update(`${job.id}.${exp}`).digest('base64url');
  return `${job.id}.${exp}.${mac}`;
}

export function parseToken(token: string): { jobId: string; exp: number; mac: string } | null {
  const m = /^(job_[0-9a-z]{26})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
  return m ? { jobId: m[1]!, exp: Number(m[2]), mac: m[3]! } : null;
}

export function tokenValid(deps: AppDeps, job: JobRow, t: { exp: number; mac: string }): boolean {
  if (!job.resultSecret) return false;
  const expected = createHmac('sha256', linkKey(deps, job)).update(`${job.id}.${t.exp}`).digest();
  const given = Buffer.from(t.mac, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
