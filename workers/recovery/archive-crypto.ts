// Encryption of download archives at rest, in segments that are each authenticated on their own, so
// a reader releases a segment's plaintext only after its tag checked out. (One AES-GCM stream over
// the whole archive, the first format, can only be verified at its very end: a streaming reader
// has handed out every tampered byte before it learns of the tampering.)
//
// Layout: "CFXA" version(1)=2 noncePrefix(7) then segments, each `AES-256-GCM(plaintext) tag(16)`
// with SEGMENT_BYTES of plaintext, the last one shorter (possibly empty). Segment i's nonce is
// noncePrefix ‖ i (u32) ‖ last (u8: 1 for the final segment, else 0), so segments cannot be
// reordered, dropped, or the archive cut at a segment boundary without a tag failing. The key is
// random per archive.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { IntegrityError } from '../storage/errors.ts';

export const SEGMENT_BYTES = 64 * 1024;
const TAG = 16;
const MAGIC = Buffer.from('CFXA');
const VERSION = 2;
const HEADER_BYTES = MAGIC.length + 1 + 7;

function nonce(prefix: Buffer, index: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  prefix.copy(n, 0);
  n.writeUInt32BE(index, 7);
  n[11] = last ? 1 : 0;
  return n;
}

function seal(key: Buffer, prefix: Buffer, index: number, last: boolean, plain: Buffer): Buffer {
  if (index > 0xffffffff) throw new RangeError('archive too large for its segment counter');
  const cipher = createCipheriv('aes-256-gcm', key, nonce(prefix, index, last));
  return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

function open(key: Buffer, prefix: Buffer, index: number, last: boolean, sealed: Buffer): Buffer {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce(prefix, index, last));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG)), decipher.final()]);
  } catch (cause) {
    throw new IntegrityError('authentication', `export archive segment ${index} failed authentication (tampered with or corrupt)`, { cause });
  }
}

/** Encrypts an archive as it streams. */
export function encryptArchive(key: Buffer): Transform {
  const prefix = randomBytes(7);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let index = 0;
  let headerSent = false;
  const header = () => {
    if (headerSent) return [];
    headerSent = true;
    return [MAGIC, Buffer.from([VERSION]), prefix];
  };
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      const out: Buffer[] = header();
      // A full segment is sealed only once more data follows it: the final segment must be marked.
      if (pendingBytes > SEGMENT_BYTES) {
        let all = Buffer.concat(pending);
        while (all.length > SEGMENT_BYTES) {
          out.push(seal(key, prefix, index++, false, all.subarray(0, SEGMENT_BYTES)));
          all = all.subarray(SEGMENT_BYTES);
        }
        pending = [all];
        pendingBytes = all.length;
      }
      cb(null, Buffer.concat(out));
    },
    flush(cb) {
      cb(null, Buffer.concat([...header(), seal(key, prefix, index++, true, Buffer.concat(pending))]));
    },
  });
}

/**
 * Decrypts an archive as it streams, releasing each segment only after its tag verified; the
 * stream fails with an IntegrityError at the first segment that does not.
 */
export function decryptArchive(key: Buffer): Transform {
  let buffered: Buffer = Buffer.alloc(0);
  let prefix: Buffer | undefined;
  let index = 0;
  const sealedBytes = SEGMENT_BYTES + TAG;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      if (!prefix) {
        if (buffered.length < HEADER_BYTES) return cb();
        if (!buffered.subarray(0, 4).equals(MAGIC) || buffered[4] !== VERSION) return cb(new IntegrityError('format', 'not an export archive of this format'));
        prefix = Buffer.from(buffered.subarray(5, HEADER_BYTES));
        buffered = buffered.subarray(HEADER_BYTES);
      }
      const out: Buffer[] = [];
      try {
        // More than one sealed segment's worth buffered: the first one cannot be the final one.
        while (buffered.length > sealedBytes) {
          out.push(open(key, prefix, index++, false, buffered.subarray(0, sealedBytes)));
          buffered = buffered.subarray(sealedBytes);
        }
      } catch (err) {
        return cb(err as Error);
      }
      buffered = Buffer.from(buffered);
      cb(null, Buffer.concat(out));
    },
    flush(cb) {
      try {
        if (!prefix || buffered.length < TAG) throw new IntegrityError('format', 'export archive truncated');
        cb(null, open(key, prefix, index, true, buffered));
      } catch (err) {
        cb(err as Error);
      }
    },
  });
}
