// The contract every blob backend (filesystem, S3) meets. Keys are '/'-separated relative paths
// (no empty, '.' or '..' segments). A put is all-or-nothing: readers see the whole object or none.
import { Transform, type Readable } from 'node:stream';

export interface BlobInfo {
  key: string;
  size: number;
}

export interface BlobStore {
  /**
   * Store an object, replacing any previous one. `size`, when given, must equal the body's length
   * (a mismatch fails the put and stores nothing); for a stream it lets backends avoid buffering.
   */
  put(key: string, body: Buffer | Readable, size?: number): Promise<void>;
  /** Whole object; `NotFoundError` when missing. */
  get(key: string): Promise<Buffer>;
  /** Exactly `length` bytes at `offset`; `InvalidRangeError` if that runs past the end. */
  getRange(key: string, offset: number, length: number): Promise<Buffer>;
  /** Streamed object; `NotFoundError` is thrown before the stream is returned. */
  getStream(key: string): Promise<Readable>;
  /** Size, or null when the key does not exist. */
  head(key: string): Promise<{ size: number } | null>;
  /** Delete keys; missing keys are not an error. */
  delete(keys: string[]): Promise<void>;
  /** Every object whose key starts with `prefix` (plain string prefix, not only folders), in key order. */
  list(prefix: string): AsyncIterable<BlobInfo>;
}

/** Reject keys that could escape a root directory or mean different things on different backends. */
export function assertValidKey(key: string): void {
  if (key.length === 0 || key.length > 1024) throw new TypeError(`invalid blob key length: ${key.length}`);
  if (key.includes('\\') || key.includes('\0')) throw new TypeError(`invalid character in blob key: ${JSON.stringify(key)}`);
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') throw new TypeError(`invalid blob key: ${JSON.stringify(key)}`);
  }
}

export function assertValidRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`invalid range ${offset}+${length}`);
  }
}

/** Fails the stream (and with it the upload, which then commits nothing) when it turns out longer or shorter than declared. */
export function enforceLength(body: Readable, expected: number, key: string): Readable {
  let seen = 0;
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > expected) callback(new Error(`blob ${key}: body longer than the declared ${expected} bytes`));
      else callback(null, chunk);
    },
    flush(callback) {
      callback(seen === expected ? null : new Error(`blob ${key}: body was ${seen} bytes, expected ${expected}`));
    },
  });
  body.on('error', (error) => guard.destroy(error));
  return body.pipe(guard);
}
