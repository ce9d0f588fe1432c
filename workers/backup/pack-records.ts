// The run's rows of `packs` and `blocks`: a pack is recorded `pending` before its PUT (by
// TrackingStore) and `written`, with its blocks, after it; a resumed run deletes what a dead attempt
// left `pending`; and the ingest asks here which blocks the account already stores.
import { insertRows, type Column } from '../../db/bulk-insert.ts';
import type { BlobStore, WrittenPack } from '../storage/index.ts';
import type { EntityBackup } from './run-state.ts';

const BLOCK_COLUMNS: Column[] = [
  { name: 'account_id', type: 'text' }, { name: 'hash', type: 'bytea' }, { name: 'pack_id', type: 'text' }, { name: 'offset', type: 'bigint' },
  { name: 'length', type: 'integer' }, { name: 'plain_size', type: 'integer' }, { name: 'stored_size', type: 'integer' }, { name: 'compressed', type: 'boolean' },
];

/** Pack objects a dead attempt of this run PUT (or was about to) without recording their blocks. */
export async function cleanupPendingPacks(b: EntityBackup, store: BlobStore): Promise<void> {
  const pending = await b.sql<{ id: string; key: string }[]>`
    select id, key from packs where run_id = ${b.run.id} and state = 'pending'`;
  if (!pending.length) return;
  await store.delete(pending.map((p) => p.key));
  await b.sql`delete from packs where id in ${b.sql(pending.map((p) => p.id))} and state = 'pending'`;
}

/** A pack's PUT succeeded: its blocks become the account's, and count as stored since the last page. */
export async function recordPack(b: EntityBackup, pack: WrittenPack): Promise<void> {
  const rows = pack.blocks.map((k) => ({
    account_id: b.accountId,
    hash: k.hash,
    pack_id: k.packId,
    offset: k.offset,
    length: k.length,
    plain_size: k.plainSize,
    stored_size: k.storedSize,
    compressed: k.compressed,
  }));
  await b.sql.begin(async (tx) => {
    // A condemned row (retention.ts) is revived with this new copy's location.
    await insertRows(tx, 'blocks', BLOCK_COLUMNS, rows, `on conflict (account_id, hash) do update
      set pack_id = excluded.pack_id, "offset" = excluded."offset", length = excluded.length, stored_size = excluded.stored_size,
        compressed = excluded.compressed, condemned_at = null
      where blocks.condemned_at is not null`);
    await tx`update packs set state = 'written', size = ${pack.size} where id = ${pack.packId}`;
  });
  for (const k of pack.blocks) {
    b.ingest.markStored(k.hash.toString('hex'));
    b.storedSinceCommit += k.storedSize;
  }
}

/** Which of these blocks the account stores (one query for a whole batch). */
export async function storedBlocks(b: EntityBackup, hexes: string[]): Promise<Set<string>> {
  // Condemned rows (retention.ts) count as missing. Filtered here, not in SQL: with the filter in
  // the WHERE clause the planner gave up the index plan and a first backup took twice as long.
  const rows = await b.sql<{ hex: string; condemned: boolean }[]>`
    select encode(hash, 'hex') as hex, condemned_at is not null as condemned from blocks
    where account_id = ${b.accountId} and hash in (select decode(x, 'hex') from unnest(${hexes}::text[]) x)`;
  return new Set(rows.filter((r) => !r.condemned).map((r) => r.hex));
}
