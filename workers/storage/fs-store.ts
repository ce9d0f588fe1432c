// Blob store on the local filesystem (the embedded default: ./.data/blobs). Keys map to paths
// under the root. Puts are atomic and durable: write a temp file in the target directory, fsync,
// rename over the key, fsync the directory. Temp files are never listed and never readable by key.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { assertValidKey, assertValidRange, type BlobInfo, type BlobStore } from './blob-store.ts';
import { InvalidRangeError, NotFoundError } from './errors.ts';
import { fsyncDir } from './fsync-dir.ts';

/** Names starting with this are in-flight writes; keys may not use it. */
const TEMP_PREFIX = '.tmp-';

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

export class FsBlobStore implements BlobStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  #path(key: string): string {
    assertValidKey(key);
    const segments = key.split('/');
    if (segments.some((s) => s.startsWith(TEMP_PREFIX))) throw new TypeError(`blob key segments may not start with ${TEMP_PREFIX}`);
    return join(this.root, ...segments);
  }

  async put(key: string, body: Buffer | Readable, size?: number): Promise<void> {
    const path = this.#path(key);
    const dir = dirname(path);
    await mkdir(dir, { recursive: true });
    const temp = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    const handle = await open(temp, 'wx', 0o600);
    let renamed = false;
    try {
      const written = await writeBody(handle, body);
      if (size !== undefined && written !== size) throw new Error(`blob ${key}: body was ${written} bytes, expected ${size}`);
      await handle.sync();
      await handle.close();
      await rename(temp, path);
      renamed = true;
      await fsyncDir(dir);
    } finally {
      if (!renamed) {
        await handle.close().catch(() => {});
        await unlink(temp).catch(() => {});
      }
    }
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await readFile(this.#path(key));
    } catch (error) {
      if (isMissing(error)) throw new NotFoundError(key, { cause: error });
      throw error;
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    assertValidRange(offset, length);
    const handle = await this.#open(key);
    try {
      const size = (await handle.stat()).size;
      if (offset + length > size) throw new InvalidRangeError(key, offset, length, size);
      const out = Buffer.allocUnsafe(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(out, filled, length - filled, offset + filled);
        if (bytesRead === 0) throw new InvalidRangeError(key, offset, length, size);
        filled += bytesRead;
      }
      return out;
    } finally {
      await handle.close();
    }
  }

  async getStream(key: string): Promise<Readable> {
    const handle = await this.#open(key);
    // The stream owns the handle and closes it when done or destroyed.
    return createReadStream('', { fd: handle });
  }

  async head(key: string): Promise<{ size: number } | null> {
    try {
      const info = await stat(this.#path(key));
      return info.isFile() ? { size: info.size } : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async delete(keys: string[]): Promise<void> {
    const paths = keys.map((key) => this.#path(key));
    for (const path of paths) {
      try {
        await unlink(path);
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    }
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    // Start at the deepest directory the prefix names in full; filter the rest by string prefix.
    const cut = prefix.lastIndexOf('/');
    const base = cut < 0 ? '' : prefix.slice(0, cut);
    if (base !== '') assertValidKey(base);
    yield* this.#walk(base, prefix);
  }

  async *#walk(dirKey: string, prefix: string): AsyncGenerator<BlobInfo> {
    let entries;
    try {
      entries = await readdir(dirKey === '' ? this.root : join(this.root, ...dirKey.split('/')), { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    // Sort directories as "name/" so the walk yields keys in plain string order, as S3 does.
    const sorted = entries
      .filter((e) => !e.name.startsWith(TEMP_PREFIX) && (e.isFile() || e.isDirectory()))
      .map((e) => ({ entry: e, sortKey: e.isDirectory() ? `${e.name}/` : e.name }))
      .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    for (const { entry } of sorted) {
      const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
      if (entry.isDirectory()) {
        const asDir = `${key}/`;
        if (asDir.startsWith(prefix) || prefix.startsWith(asDir)) yield* this.#walk(key, prefix);
      } else if (key.startsWith(prefix)) {
        const info = await stat(join(this.root, ...key.split('/'))).catch((error: unknown) => {
          if (isMissing(error)) return null;
          throw error;
        });
        if (info) yield { key, size: info.size };
      }
    }
  }

  async #open(key: string): Promise<FileHandle> {
    try {
      return await open(this.#path(key), 'r');
    } catch (error) {
      if (isMissing(error)) throw new NotFoundError(key, { cause: error });
      throw error;
    }
  }
}

async function writeBody(handle: FileHandle, body: Buffer | Readable): Promise<number> {
  if (Buffer.isBuffer(body)) {
    await writeAll(handle, body);
    return body.length;
  }
  let written = 0;
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    await writeAll(handle, bytes);
    written += bytes.length;
  }
  return written;
}

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  let pos = 0;
  while (pos < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, pos, bytes.length - pos);
    pos += bytesWritten;
  }
}

export const FS_TEMP_PREFIX = TEMP_PREFIX;
