// Public API of the storage layer: Dropbox content hashing, block splitting, envelope encryption,
// the block codec, blob stores (filesystem, S3), packs, and reading blocks back.
// It knows nothing about HTTP or the database: callers record what `onPackWritten` reports.
export { NotFoundError, IntegrityError, InvalidRangeError, type IntegrityFailure } from './errors.ts';
export { DROPBOX_BLOCK_SIZE, blockHashes, createContentHasher, contentHashOf, contentHashFromBlockHashes, type ContentHasher } from './content-hash.ts';
export { BlockSplitter, splitAll, type Block, type ByteSource } from './block-splitter.ts';
export {
  MasterKeyring,
  loadMasterKey,
  parseMasterKey,
  deriveAccountKeys,
  MASTER_KEY_ENV,
  MASTER_KEY_FILE,
  type AccountKeys,
  type GeneratedDataKey,
  type LoadedMasterKey,
  type MasterKeyVersion,
} from './keys.ts';
export { encodeBlock, decodeBlock, blockName, sha256, BLOCK_FORMAT_VERSION, BLOCK_FLAG_ZSTD, BLOCK_OVERHEAD, type EncodedBlock } from './block-codec.ts';
export { assertValidKey, type BlobStore, type BlobInfo } from './blob-store.ts';
export { FsBlobStore } from './fs-store.ts';
export { S3BlobStore, createS3Client, type S3StoreConfig } from './s3-store.ts';
export { createBlobStore, type BlobStoreConfig } from './create-store.ts';
export { packKey, newPackId, type PackIndexEntry } from './pack-format.ts';
export {
  PackWriter,
  DEFAULT_TARGET_PACK_SIZE,
  type BlockLocation,
  type StoredBlock,
  type WrittenPack,
  type PackWriterOptions,
} from './pack-writer.ts';
export { BlockReader, readPackIndex, type BlockRef, type BlockReaderOptions } from './block-reader.ts';
export { readFileBlocks, createFileStream, type FileReadOptions } from './file-reader.ts';
