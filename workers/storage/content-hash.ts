// Dropbox's content_hash (docs/dropbox.md §4): SHA-256 over the binary SHA-256s of 4 MiB blocks.
// Block boundaries are absolute offsets, so the result never depends on how the bytes were chunked.
import { createHash, type Hash } from 'node:crypto';

export const DROPBOX_BLOCK_SIZE = 4 * 1024 * 1024;

export interface ContentHasher {
  update(chunk: Uint8Array): ContentHasher;
  /** Lowercase hex; the hasher cannot be used afterwards. */
  digest(): string;
}

export function createContentHasher(): ContentHasher {
  const overall = createHash('sha256');
  let block: Hash | null = null;
  let blockFill = 0;
  let done = false;

  const hasher: ContentHasher = {
    update(chunk) {
      if (done) throw new Error('content hasher already digested');
      let pos = 0;
      while (pos < chunk.length) {
        block ??= createHash('sha256');
        const take = Math.min(DROPBOX_BLOCK_SIZE - blockFill, chunk.length - pos);
        block.update(pos === 0 && take === chunk.length ? chunk : chunk.subarray(pos, pos + take));
        blockFill += take;
        pos += take;
        if (blockFill === DROPBOX_BLOCK_SIZE) {
          overall.update(block.digest());
          block = null;
          blockFill = 0;
        }
      }
      return hasher;
    },
    digest() {
      if (done) throw new Error('content hasher already digested');
      done = true;
      // An empty file has no blocks: the result is SHA-256 of nothing.
      if (block) overall.update(block.digest());
      return overall.digest('hex');
    },
  };
  return hasher;
}

/** content_hash of a whole in-memory file. */
export function contentHashOf(data: Uint8Array): string {
  return createContentHasher().update(data).digest();
}

/** content_hash from already computed binary block SHA-256s (what the block splitter produces). */
export function contentHashFromBlockHashes(blockHashes: Iterable<Uint8Array>): string {
  const overall = createHash('sha256');
  for (const h of blockHashes) overall.update(h);
  return overall.digest('hex');
}

/** A stored block list (32-byte SHA-256 hashes back to back, as in item_versions.blocks) as hashes. */
export function blockHashes(blocks: Buffer | null): Buffer[] {
  const out: Buffer[] = [];
  if (!blocks) return out;
  for (let i = 0; i < blocks.length; i += 32) out.push(blocks.subarray(i, i + 32));
  return out;
}
