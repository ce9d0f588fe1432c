// Byte ranges of a download (RFC 9110 §14): `Range: bytes=N-` lets a client resume an interrupted
// download, `bytes=N-M` and `bytes=-K` (the last K bytes) work too. One range per request: a list
// of ranges is served whole (200), which the RFC allows. `If-Range` with the archive's ETag makes
// the range conditional, so a client never splices bytes of two different archives.
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { ApiError } from '../../errors.ts';

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/** The range asked for, null for the whole body; throws 416 when it lies beyond the end. */
export function parseRange(header: string | undefined, size: number): ByteRange | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // not one byte range: ignored, the whole body
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
    if (suffix === 0) throw unsatisfiable(size);
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return null; // invalid: ignored
  }
  if (start >= size) throw unsatisfiable(size);
  return { start, end };
}

function unsatisfiable(size: number): ApiError {
  return new ApiError(416, 'range_not_satisfiable', 'Range Not Satisfiable', `The archive has ${size} bytes.`, { headers: { 'content-range': `bytes */${size}` } });
}

/** Passes on the bytes start..end (inclusive) of a stream and drops the rest. */
export function sliceStream(source: Readable, { start, end }: ByteRange): Readable {
  let offset = 0;
  let done = false;
  const slice = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (done) return cb();
      const from = Math.max(0, start - offset);
      const to = Math.min(chunk.length, end + 1 - offset);
      offset += chunk.length;
      if (from < to) this.push(chunk.subarray(from, to));
      if (offset > end) {
        // The rest is not needed: stop reading (and decrypting) it.
        done = true;
        this.push(null);
        source.unpipe(this);
        source.destroy();
      }
      cb();
    },
  });
  source.on('error', (err) => { if (!done) slice.destroy(err); });
  return source.pipe(slice);
}
