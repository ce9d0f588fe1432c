// Cuts a byte stream into Dropbox's fixed 4 MiB blocks, hashing each as it arrives, and derives the
// file's content_hash from the block hashes, so one SHA-256 pass serves dedup and verification.
// Memory: the pieces of one block (plus the chunk straddling its end) are held at a time; each block
// is assembled with a single copy, and a chunk that is exactly one block is passed through uncopied.
// Blocks may share memory with the source's chunks, so a source must not reuse its chunk buffers
// (Node streams and fetch bodies never do).
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { DROPBOX_BLOCK_SIZE } from './content-hash.ts';

export interface Block {
  /** 0-based position of the block in the file. */
  index: number;
  /** Absolute byte offset of the block in the file. */
  offset: number;
  data: Buffer;
  /** Binary SHA-256 of `data` (32 bytes): the block's identity and its content_hash input. */
  sha256: Buffer;
}

export type ByteSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array> | Readable;

/**
 * Iterate it with `for await`; after the loop ends, `contentHash`, `size` and `blockHashes` hold
 * the file's totals. The consumer owns each yielded block; the splitter keeps no reference to it.
 */
export class BlockSplitter implements AsyncIterable<Block> {
  readonly blockSize: number;
  #source: ByteSource;
  #contentHash: string | null = null;
  #size = 0;
  #blockHashes: Buffer[] = [];
  #started = false;

  constructor(source: ByteSource, options: { blockSize?: number } = {}) {
    this.#source = source;
    this.blockSize = options.blockSize ?? DROPBOX_BLOCK_SIZE;
    if (!Number.isInteger(this.blockSize) || this.blockSize <= 0) throw new RangeError('blockSize must be a positive integer');
  }

  /** Dropbox content_hash (hex); available once iteration has finished. */
  get contentHash(): string {
    if (this.#contentHash === null) throw new Error('content hash is available after the last block');
    return this.#contentHash;
  }

  /** Total bytes read; final once iteration has finished. */
  get size(): number {
    return this.#size;
  }

  /** Binary SHA-256 of every block, in order (32 bytes each, so 8 KiB per GiB of file). */
  get blockHashes(): readonly Buffer[] {
    return this.#blockHashes;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Block> {
    if (this.#started) throw new Error('a BlockSplitter can be iterated once');
    this.#started = true;
    const blockSize = this.blockSize;
    const overall = createHash('sha256');
    let pieces: Buffer[] = [];
    let fill = 0;
    let hash: Hash = createHash('sha256');
    let index = 0;

    const emit = (): Block => {
      const data = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, fill);
      const sha256 = hash.digest();
      overall.update(sha256);
      this.#blockHashes.push(sha256);
      const block: Block = { index, offset: index * blockSize, data, sha256 };
      index++;
      pieces = [];
      fill = 0;
      hash = createHash('sha256');
      return block;
    };

    for await (const raw of this.#source as AsyncIterable<Uint8Array | string>) {
      let chunk = typeof raw === 'string' ? Buffer.from(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      this.#size += chunk.length;
      while (chunk.length > 0) {
        const take = Math.min(blockSize - fill, chunk.length);
        const piece = take === chunk.length ? chunk : chunk.subarray(0, take);
        pieces.push(piece);
        hash.update(piece);
        fill += take;
        chunk = chunk.subarray(take);
        if (fill === blockSize) yield emit();
      }
    }
    if (fill > 0) yield emit();
    this.#contentHash = overall.digest('hex');
  }
}

/** Convenience: split a source and collect everything (tests, small files). */
export async function splitAll(source: ByteSource, options?: { blockSize?: number }): Promise<{ blocks: Block[]; contentHash: string; size: number }> {
  const splitter = new BlockSplitter(source, options);
  const blocks: Block[] = [];
  for await (const block of splitter) blocks.push(block);
  return { blocks, contentHash: splitter.contentHash, size: splitter.size };
}
