// The worker-thread side of EncoderPool: encodes batches of blocks (compress + encrypt) and sends
// them back in one Buffer whose memory is transferred, not copied.
import { parentPort } from 'node:worker_threads';
import { encodeBlockParts } from './block-codec.ts';
import type { EncodeReply, EncodeRequest } from './encoder-pool.ts';

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
  let total = 0;
  for (const item of request.items) {
    try {
      const e = encodeBlockParts(key, Buffer.from(item.data.buffer, item.data.byteOffset, item.data.byteLength), item.hash, { compress: item.compress });
      encoded.push(e);
      total += e.length;
    } catch (err) {
      encoded.push({ error: err instanceof Error ? err.message : String(err) });
    }
  }
  // One allocation for the whole request, transferred (not copied) back.
  const data = Buffer.allocUnsafeSlow(total);
  let pos = 0;
  const results: EncodeReply['results'] = encoded.map((e) => {
    if ('error' in e) return e;
    const offset = pos;
    for (const part of e.parts) pos += part.copy(data, pos);
    return { offset, length: e.length, compressed: e.compressed };
  });
  parentPort!.postMessage({ id: request.id, data, results } satisfies EncodeReply, [data.buffer as ArrayBuffer]);
});
