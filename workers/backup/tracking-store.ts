// The blob store a backup run writes packs through: each pack is recorded `pending` (with its run)
// before its PUT, so a resumed run finds and deletes what a dead predecessor may have left behind.
import type { Readable } from 'node:stream';
import type postgres from 'postgres';
import type { BlobInfo, BlobStore } from '../storage/index.ts';

/** Records a pack as `pending` before its PUT, so an interrupted run can find and delete it. */
export class TrackingStore implements BlobStore {
  readonly inner: BlobStore;
  readonly #sql: postgres.Sql;
  readonly #accountId: string;
  readonly #runId: string;
  readonly #now: () => Date;

  constructor(inner: BlobStore, sql: postgres.Sql, accountId: string, runId: string, now: () => Date) {
    this.inner = inner;
    this.#sql = sql;
    this.#accountId = accountId;
    this.#runId = runId;
    this.#now = now;
  }

  async put(key: string, body: Buffer | Readable, size?: number): Promise<void> {
    const packId = key.slice(key.lastIndexOf('/') + 1);
    await this.#sql`insert into packs (id, account_id, key, size, state, run_id, created_at)
      values (${packId}, ${this.#accountId}, ${key}, ${size ?? 0}, 'pending', ${this.#runId}, ${this.#now().toISOString()}) on conflict (id) do nothing`;
    await this.inner.put(key, body, size);
  }
  get(key: string): Promise<Buffer> {
    return this.inner.get(key);
  }
  getRange(key: string, offset: number, length: number): Promise<Buffer> {
    return this.inner.getRange(key, offset, length);
  }
  getStream(key: string): Promise<Readable> {
    return this.inner.getStream(key);
  }
  head(key: string): Promise<{ size: number } | null> {
    return this.inner.head(key);
  }
  delete(keys: string[]): Promise<void> {
    return this.inner.delete(keys);
  }
  list(prefix: string): AsyncIterable<BlobInfo> {
    return this.inner.list(prefix);
  }
}
