// The whole-repository check of one account, for operators (`npm run check -- --account ID`, and
// the `repository-check` queue). It answers "could every snapshot be restored, as far as storage
// goes?" from the metadata, and with `readData` from the bytes too (like restic's
// `check --read-data`):
//   - every pack a block row points at is recorded (packs row, state written), exists in the blob
//     store, and has the size recorded;
//   - every block a kept item version (or a stored content) lists is in a pack (a blocks row);
//   - no pack is unreferenced beyond the garbage-collection grace: a written pack no block row
//     points at, a pending pack whose run is over, and an object under packs/ no row knows are all
//     garbage retention.ts removes; one still there after UNREFERENCED_GRACE_MS means GC is not
//     running (or failing);
//   - readData: each pack's sealed index opens and lists every block recorded in it at the recorded
//     offset, and every recorded block is fetched, decrypted, decompressed and re-hashed. A flipped
//     byte keeps a pack's size, so only this finds it.
// Nothing is modified. Each problem names the pack, block or file concerned.
import type { AppDeps } from '../../api/deps.ts';
import { accountStorage } from '../backup/storage.ts';
import { CONDEMNED_GRACE_MS } from '../jobs/retention.ts';
import { BlockReader, IntegrityError, InvalidRangeError, NotFoundError, readPackIndex, type BlockRef } from '../storage/index.ts';

/**
 * Retention sweeps once a day; while backups run it needs two passes (condemn, then delete) to
 * free a block, and a pack goes in the pass after its last block did: two days and the margin.
 */
export const UNREFERENCED_GRACE_MS = 2 * 86_400_000 + CONDEMNED_GRACE_MS;

export type RepositoryProblemKind =
  | 'pack_unrecorded' | 'pack_missing' | 'pack_size_mismatch' | 'block_missing' | 'pack_unreferenced' | 'object_unrecorded'
  | 'pack_index_unreadable' | 'pack_index_mismatch' | 'block_corrupt';

export interface RepositoryProblem {
  kind: RepositoryProblemKind;
  pack_id: string | null;
  block_hash: string | null;
  /** A file that lists the block (one of them), for block_missing. */
  path: string | null;
  detail: string;
}

export interface RepositoryCheckResult {
  account_id: string;
  packs_checked: number;
  blocks_checked: number;
  /** Blocks decrypted and re-hashed (readData only). */
  blocks_read: number;
  bytes_read: number;
  problems: RepositoryProblem[];
}

export interface RepositoryCheckOptions {
  readData?: boolean;
  graceMs?: number;
}

const READ_CHUNK_BYTES = 16 * 1024 * 1024;

