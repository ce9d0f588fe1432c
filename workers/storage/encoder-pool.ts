// Block encoding (zstd + AES-256-GCM) on worker threads, so a backup's main thread is left with
// reading, hashing and the database. Per 10 KB block, encoding is the largest piece of CPU work
// (zstd, see zstd.ts); per 4 MiB block it is the AES pass. Requests made in the
// same tick go to a thread as one message; results come back in transferred memory (small blocks
// together in one buffer, big ones each in their own).
//
// The pool is an optimisation only: `encodeBlockParts` is the same function either way, and a
// PackWriter without a pool encodes inline.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { EncodedBlockParts } from './block-codec.ts';

export interface EncodeRequest {
  id: number;
  key: Uint8Array;
  items: { hash: Uint8Array; data: Uint8Array; compress: boolean }[];
}

export interface EncodeReply {
  id: number;
  /** The request's small encoded blocks, back to back (one transfer for all of them). */
  data: Uint8Array;
  /** Where each block is: in `data` at `offset`, or in its own `data` (big blocks). */
  results: ({ data?: Uint8Array; offset: number; length: number; compressed: boolean } | { error: string })[];
}

interface Queued {
  key: Buffer;
  hash: Buffer;
  data: Buffer;
  compress: boolean;
  pending: Pending;
}

interface Pending {
  resolve: (r: EncodedBlockParts) => void;
  reject: (e: Error) => void;
}

/** Blocks per message: enough to amortise messaging, few enough to spread over threads. */
const BATCH_ITEMS = 64;
/** Data at or above this size that owns its whole ArrayBuffer is transferred rather than copied. */
const TRANSFER_FROM_BYTES = 256 * 1024;

export class EncoderPool {
  readonly size: number;
  /** A slot is null after its thread crashed; the next request starts a new one there. */
  #workers: (Worker | null)[] = [];
  #load: number[] = [];
  #next = 0;
  #requests = new Map<number, { worker: number; items: Pending[] }>();
  #queue: Queued[] = [];
  #scheduled = false;
  #closed = false;

  constructor(size = Math.max(1, Math.min(4, availableParallelism() - 1))) {
    this.size = size;
  }

  encode(key: Buffer, plaintext: Buffer, hash: Buffer, options: { compress?: boolean } = {}): Promise<EncodedBlockParts> {
    if (this.#closed) return Promise.reject(new Error('encoder pool is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ key, hash, data: plaintext, compress: options.compress !== false, pending: { resolve, reject } });
      if (this.#queue.length >= BATCH_ITEMS * this.size) this.#dispatch();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => this.#dispatch());
      }
    });
  }

  /** Stops the threads; requests still in flight are rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    const workers = this.#workers;
    this.#workers = [];
    const closed = new Error('encoder pool closed');
    for (const [, req] of this.#requests) for (const p of req.items) p.reject(closed);
    this.#requests.clear();
    for (const item of this.#queue.splice(0)) item.pending.reject(closed);
    await Promise.all(workers.map((w) => w?.terminate()));
  }

  #dispatch(): void {
    this.#scheduled = false;
    if (this.#closed) return;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, BATCH_ITEMS);
      // Keys differ between accounts: one message per key.
      const byKey = new Map<Buffer, Queued[]>();
      for (const item of batch) {
        const list = byKey.get(item.key);
        if (list) list.push(item);
        else byKey.set(item.key, [item]);
      }
      for (const [key, items] of byKey) this.#send(key, items);
    }
  }

  #send(key: Buffer, items: Queued[]): void {
    const index = this.#pickWorker();
    const worker = this.#workers[index]!;
    const id = this.#next++;
    const transfer: ArrayBuffer[] = [];
    // Blocks in shared memory (a zip downloaded into a SharedArrayBuffer) are read by the thread
    // where they are. A big block that owns its whole ArrayBuffer is handed over (a writer never
    // reads a block's plaintext again). Any other view (into Node's pool, say) would clone all of
    // its buffer: those are copied, together, into one buffer that is transferred.
    let copyBytes = 0;
    const kinds = items.map((item) => {
      if (item.data.buffer instanceof SharedArrayBuffer) return 'shared';
      const whole = item.data.byteOffset === 0 && item.data.byteLength === item.data.buffer.byteLength;
      if (whole && item.data.byteLength >= TRANSFER_FROM_BYTES) return 'transfer';
      copyBytes += item.data.byteLength;
      return 'copy';
    });
    const copies = copyBytes > 0 ? new Uint8Array(copyBytes) : null;
    if (copies) transfer.push(copies.buffer);
    let copied = 0;
    const payload = items.map((item, i) => {
      let data: Uint8Array = item.data;
      if (kinds[i] === 'transfer') transfer.push(item.data.buffer as ArrayBuffer);
      else if (kinds[i] === 'copy') {
        copies!.set(item.data, copied);
        data = copies!.subarray(copied, copied + item.data.byteLength);
        copied += item.data.byteLength;
      }
      return { hash: new Uint8Array(item.hash), data, compress: item.compress };
    });
    this.#requests.set(id, { worker: index, items: items.map((i) => i.pending) });
    if (this.#load[index] === 0) worker.ref();
    this.#load[index]! += items.length;
    worker.postMessage({ id, key: new Uint8Array(key), items: payload } satisfies EncodeRequest, transfer);
  }

  #pickWorker(): number {
    let index = this.#workers.indexOf(null);
    if (index === -1 && this.#workers.length < this.size) index = this.#workers.length;
    if (index !== -1) {
      const worker = new Worker(new URL('./encoder-thread.ts', import.meta.url));
      worker.on('message', (reply: EncodeReply) => this.#onReply(reply));
      worker.on('error', (err) => this.#onWorkerError(index, worker, err));
      // Referenced only while it holds requests (see #send / #onReply): an idle pool never keeps
      // the process alive, a busy one does (its results are awaited).
      worker.unref();
      this.#workers[index] = worker;
      this.#load[index] = 0;
      return index;
    }
    let best = 0;
    for (let i = 1; i < this.#load.length; i++) if (this.#load[i]! < this.#load[best]!) best = i;
    return best;
  }

  #onReply(reply: EncodeReply): void {
    const request = this.#requests.get(reply.id);
    if (!request) return;
    this.#requests.delete(reply.id);
    this.#load[request.worker]! -= request.items.length;
    if (this.#load[request.worker] === 0) this.#workers[request.worker]?.unref();
    for (const [i, pending] of request.items.entries()) {
      const result = reply.results[i]!;
      if ('error' in result) pending.reject(new Error(result.error));
      else {
        const from = result.data ?? reply.data;
        const data = Buffer.from(from.buffer, from.byteOffset + result.offset, result.length);
        pending.resolve({ parts: [data], length: data.length, compressed: result.compressed });
      }
    }
  }

  /** A thread that crashed fails what it held; a new one is started on the next request. */
  #onWorkerError(index: number, worker: Worker, err: Error): void {
    if (this.#workers[index] !== worker) return;
    this.#workers[index] = null;
    void worker.terminate();
    for (const [id, request] of this.#requests) {
      if (request.worker !== index) continue;
      this.#requests.delete(id);
      for (const p of request.items) p.reject(err);
    }
  }
}

let shared: EncoderPool | null = null;

/** The process-wide pool backups share (threads start on first use; idle threads do not hold the process open). */
export function sharedEncoderPool(): EncoderPool {
  shared ??= new EncoderPool();
  return shared;
}
