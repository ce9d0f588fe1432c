// Groups encoded blocks into pack objects of about 16 MiB (as restic and kopia do), so many small
// files cost a few PUTs instead of one each. Each pack is written whole in one put, so a crash never
// leaves half a pack; only after the put succeeds does `onPackWritten` report the blocks it holds,
// which is when the caller may record them in its database.
import type { BlobStore } from './blob-store.ts';
import { blockName, encodeBlockParts, type EncodedBlockParts } from './block-codec.ts';
import type { EncoderPool } from './encoder-pool.ts';
import type { AccountKeys } from './keys.ts';
import {
  encodePackFooter,
  newPackId,
  packIndexSize,
  packKey,
  PACK_FOOTER_BYTES,
  sealPackIndex,
  type PackIndexEntry,
} from './pack-format.ts';

/** About 16 MiB: room for four whole 4 MiB blocks with their envelopes and the pack index. */
export const DEFAULT_TARGET_PACK_SIZE = 16 * 1024 * 1024 + 64 * 1024;
/** Offsets in the pack index are u32. */
const MAX_PACK_SIZE = 2 ** 32 - 1;

/** Where a block's stored bytes live. */
export interface BlockLocation {
  packId: string;
  offset: number;
  length: number;
}

/** One row for the caller's `blocks` table. */
export interface StoredBlock extends BlockLocation {
  /** Binary SHA-256 of the plaintext. */
  hash: Buffer;
  /** Hex HMAC object name (blockName); what the provider could see if blocks were single objects. */
  name: string;
  plainSize: number;
  /** Bytes in the pack (= length). */
  storedSize: number;
  compressed: boolean;
}

export interface WrittenPack {
  packId: string;
  /** Object key in the blob store. */
  key: string;
  /** Whole pack size, index and footer included. */
  size: number;
  /** Every block in the pack, in pack order. */
  blocks: StoredBlock[];
}

export interface PackWriterOptions {
  store: BlobStore;
  keys: AccountKeys;
  /** Pack size to aim for, index and footer included; a single larger block gets a pack of its own. */
  targetPackSize?: number;
  /** Called once per pack after its put succeeded; a throw here fails the writer like a failed put. */
  onPackWritten?: (pack: WrittenPack) => void | Promise<void>;
  /**
   * How many already written blocks the session remembers for dedup (pending ones always are).
   * Bounds memory on huge runs (about 300 bytes each); beyond it the caller's database check,
   * which covers everything written, takes over. Default 100,000.
   */
  rememberWritten?: number;
  /**
   * Packs being written at once (default 3): a single stream of PUTs leaves a disk or an S3
   * connection idle between them. Memory: one pack being filled plus this many being written.
   */
  maxConcurrentWrites?: number;
  /** Encode on these worker threads instead of inline. A block handed to `add` must not be read afterwards. */
  encoder?: EncoderPool;
}

interface OpenPack {
  packId: string;
  pieces: Buffer[];
  blocks: StoredBlock[];
  dataSize: number;
  /** Settles when the pack was written and reported (rejects when its write failed). */
  written: PromiseWithResolvers<void>;
}

function openPack(): OpenPack {
  const written = Promise.withResolvers<void>();
  written.promise.catch(() => {}); // observed by whoever awaits `written()`; never unhandled
  return { packId: newPackId(), pieces: [], blocks: [], dataSize: 0, written };
}

/**
 * Not safe to reuse after a failure: once a put (or `onPackWritten`) fails, every later call
 * rejects with that error, and blocks of the failed pack must be treated as not stored. Backup jobs
 * resume from their checkpoint, which re-adds those blocks in a new writer.
 */
export class PackWriter {
  readonly targetPackSize: number;
  #store: BlobStore;
  #keys: AccountKeys;
  #onPackWritten: PackWriterOptions['onPackWritten'];
  #open: OpenPack | null = null;
  /** Blocks added but not yet reported written, by hex hash, so a repeat is stored once. */
  #pending = new Map<string, StoredBlock>();
  /** Blocks being encoded on the pool, so a repeat waits for the same block instead of encoding it twice. */
  #encoding = new Map<string, Promise<StoredBlock>>();
  #encoder: EncoderPool | undefined;
  /** Recently written blocks, oldest first (Map insertion order), capped at #rememberWritten. */
  #written = new Map<string, StoredBlock>();
  #rememberWritten: number;
  /** Pack writes in flight (each settles without rejecting; failures land in #failure). */
  #writes = new Set<Promise<void>>();
  #maxWrites: number;
  #failure: unknown = null;
  #packsWritten = 0;
  /** Sealed packs whose write has not settled yet. */
  #sealed = new Set<OpenPack>();

