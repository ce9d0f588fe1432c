// Reads blocks back: one ranged GET of the block's slice of its pack, decode, verify the hash.
// `readMany` coalesces neighbouring slices of one pack into a single GET, so restoring many small
// files costs about one request per pack rather than one per block. An optional LRU (by bytes)
// spares re-reads when a restore meets the same block in many files.
import type { BlobStore } from './blob-store.ts';
import { blockName, decodeBlock } from './block-codec.ts';
import type { AccountKeys } from './keys.ts';
import { decodePackFooter, openPackIndex, packKey, PACK_FOOTER_BYTES, type PackIndexEntry } from './pack-format.ts';
import { IntegrityError, NotFoundError } from './errors.ts';
import type { BlockLocation } from './pack-writer.ts';

export interface BlockRef extends BlockLocation {
  /** Binary SHA-256 of the plaintext. */
  hash: Buffer;
}

export interface BlockReaderOptions {
  store: BlobStore;
  keys: AccountKeys;
  /** Plaintext bytes to keep in the LRU; 0 (default) disables it. */
  cacheBytes?: number;
  /** readMany: unwanted bytes between two slices that are still fetched in one GET. Default 1 MiB. */
  coalesceGapBytes?: number;
  /** readMany: largest single GET when coalescing. Default 16 MiB. */
  coalesceMaxBytes?: number;
}

interface Span {
  packId: string;
  start: number;
  end: number;
  members: number[];
}

export class BlockReader {
  #store: BlobStore;
  #keys: AccountKeys;
  #cacheLimit: number;
  #cacheUsed = 0;
  /** Map iteration order is insertion order, so re-inserting on a hit makes the first key the LRU. */
  #cache = new Map<string, Buffer>();
  #gap: number;
  #maxSpan: number;

  constructor(options: BlockReaderOptions) {
    this.#store = options.store;
    this.#keys = options.keys;
    this.#cacheLimit = options.cacheBytes ?? 0;
    this.#gap = options.coalesceGapBytes ?? 1024 * 1024;
    this.#maxSpan = options.coalesceMaxBytes ?? 16 * 1024 * 1024;
  }

  /**
   * Many blocks at once, returned in the order asked. Slices of one pack that lie close together
   * are fetched with one ranged GET; every block is still decoded and verified on its own.
   */
  async readMany(refs: readonly BlockRef[]): Promise<Buffer[]> {
    const out: Buffer[] = new Array(refs.length);
    const wanted: number[] = [];
    for (const [i, ref] of refs.entries()) {
      const hit = this.#cache.get(ref.hash.toString('hex'));
      if (hit) out[i] = hit;
      else wanted.push(i);
    }
    wanted.sort((a, b) => (refs[a]!.packId < refs[b]!.packId ? -1 : refs[a]!.packId > refs[b]!.packId ? 1 : refs[a]!.offset - refs[b]!.offset));
    const spans: Span[] = [];
    for (const i of wanted) {
      const ref = refs[i]!;
      const last = spans.at(-1);
      const end = ref.offset + ref.length;
      if (last && last.packId === ref.packId && ref.offset <= last.end + this.#gap && Math.max(end, last.end) - last.start <= this.#maxSpan) {
        last.end = Math.max(last.end, end);
        last.members.push(i);
      } else {
        spans.push({ packId: ref.packId, start: ref.offset, end, members: [i] });
      }
    }
    for (const span of spans) {
      const bytes = await this.#store.getRange(packKey(span.packId), span.start, span.end - span.start);
      for (const i of span.members) {
        const ref = refs[i]!;
        const slice = bytes.subarray(ref.offset - span.start, ref.offset - span.start + ref.length);
        const plaintext = decodeBlock(this.#keys.encryptionKey, slice, ref.hash);
        this.#remember(ref.hash.toString('hex'), plaintext);
        out[i] = plaintext;
      }
    }
    return out;
  }

  /** The block's plaintext; `IntegrityError` if the stored bytes are not that block. */
  async read(ref: BlockRef): Promise<Buffer> {
    const hex = ref.hash.toString('hex');
    const hit = this.#cache.get(hex);
    if (hit) {
      this.#cache.delete(hex);
      this.#cache.set(hex, hit);
      return hit;
    }
    const stored = await this.#store.getRange(packKey(ref.packId), ref.offset, ref.length);
    const plaintext = decodeBlock(this.#keys.encryptionKey, stored, ref.hash);
    this.#remember(hex, plaintext);
    return plaintext;
  }

  #remember(hex: string, plaintext: Buffer): void {
    if (plaintext.length > this.#cacheLimit || this.#cache.has(hex)) return;
    this.#cache.set(hex, plaintext);
    this.#cacheUsed += plaintext.length;
    for (const [key, value] of this.#cache) {
      if (this.#cacheUsed <= this.#cacheLimit) break;
      this.#cache.delete(key);
      this.#cacheUsed -= value.length;
    }
  }
}

/**
 * Disaster recovery: the block list of a pack from the pack alone (footer, then the sealed index).
 * Checks that each entry's name is the HMAC of its hash under this account's naming key.
 */
export async function readPackIndex(store: BlobStore, keys: AccountKeys, packId: string): Promise<PackIndexEntry[]> {
  const key = packKey(packId);
  const info = await store.head(key);
  if (!info) throw new NotFoundError(key);
  if (info.size < PACK_FOOTER_BYTES) throw new IntegrityError('format', `pack ${packId}: too short`);
  const footer = decodePackFooter(packId, await store.getRange(key, info.size - PACK_FOOTER_BYTES, PACK_FOOTER_BYTES));
  const indexOffset = info.size - PACK_FOOTER_BYTES - footer.indexLength;
  if (indexOffset < 0) throw new IntegrityError('format', `pack ${packId}: index longer than the pack`);
  const entries = openPackIndex(keys.encryptionKey, packId, await store.getRange(key, indexOffset, footer.indexLength));
  if (entries.length !== footer.blockCount) throw new IntegrityError('format', `pack ${packId}: footer and index disagree on the block count`);
  for (const entry of entries) {
    if (entry.offset + entry.length > indexOffset) throw new IntegrityError('format', `pack ${packId}: entry past the data section`);
    if (entry.name !== blockName(keys.namingKey, entry.hash)) throw new IntegrityError('format', `pack ${packId}: entry name is not the HMAC of its hash`);
  }
  return entries;
}
