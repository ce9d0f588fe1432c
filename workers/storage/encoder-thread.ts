// The worker-thread side of EncoderPool: encodes batches of blocks (compress + encrypt) and sends
// each back as one Buffer whose memory is transferred, not copied.
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
  const results: EncodeReply['results'] = [];
  const transfer: ArrayBuffer[] = [];
  for (const item of request.items) {
    try {
      const encoded = encodeBlockParts(key, Buffer.from(item.data.buffer, item.data.byteOffset, item.data.byteLength), item.hash, { compress: item.compress });
      // One allocation of its own per block, so it can be transferred whole.
      const data = Buffer.allocUnsafeSlow(encoded.length);
      let pos = 0;
      for (const part of encoded.parts) pos += part.copy(data, pos);
      results.push({ data, compressed: encoded.compressed });
      transfer.push(data.buffer as ArrayBuffer);
    } catch (err) {
      results.push({ error: err instanceof Error ? err.message : String(err) });
    }
  }
  parentPort!.postMessage({ id: request.id, results } satisfies EncodeReply, transfer);
});