  constructor(options: PackWriterOptions) {
    this.#store = options.store;
    this.#keys = options.keys;
    this.#onPackWritten = options.onPackWritten;
    this.targetPackSize = options.targetPackSize ?? DEFAULT_TARGET_PACK_SIZE;
    this.#rememberWritten = options.rememberWritten ?? 100_000;
    this.#maxWrites = options.maxConcurrentWrites ?? 3;
    this.#encoder = options.encoder;
    if (!Number.isInteger(this.#maxWrites) || this.#maxWrites < 1) throw new RangeError('maxConcurrentWrites must be a positive integer');
    if (!Number.isInteger(this.targetPackSize) || this.targetPackSize < 1 || this.targetPackSize > MAX_PACK_SIZE) {
      throw new RangeError('targetPackSize must be between 1 byte and 4 GiB');
    }
  }

  /** Blocks added but not yet in a pack that was written. */
  get pendingBlocks(): number {
    return this.#open?.blocks.length ?? 0;
  }

  /** Whether this session already holds the block (written or pending), so `add` would dedup it. */
  has(hash: Buffer): boolean {
    const hex = hash.toString('hex');
    return this.#pending.has(hex) || this.#written.has(hex) || this.#encoding.has(hex);
  }

  get packsWritten(): number {
    return this.#packsWritten;
  }

  /**
   * Encode a block and place it in the open pack; resolves with its future location. The location
   * is durable only once the pack holding it has been reported by `onPackWritten` / `flush`. When
   * the open pack is full it is sealed and its write started; this waits while more than
   * `maxConcurrentWrites` packs are being written (backpressure), and rejects if a write failed.
   */
  async add(hash: Buffer, plaintext: Buffer, options: { compress?: boolean } = {}): Promise<StoredBlock> {
    this.#throwIfFailed();
    const hex = hash.toString('hex');
    const existing = this.#pending.get(hex) ?? this.#written.get(hex) ?? this.#encoding.get(hex);
    if (existing) return existing;
    const plainSize = plaintext.length;
    if (!this.#encoder) return this.#place(hash, hex, plainSize, encodeBlockParts(this.#keys.encryptionKey, plaintext, hash, options));
    const placed = this.#encoder.encode(this.#keys.encryptionKey, plaintext, hash, options).then((encoded) => {
      this.#encoding.delete(hex);
      return this.#place(hash, hex, plainSize, encoded);
    }, (err: unknown) => {
      this.#encoding.delete(hex);
      throw err;
    });
    this.#encoding.set(hex, placed);
    return placed;
  }

  /** Put an encoded block into the open pack (sealing it first when the block would not fit). */
  async #place(hash: Buffer, hex: string, plainSize: number, encoded: EncodedBlockParts): Promise<StoredBlock> {
    this.#throwIfFailed();
    if (encoded.length + packIndexSize(1) + PACK_FOOTER_BYTES > MAX_PACK_SIZE) throw new RangeError('block too large for a pack');
    let sealed = false;
    const open = this.#open;
    if (open && open.blocks.length > 0 && this.#projectedSize(open, encoded.length) > this.targetPackSize) {
      this.#seal();
      sealed = true;
    }
    const pack = (this.#open ??= openPack());
    const stored: StoredBlock = {
      packId: pack.packId,
      offset: pack.dataSize,
      length: encoded.length,
      hash: ownCopy(hash),
      name: blockName(this.#keys.namingKey, hash),
      plainSize,
      storedSize: encoded.length,
      compressed: encoded.compressed,
    };
    pack.pieces.push(...encoded.parts);
    pack.blocks.push(stored);
    pack.dataSize += encoded.length;
    this.#pending.set(hex, stored);
    if (sealed) {
      while (this.#writes.size >= this.#maxWrites) await Promise.race(this.#writes);
      this.#throwIfFailed();
    }
    return stored;
  }

  /**
   * Write the open pack (if any) and wait for every pack write in flight. Resolves with the pack
   * this call sealed, or null when nothing was open.
   */
  async flush(): Promise<WrittenPack | null> {
    // Blocks still on the encoder threads belong in this flush.
    while (this.#encoding.size > 0) await Promise.allSettled([...this.#encoding.values()]);
    this.#throwIfFailed();
    let written: WrittenPack | null = null;
    if (this.#open && this.#open.blocks.length > 0) {
      const open = this.#open;
      this.#seal();
      written = { packId: open.packId, key: packKey(open.packId), size: this.#packSize(open), blocks: open.blocks };
    }
    while (this.#writes.size > 0) await Promise.all(this.#writes);
    this.#throwIfFailed();
    return written;
  }

  /**
   * Resolves once every block placed so far (every `add` that resolved) is in a pack that was
   * written and reported, without sealing the open pack early: it is written when later blocks
   * fill it, or at `flush()`. Lets a caller learn when earlier blocks became durable while it goes
   * on adding. Rejects if one of those packs failed.
   */
  async written(): Promise<void> {
    this.#throwIfFailed();
    const waits = [...this.#sealed].map((p) => p.written.promise);
    if (this.#open && this.#open.blocks.length > 0) waits.push(this.#open.written.promise);
    await Promise.all(waits);
  }

  #projectedSize(pack: OpenPack, extra: number): number {
    return pack.dataSize + extra + packIndexSize(pack.blocks.length + 1) + PACK_FOOTER_BYTES;
  }

  #packSize(pack: OpenPack): number {
    return pack.dataSize + packIndexSize(pack.blocks.length) + PACK_FOOTER_BYTES;
  }

  /** Detach the open pack and start its write (tracked in #writes until it settles). */
  #seal(): void {
    const pack = this.#open!;
    this.#open = null;
    this.#sealed.add(pack);
    const write: Promise<void> = this.#write(pack).then(
      () => {
        this.#writes.delete(write);
        this.#sealed.delete(pack);
        pack.written.resolve();
      },
      (error: unknown) => {
        this.#writes.delete(write);
        this.#sealed.delete(pack);
        pack.written.reject(error);
      },
    );
    this.#writes.add(write);
  }

  async #write(pack: OpenPack): Promise<void> {
    try {
      this.#throwIfFailed();
      const entries: PackIndexEntry[] = pack.blocks.map((b) => ({ hash: b.hash, name: b.name, offset: b.offset, length: b.length, plainSize: b.plainSize }));
      const index = sealPackIndex(this.#keys.encryptionKey, pack.packId, entries);
      const body = Buffer.concat([...pack.pieces, index, encodePackFooter(index.length, entries.length)]);
      pack.pieces = [];
      const key = packKey(pack.packId);
      await this.#store.put(key, body, body.length);
      this.#packsWritten++;
      await this.#onPackWritten?.({ packId: pack.packId, key, size: body.length, blocks: pack.blocks });
    } catch (error) {
      this.#failure ??= error;
      // The open pack will never be sealed now: whoever waits for it learns of the failure.
      this.#open?.written.reject(this.#failure);
      // Nothing of this pack is stored (or recorded): let nobody think these blocks exist.
      for (const block of pack.blocks) this.#pending.delete(block.hash.toString('hex'));
      throw error;
    }
    for (const block of pack.blocks) {
      const hex = block.hash.toString('hex');
      this.#pending.delete(hex);
      this.#written.set(hex, block);
    }
    for (const hex of this.#written.keys()) {
      if (this.#written.size <= this.#rememberWritten) break;
      this.#written.delete(hex);
    }
  }

  #throwIfFailed(): void {
    if (this.#failure !== null) throw this.#failure;
  }
}

/**
 * A copy with its own 32-byte memory. Buffer.from would slice Node's shared pool (64 KiB chunks on
 * Node 24), and one remembered hash would keep a whole chunk alive.
 */
function ownCopy(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}
