// Where a backup's blocks go between the splitter and the pack writer. Each block must be stored
// once per account, so each is asked of the database ("does the account store it already?"). Asked
// one file at a time, that is a round trip per file: for 20,000 small files it was most of a first
// backup's wall time. Here blocks queue up and are asked about in batches (hundreds of blocks or
// tens of MiB at a time); the ones the account lacks go on to the pack writer.
//
// A block handed to `add` is durable only after `flush()` and then the writer's `flush()`: callers
// record a file's content (its block list) only after both.
import type { PackWriter } from '../storage/index.ts';

export interface BlockIngestOptions {
  writer: PackWriter;
  /** Which of these hex SHA-256 hashes the account already stores. */
  lookup: (hexHashes: string[]) => Promise<Set<string>>;
  /** Blocks per lookup (default 512). */
  batchBlocks?: number;
  /** Plaintext bytes held before a lookup is forced (default 32 MiB): bounds memory for big blocks. */
  batchBytes?: number;
  /** How many hashes known to be stored are remembered (default 200,000; about 100 bytes each). */
  rememberKnown?: number;
  /**
   * Batches looked up or being encoded while more blocks queue (default 2): the caller goes on
   * reading and hashing the next files while the encoder threads work on the last batch.
   */
  maxBatchesInFlight?: number;
}

export class BlockIngest {
  readonly #writer: PackWriter;
  readonly #lookup: BlockIngestOptions['lookup'];
  readonly #batchBlocks: number;
  readonly #batchBytes: number;
  readonly #rememberKnown: number;
  /** Hex hashes the account is known to store: a cache, so it is cleared when it grows too big. */
  #known = new Set<string>();
  #queue = new Map<string, Buffer>();
  #queuedBytes = 0;
  /** Batches are processed one after another; this is the tail of that chain. */
  #tail: Promise<void> = Promise.resolve();
  /** Batches started and not finished, oldest first. */
  #unfinished: Promise<void>[] = [];
  readonly #maxInFlight: number;
  #failure: unknown = null;
  lookups = 0;

  constructor(options: BlockIngestOptions) {
    this.#writer = options.writer;
    this.#lookup = options.lookup;
    this.#batchBlocks = options.batchBlocks ?? 512;
    this.#batchBytes = options.batchBytes ?? 32 * 1024 * 1024;
    this.#rememberKnown = options.rememberKnown ?? 200_000;
    this.#maxInFlight = options.maxBatchesInFlight ?? 2;
  }

  /**
   * Queue a block (its SHA-256 and plaintext). Resolves at once unless this block filled a batch
   * while `maxBatchesInFlight` batches were still being processed; then it waits for the oldest
   * (backpressure). A failure of an earlier batch rejects the next add or flush.
   */
  async add(hash: Buffer, data: Buffer): Promise<void> {
    this.#throwIfFailed();
    const hex = hash.toString('hex');
    if (this.#known.has(hex) || this.#queue.has(hex) || this.#writer.has(hash)) return;
    this.#queue.set(hex, data);
    this.#queuedBytes += data.length;
    if (this.#queue.size >= this.#batchBlocks || this.#queuedBytes >= this.#batchBytes) {
      this.#startBatch().catch(() => {}); // recorded in #failure: the next add or flush throws it
      while (this.#unfinished.length > this.#maxInFlight) await this.#unfinished[0];
      this.#throwIfFailed();
    }
  }

  /** Look up what is queued and hand the missing blocks to the writer (does not flush the writer). */
  async flush(): Promise<void> {
    if (this.#queue.size > 0) await this.#startBatch();
    else await this.#tail;
    this.#throwIfFailed();
  }

  /** A block the database now records (its pack was written). */
  markStored(hex: string): void {
    if (this.#known.size >= this.#rememberKnown) this.#known.clear();
    this.#known.add(hex);
  }

  #startBatch(): Promise<void> {
    const batch = this.#queue;
    this.#queue = new Map();
    this.#queuedBytes = 0;
    const done = this.#tail.then(() => this.#process(batch)).catch((err: unknown) => {
      this.#failure ??= err;
    });
    this.#tail = done;
    this.#unfinished.push(done);
    void done.then(() => {
      this.#unfinished.splice(this.#unfinished.indexOf(done), 1);
    });
    return done.then(() => this.#throwIfFailed());
  }

  async #process(batch: Map<string, Buffer>): Promise<void> {
    if (this.#failure !== null) return;
    this.lookups++;
    const stored = await this.#lookup([...batch.keys()]);
    const adds: Promise<unknown>[] = [];
    for (const [hex, data] of batch) {
      if (stored.has(hex)) this.markStored(hex);
      // All at once, so an encoder pool gets the whole batch; the writer applies its own backpressure.
      else adds.push(this.#writer.add(Buffer.from(hex, 'hex'), data));
    }
    const settled = await Promise.allSettled(adds);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  #throwIfFailed(): void {
    if (this.#failure !== null) throw this.#failure;
  }
}
