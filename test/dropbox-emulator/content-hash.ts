// Dropbox content_hash (docs/dropbox.md §4): SHA-256 over the concatenated binary SHA-256 digests of 4 MiB blocks.
import { createHash, type Hash } from 'node:crypto';

export const CONTENT_HASH_BLOCK_SIZE = 4 * 1024 * 1024;

/** Streaming hasher; block boundaries follow absolute offsets, not the caller's chunking. */
export class ContentHasher {
  private overall: Hash = createHash('sha256');
  private block: Hash = createHash('sha256');
  private blockFill = 0;

  update(chunk: Buffer): this {
    let pos = 0;
    while (pos < chunk.length) {
      const take = Math.min(CONTENT_HASH_BLOCK_SIZE - this.blockFill, chunk.length - pos);
      this.block.update(chunk.subarray(pos, pos + take));
      this.blockFill += take;
      pos += take;
      if (this.blockFill === CONTENT_HASH_BLOCK_SIZE) this.flushBlock();
    }
    return this;
  }

  digest(): string {
    // An empty file has no blocks at all, so only a partial non-empty block is flushed.
    if (this.blockFill > 0) this.flushBlock();
    return this.overall.digest('hex');
  }

  private flushBlock(): void {
    this.overall.update(this.block.digest());
    this.block = createHash('sha256');
    this.blockFill = 0;
  }
}

export function dropboxContentHash(data: Buffer): string {
  return new ContentHasher().update(data).digest();
}
