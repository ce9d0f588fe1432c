// Blob store on any S3-compatible service (AWS, MinIO, a customer's own bucket, s3rver in tests).
// Bodies up to 16 MiB of known length go out as one PutObject (a stream is read into memory first);
// larger or unknown-length bodies use lib-storage's multipart Upload, which only makes the object
// visible on completion and aborts on failure, so a failed put never leaves a partial object.
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { assertValidKey, assertValidRange, enforceLength, type BlobInfo, type BlobStore } from './blob-store.ts';
import { InvalidRangeError, NotFoundError } from './errors.ts';

export interface S3StoreConfig {
  /** Custom endpoint for S3-compatible services; omit for AWS. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Key prefix inside the bucket (e.g. per region or tenant group); '/' is appended if missing. */
  prefix?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Path-style URLs; needed for most non-AWS services and for 'localhost' endpoints. Default true when an endpoint is set. */
  forcePathStyle?: boolean;
  /** Largest body sent as a single PutObject; above it, multipart. Default 16 MiB. */
  multipartThreshold?: number;
  /** Multipart part size. Default 8 MiB (S3's minimum is 5 MiB). */
  partSize?: number;
  /** Parts uploaded in parallel; memory is about partSize × queueSize. Default 4. */
  queueSize?: number;
  /**
   * Whether the service has S3's multi-object delete (`POST ?delete`). Google Cloud Storage's XML API
   * does not (it answers NotImplemented), so there each key is deleted on its own. Default true.
   */
  multiObjectDelete?: boolean;
  /**
   * How to connect (a storage location a customer chose: connections through a guarded DNS lookup,
   * each request's host checked by `prepare`). Omitted: the SDK's defaults.
   */
  connection?: { options: Pick<S3ClientConfig, 'requestHandler'>; prepare: (client: S3Client) => S3Client };
}

export const S3_DELETE_BATCH = 1000;
const DEFAULT_MULTIPART_THRESHOLD = 16 * 1024 * 1024;
const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

export function createS3Client(config: S3StoreConfig): S3Client {
  const client = new S3Client({
    ...config.connection?.options,
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    forcePathStyle: config.forcePathStyle ?? config.endpoint !== undefined,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    // Without these, stream bodies go out aws-chunked, which some S3-compatible servers store
    // verbatim (silent corruption; docs/stack.md §5).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return config.connection ? config.connection.prepare(client) : client;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isNotFound(error: unknown): boolean {
  // Not any 404: NoSuchBucket is a 404 too, and a missing bucket is a configuration error.
  // HEAD responses have no body, so their 404 arrives as the generic 'NotFound'.
  const name = (error as Error).name;
  return name === 'NoSuchKey' || name === 'NotFound';
}

/** Reads a stream of declared length into one buffer; fails on any other length. */
async function readExactly(body: Readable, expected: number, key: string): Promise<Buffer> {
  const out = Buffer.allocUnsafe(expected);
  let filled = 0;
  for await (const raw of body as AsyncIterable<Buffer | string>) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    if (filled + chunk.length > expected) {
      body.destroy();
      throw new Error(`blob ${key}: body longer than the declared ${expected} bytes`);
    }
    chunk.copy(out, filled);
    filled += chunk.length;
  }
  if (filled !== expected) throw new Error(`blob ${key}: body was ${filled} bytes, expected ${expected}`);
  return out;
}

export class S3BlobStore implements BlobStore {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  #multipartThreshold: number;
  #partSize: number;
  #queueSize: number;
  #multiObjectDelete: boolean;

  constructor(config: S3StoreConfig, client: S3Client = createS3Client(config)) {
    this.client = client;
    this.bucket = config.bucket;
    const prefix = config.prefix ?? '';
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.#multipartThreshold = config.multipartThreshold ?? DEFAULT_MULTIPART_THRESHOLD;
    this.#partSize = config.partSize ?? DEFAULT_PART_SIZE;
    this.#queueSize = config.queueSize ?? 4;
    this.#multiObjectDelete = config.multiObjectDelete ?? true;
  }

  #key(key: string): string {
    assertValidKey(key);
    return this.prefix + key;
  }

  async put(key: string, body: Buffer | Readable, size?: number): Promise<void> {
    const Key = this.#key(key);
    if (Buffer.isBuffer(body) && size !== undefined && size !== body.length) {
      throw new Error(`blob ${key}: body was ${body.length} bytes, expected ${size}`);
    }
    const length = Buffer.isBuffer(body) ? body.length : size;
    if (length !== undefined && length <= this.#multipartThreshold) {
      // A known-length stream this small is read into memory first: the SDK can only retry a
      // replayable body (throttling is routine on S3), and a short or long stream is caught before
      // anything is sent, even by servers that do not check Content-Length.
      const Body = Buffer.isBuffer(body) ? body : await readExactly(body, length, key);
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body, ContentLength: length }));
      return;
    }
    // lib-storage reads the body itself, so a source error or length mismatch aborts the upload.
    const Body = Buffer.isBuffer(body) || size === undefined ? body : enforceLength(body, size, key);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key, Body },
      partSize: this.#partSize,
      queueSize: this.#queueSize,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  async get(key: string): Promise<Buffer> {
    const body = await this.#getBody(key);
    const bytes = await body.transformToByteArray();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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
      body = await this.#getBody(key, `bytes=${offset}-${offset + length - 1}`);
    } catch (error) {
      if (statusOf(error) === 416 || (error as Error).name === 'InvalidRange') throw new InvalidRangeError(key, offset, length);
      throw error;
    }
    const bytes = await body.transformToByteArray();
    // S3 truncates a range that runs past the end instead of failing it.
    if (bytes.byteLength !== length) throw new InvalidRangeError(key, offset, length);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async getStream(key: string): Promise<Readable> {
    const body = await this.#getBody(key);
    // In Node the SDK's body is an http.IncomingMessage, i.e. already a Readable.
    return body instanceof Readable ? body : Readable.from(body as unknown as AsyncIterable<Uint8Array>);
  }

  async head(key: string): Promise<{ size: number } | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.#key(key) }));
      return { size: out.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async delete(keys: string[]): Promise<void> {
    const full = keys.map((key) => this.#key(key));
    if (!this.#multiObjectDelete) {
      await this.#deleteOneByOne(full);
      return;
    }
    for (let i = 0; i < full.length; i += S3_DELETE_BATCH) {
      const batch = full.slice(i, i + S3_DELETE_BATCH);
      const out = await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
      );
      const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        throw new Error(`failed to delete ${failed.length} blob(s), first ${failed[0]!.Key}: ${failed[0]!.Code} ${failed[0]!.Message ?? ''}`);
      }
    }
  }

  /** DeleteObject per key, 16 in flight (a missing key is no error: S3 answers 204 for it). */
  async #deleteOneByOne(full: string[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < full.length) {
        const Key = full[next++]!;
        try {
          await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, full.length) }, worker));
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    let ContinuationToken: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken }),
      );
      for (const item of out.Contents ?? []) {
        if (item.Key === undefined) continue;
        yield { key: item.Key.slice(this.prefix.length), size: item.Size ?? 0 };
      }
      ContinuationToken = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async #getBody(key: string, Range?: string) {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.#key(key), Range }));
      if (!out.Body) throw new Error(`blob ${key}: response had no body`);
      return out.Body;
    } catch (error) {
      if (isNotFound(error)) throw new NotFoundError(key, { cause: error });
      throw error;
    }
  }
}
