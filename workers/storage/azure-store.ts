// A blob store on an Azure Blob Storage container (block blobs). The container client is built by
// the caller (workers/outbound/clients.ts `azureContainer`: guarded connections, no redirects), so
// this file knows nothing about credentials or where the service is.
//
// Azure lists blobs in lexicographic order of their names, as the BlobStore contract asks, and a
// block blob upload is all-or-nothing: uncommitted blocks are never visible to readers.
import { Readable } from 'node:stream';
import type { ContainerClient } from '@azure/storage-blob';
import { assertValidKey, assertValidRange, enforceLength, type BlobInfo, type BlobStore } from './blob-store.ts';
import { InvalidRangeError, NotFoundError } from './errors.ts';

export interface AzureStoreConfig {
  container: ContainerClient;
  /** Name prefix inside the container ('' or ending in '/'; '/' is appended if missing). */
  prefix?: string;
  /** Largest body sent in one Put Blob; above it, staged blocks. Default 16 MiB. */
  singleUploadLimit?: number;
  /** Staged block size. Default 8 MiB. */
  blockSize?: number;
  /** Blocks uploaded in parallel. Default 4. */
  concurrency?: number;
}

const DEFAULT_SINGLE_UPLOAD = 16 * 1024 * 1024;
const DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024;
/** Deletes in flight at once (Azure has no multi-object delete outside its batch API). */
const DELETE_CONCURRENCY = 16;

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

/** A missing blob, not a missing container (a configuration error that must not read as "absent"). */
function isBlobNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown; details?: { errorCode?: unknown } }).code ?? (error as { details?: { errorCode?: unknown } }).details?.errorCode;
  return statusOf(error) === 404 && code !== 'ContainerNotFound';
}

async function readAll(body: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer | string>) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

export class AzureBlobStore implements BlobStore {
  readonly container: ContainerClient;
  readonly prefix: string;
  #singleUploadLimit: number;
  #blockSize: number;
  #concurrency: number;

  constructor(config: AzureStoreConfig) {
    this.container = config.container;
    const prefix = config.prefix ?? '';
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.#singleUploadLimit = config.singleUploadLimit ?? DEFAULT_SINGLE_UPLOAD;
    this.#blockSize = config.blockSize ?? DEFAULT_BLOCK_SIZE;
    this.#concurrency = config.concurrency ?? 4;
  }

  #blob(key: string) {
    assertValidKey(key);
    return this.container.getBlockBlobClient(this.prefix + key);
  }

  async put(key: string, body: Buffer | Readable, size?: number): Promise<void> {
    const blob = this.#blob(key);
    if (Buffer.isBuffer(body)) {
      if (size !== undefined && size !== body.length) throw new Error(`blob ${key}: body was ${body.length} bytes, expected ${size}`);
      if (body.length <= this.#singleUploadLimit) {
        await blob.upload(body, body.length);
        return;
      }
      await blob.uploadData(body, { blockSize: this.#blockSize, concurrency: this.#concurrency, maxSingleShotSize: this.#singleUploadLimit });
      return;
    }
    if (size !== undefined && size <= this.#singleUploadLimit) {
      // Small enough to hold: read it whole, so a short or long stream fails before anything is sent.
      const whole = await readAll(enforceLength(body, size, key));
      await blob.upload(whole, whole.length);
      return;
    }
    const source = size === undefined ? body : enforceLength(body, size, key);
    await blob.uploadStream(source, this.#blockSize, this.#concurrency);
  }

  async get(key: string): Promise<Buffer> {
    return readAll(await this.#download(key));
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    assertValidRange(offset, length);
    if (length === 0) {
      const info = await this.head(key);
      if (!info) throw new NotFoundError(key);
      if (offset > info.size) throw new InvalidRangeError(key, offset, length, info.size);
      return Buffer.alloc(0);
    }
    let body;
    try {
      body = await this.#download(key, offset, length);
    } catch (error) {
      if (statusOf(error) === 416 || (error as { code?: unknown }).code === 'InvalidRange') throw new InvalidRangeError(key, offset, length);
      throw error;
    }
    const bytes = await readAll(body);
    // Like S3, a range that runs past the end comes back short rather than failing.
    if (bytes.length !== length) throw new InvalidRangeError(key, offset, length);
    return bytes;
  }

  async getStream(key: string): Promise<Readable> {
    const body = await this.#download(key);
    return body instanceof Readable ? body : Readable.from(body as AsyncIterable<Buffer>);
  }

  async head(key: string): Promise<{ size: number } | null> {
    try {
      const props = await this.#blob(key).getProperties();
      return { size: props.contentLength ?? 0 };
    } catch (error) {
      if (isBlobNotFound(error)) return null;
      throw error;
    }
  }

  async delete(keys: string[]): Promise<void> {
    const blobs = keys.map((key) => this.#blob(key));
    let next = 0;
    const worker = async () => {
      while (next < blobs.length) {
        const blob = blobs[next++]!;
        try {
          await blob.delete();
        } catch (error) {
          if (!isBlobNotFound(error)) throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, blobs.length) }, worker));
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    for await (const item of this.container.listBlobsFlat({ prefix: this.prefix + prefix })) {
      yield { key: item.name.slice(this.prefix.length), size: item.properties.contentLength ?? 0 };
    }
  }

  async #download(key: string, offset?: number, count?: number): Promise<NodeJS.ReadableStream> {
    try {
      const out = await this.#blob(key).download(offset ?? 0, count);
      if (!out.readableStreamBody) throw new Error(`blob ${key}: response had no body`);
      return out.readableStreamBody;
    } catch (error) {
      if (isBlobNotFound(error)) throw new NotFoundError(key, { cause: error });
      throw error;
    }
  }
}
