// Builds a blob store from configuration (embedded default: filesystem; production: S3).
import type { BlobStore } from './blob-store.ts';
import { FsBlobStore } from './fs-store.ts';
import { S3BlobStore, type S3StoreConfig } from './s3-store.ts';

export type BlobStoreConfig = { kind: 'fs'; root: string } | ({ kind: 's3' } & S3StoreConfig);

export function createBlobStore(config: BlobStoreConfig): BlobStore {
  switch (config.kind) {
    case 'fs':
      return new FsBlobStore(config.root);
    case 's3': {
      const { kind: _kind, ...s3 } = config;
      return new S3BlobStore(s3);
    }
    default:
      throw new Error(`unknown blob store kind: ${(config as { kind: unknown }).kind}`);
  }
}
