// Restores a file's bytes from its block list. The list is checked against the file's Dropbox
// content_hash before any byte is produced (each block is then verified as it is decoded), so a
// restore either yields exactly the file that was backed up or fails with an IntegrityError.
import { Readable } from 'node:stream';
import type { BlockReader, BlockRef } from './block-reader.ts';
import { contentHashFromBlockHashes } from './content-hash.ts';
import { IntegrityError } from './errors.ts';

export interface FileReadOptions {
  /** The file's content_hash as recorded at backup (hex); checked against the block list. */
  expectedContentHash?: string;
  /** Stored bytes fetched per readMany batch (bounds memory). Default 16 MiB. */
  batchBytes?: number;
}

/** The file's blocks' plaintext, in order. */
export async function* readFileBlocks(reader: BlockReader, blocks: readonly BlockRef[], options: FileReadOptions = {}): AsyncGenerator<Buffer> {
  if (options.expectedContentHash !== undefined) {
    const actual = contentHashFromBlockHashes(blocks.map((b) => b.hash));
    if (actual !== options.expectedContentHash.toLowerCase()) {
      throw new IntegrityError('hash-mismatch', `block list gives content_hash ${actual}, expected ${options.expectedContentHash}`);
    }
  }
  const batchBytes = options.batchBytes ?? 16 * 1024 * 1024;
  let batch: BlockRef[] = [];
  let batchSize = 0;
  for (const block of blocks) {
    if (batch.length > 0 && batchSize + block.length > batchBytes) {
      yield* await reader.readMany(batch);
      batch = [];
      batchSize = 0;
    }
    batch.push(block);
    batchSize += block.length;
  }
  if (batch.length > 0) yield* await reader.readMany(batch);
}

/** The same as a Readable, e.g. to pipe into an HTTP response, a zip entry or an upload. */
export function createFileStream(reader: BlockReader, blocks: readonly BlockRef[], options: FileReadOptions = {}): Readable {
  return Readable.from(readFileBlocks(reader, blocks, options), { objectMode: false });
}