export async function checkRepository(deps: Pick<AppDeps, 'sql' | 'db' | 'keyring' | 'config' | 'clock'>, accountId: string, opts: RepositoryCheckOptions = {}): Promise<RepositoryCheckResult> {
  const { sql } = deps;
  const problems: RepositoryProblem[] = [];
  const problem = (kind: RepositoryProblemKind, p: Partial<Omit<RepositoryProblem, 'kind'>> & { detail: string }) =>
    problems.push({ kind, pack_id: p.pack_id ?? null, block_hash: p.block_hash ?? null, path: p.path ?? null, detail: p.detail });
  const { store, keys } = await accountStorage(deps, accountId);

  // Listed before the rows are read: a pack's row is written before its PUT, so an object listed
  // here that a backup is writing already has its row.
  const objects = new Map<string, number>();
  for await (const o of store.list('packs/')) objects.set(o.key, o.size);
  const packs = await sql<{ id: string; key: string; size: number; state: string; run_running: boolean; created_at: string; blocks: number }[]>`
    select p.id, p.key, p.size::float8 as size, p.state, p.created_at,
      exists (select 1 from backup_runs r where r.id = p.run_id and r.state = 'running') as run_running,
      (select count(*)::int from blocks b where b.account_id = p.account_id and b.pack_id = p.id) as blocks
    from packs p where p.account_id = ${accountId} order by p.id`;
  const byId = new Map(packs.map((p) => [p.id, p]));
  const horizon = deps.clock.now().getTime() - (opts.graceMs ?? UNREFERENCED_GRACE_MS);

  // 1. Packs that blocks point at: recorded, present, of the recorded size.
  const referenced = await sql<{ pack_id: string; blocks: number }[]>`
    select pack_id, count(*)::int as blocks from blocks where account_id = ${accountId} group by pack_id order by pack_id`;
  for (const { pack_id: packId, blocks } of referenced) {
    const row = byId.get(packId);
    if (!row || row.state !== 'written') {
      problem('pack_unrecorded', { pack_id: packId, detail: `${blocks} block(s) point at pack ${packId}, which is ${row ? `still ${row.state}` : 'not recorded'}` });
      continue;
    }
    const size = objects.get(row.key);
    if (size === undefined) problem('pack_missing', { pack_id: packId, detail: `pack ${packId} (${row.key}, ${blocks} block(s)) is missing from storage` });
    else if (size !== row.size) problem('pack_size_mismatch', { pack_id: packId, detail: `pack ${packId} is ${size} bytes in storage, ${row.size} recorded` });
  }

  // 2. Blocks that kept item versions and stored contents list: each in a pack.
  const missing = await sql<{ hex: string; path: string | null }[]>`
    with refs as (
      select substring(v.blocks from i * 32 + 1 for 32) as h, v.path_display as path
      from item_versions v, generate_series(0, length(v.blocks) / 32 - 1) i
      where v.account_id = ${accountId} and v.blocks is not null and length(v.blocks) > 0
      union all
      select substring(c.blocks from i * 32 + 1 for 32), null
      from contents c, generate_series(0, length(c.blocks) / 32 - 1) i
      where c.account_id = ${accountId} and length(c.blocks) > 0
    )
    select encode(refs.h, 'hex') as hex, max(refs.path) as path from refs
    where not exists (select 1 from blocks b where b.account_id = ${accountId} and b.hash = refs.h)
    group by refs.h order by 1`;
  for (const m of missing) {
    problem('block_missing', { block_hash: m.hex, path: m.path, detail: `block ${m.hex}${m.path ? ` of ${m.path}` : ' of a stored content'} is in no pack` });
  }
  const [{ n: blocksChecked } = { n: 0 }] = await sql<{ n: number }[]>`select count(*)::int as n from blocks where account_id = ${accountId}`;

  // 3. Garbage older than the grace.
  for (const p of packs) {
    if (new Date(p.created_at).getTime() > horizon) continue;
    if (p.state === 'written' && p.blocks === 0) problem('pack_unreferenced', { pack_id: p.id, detail: `pack ${p.id} holds no referenced block and was written ${new Date(p.created_at).toISOString()}: garbage collection has not removed it` });
    if (p.state === 'pending' && !p.run_running) problem('pack_unreferenced', { pack_id: p.id, detail: `pack ${p.id} was left pending by an interrupted run at ${new Date(p.created_at).toISOString()}: garbage collection has not removed it` });
  }
  const known = new Set(packs.map((p) => p.key));
  for (const key of objects.keys()) {
    if (!known.has(key)) problem('object_unrecorded', { pack_id: key.split('/').at(-1) ?? null, detail: `object ${key} is in storage but recorded nowhere` });
  }

  // 4. The bytes.
  let blocksRead = 0;
  let bytesRead = 0;
  if (opts.readData) {
    const reader = new BlockReader({ store, keys });
    for (const { pack_id: packId } of referenced) {
      const row = byId.get(packId);
      if (!row || row.state !== 'written' || objects.get(row.key) === undefined) continue; // reported above
      const rows = await sql<{ hash: Buffer; offset: number; length: number }[]>`
        select hash, "offset"::float8 as "offset", length from blocks where account_id = ${accountId} and pack_id = ${packId} order by "offset"`;
      try {
        const index = new Map((await readPackIndex(store, keys, packId)).map((e) => [e.hash.toString('hex'), e]));
        for (const r of rows) {
          const e = index.get(r.hash.toString('hex'));
          if (!e || e.offset !== Number(r.offset) || e.length !== r.length) {
            problem('pack_index_mismatch', { pack_id: packId, block_hash: r.hash.toString('hex'), detail: `pack ${packId}'s index ${e ? `places block ${r.hash.toString('hex')} at ${e.offset}+${e.length}` : `does not list block ${r.hash.toString('hex')}`}, recorded at ${r.offset}+${r.length}` });
          }
        }
      } catch (err) {
        if (!isStorageFault(err)) throw err;
        problem('pack_index_unreadable', { pack_id: packId, detail: `pack ${packId}: ${(err as Error).message}` });
      }
      const refs: BlockRef[] = rows.map((r) => ({ hash: r.hash, packId, offset: Number(r.offset), length: r.length }));
      for (let i = 0; i < refs.length;) {
        let bytes = 0;
        let j = i;
        while (j < refs.length && (j === i || bytes + refs[j]!.length <= READ_CHUNK_BYTES)) bytes += refs[j++]!.length;
        const chunk = refs.slice(i, j);
        try {
          for (const data of await reader.readMany(chunk)) bytesRead += data.length;
          blocksRead += chunk.length;
        } catch (err) {
          if (!isStorageFault(err)) throw err;
          for (const ref of chunk) {
            try {
              bytesRead += (await reader.read(ref)).length;
              blocksRead++;
            } catch (e) {
              if (!isStorageFault(e)) throw e;
              problem('block_corrupt', { pack_id: packId, block_hash: ref.hash.toString('hex'), detail: `block ${ref.hash.toString('hex')} in pack ${packId} at ${ref.offset}+${ref.length}: ${(e as Error).message}` });
            }
          }
        }
        i = j;
      }
    }
  }
  return { account_id: accountId, packs_checked: packs.length, blocks_checked: blocksChecked, blocks_read: blocksRead, bytes_read: bytesRead, problems };
}

function isStorageFault(err: unknown): boolean {
  return err instanceof NotFoundError || err instanceof IntegrityError || err instanceof InvalidRangeError;
}

