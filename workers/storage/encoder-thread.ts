// The worker-thread side of EncoderPool: encodes batches of blocks (compress + encrypt) and sends
// them back in transferred (not copied) memory: small ones together in one Buffer, big ones each in
// their own.
import { parentPort } from 'node:worker_threads';
import { encodeBlockParts } from './block-codec.ts';
import type { EncodeReply, EncodeRequest } from './encoder-pool.ts';

/** Encoded blocks at least this big come back in a buffer of their own. */
const OWN_BUFFER_FROM = 256 * 1024;

/** The same Buffer for the same key, so block-codec's KeyObject cache hits across batches. */
const keys = new Map<string, Buffer>();
function keyBuffer(raw: Uint8Array): Buffer {
  const hex = Buffer.from(raw).toString('hex');
  let key = keys.get(hex);
  if (!key) {
    if (keys.size > 1000) keys.clear();
    key = Buffer.from(raw);
    keys.set(hex, key);
  }
  return key;
}

parentPort!.on('message', (request: EncodeRequest) => {
  const key = keyBuffer(request.key);
  const encoded: ({ parts: Buffer[]; length: number; compressed: boolean } | { error: string })[] = [];
  for (const item of request.items) {
    try {
      const e = encodeBlockParts(key, Buffer.from(item.data.buffer, item.data.byteOffset, item.data.byteLength), item.hash, { compress: item.compress });
      encoded.push(e);
    } catch (err) {
      encoded.push({ error: err instanceof Error ? err.message : String(err) });
    }
  }
  // Small blocks come back in one buffer for the whole request; a big one (4 MiB) in its own, so
  // it is freed as soon as its pack is written, not when the request's last block is.
  const together = Buffer.allocUnsafeSlow(encoded.reduce((n, e) => n + ('error' in e || e.length >= OWN_BUFFER_FROM ? 0 : e.length), 0));
  const transfer: ArrayBuffer[] = [together.buffer as ArrayBuffer];
  let pos = 0;
  const results: EncodeReply['results'] = encoded.map((e) => {
    if ('error' in e) return e;
    if (e.length >= OWN_BUFFER_FROM) {
      const own = Buffer.allocUnsafeSlow(e.length);
      let at = 0;
      for (const part of e.parts) at += part.copy(own, at);
      transfer.push(own.buffer as ArrayBuffer);
      return { data: own, offset: 0, length: e.length, compressed: e.compressed };
    }
    const offset = pos;
    for (const part of e.parts) pos += part.copy(together, pos);
    return { offset, length: e.length, compressed: e.compressed };
  });
  parentPort!.postMessage({ id: request.id, data: together, results } satisfies EncodeReply, transfer);
});
