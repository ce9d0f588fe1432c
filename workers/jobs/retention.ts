// Retention and garbage collection.
//
// 1. Task retention (unlimited | N days/months/years): per entity, the snapshots kept are the
//    completed runs started inside the window plus the newest completed run (the current state is
//    always restorable). With K the oldest kept run, a version is needed by a kept snapshot iff it
//    is still alive or valid_until_run > K, so versions with valid_until_run ≤ K go, and so do the
//    runs older than K.
// 2. Archived entities older than the task's retain_archived_days are purged (purgeEntityData).
// 3. Sweep per account: contents and blocks no version references, then packs: a pack with no
//    live block is deleted, a pack that is mostly garbage is rewritten (its live blocks copied into
//    new packs), pack objects nobody recorded are deleted.
//
// Safety while backups run. A backup holds its account's advisory lock in shared mode for its
// whole run (engine.ts). When the sweep gets that lock exclusively (no backup running, none can
// start), it deletes whatever nothing references at once. When a backup is running, the sweep
// still makes progress, in two steps across passes, so an account that is always backing up is
// never starved of collection:
//   - condemn: rows (blocks, contents) nothing references get `condemned_at`. Backups never reuse
//     a condemned row (their lookups skip it); storing the same block or content again revives the
//     row with the new copy.
//   - delete: a condemned row still unreferenced is deleted once it was condemned before every
//     running backup of the account started (minus a margin for clock skew). Any backup that could
//     have looked it up before it was condemned has then finished, and its references, committed,
//     would have been seen.
// Repacking moves blocks, so it runs only under the exclusive lock.
import type postgres from 'postgres';
import type { AppDeps } from '../../api/deps.ts';
import type { Retention } from '../../db/schema/tasks.ts';
import { accountStorage } from '../backup/storage.ts';
import { accountLockKey } from '../backup/locks.ts';
import { BlockReader, PackWriter, packKey, type BlobStore, type WrittenPack } from '../storage/index.ts';

/** A pack is rewritten when less than this share of its bytes is still referenced. */
export const REPACK_BELOW_LIVE_RATIO = 0.5;

/** Margin between a row's condemnation and the oldest running backup's start (clock skew between hosts). */
export const CONDEMNED_GRACE_MS = 10 * 60_000;

export interface SweepResult {
  /** `exclusive`: no backup was running, unreferenced data went at once. `concurrent`: see the header. */
  mode: 'exclusive' | 'concurrent';
  /** Rows newly condemned (concurrent mode). */
  condemned: number;
  contentsDeleted: number;
  blocksDeleted: number;
  packsDeleted: number;
  packsRewritten: number;
  objectsDeleted: number;
}

export function retentionCutoff(now: Date, retention: Retention): Date | null {
  if (retention.unit === 'unlimited') return null;
  const d = new Date(now.getTime());
  if (retention.unit === 'days') d.setUTCDate(d.getUTCDate() - retention.value);
  else if (retention.unit === 'months') d.setUTCMonth(d.getUTCMonth() - retention.value);
  else d.setUTCFullYear(d.getUTCFullYear() - retention.value);
  return d;
}

export async function retentionJob(deps: AppDeps): Promise<{ versionsDeleted: number; runsDeleted: number; entitiesPurged: number; sweeps: Record<string, SweepResult> }> {
  const { sql } = deps;
  const now = deps.clock.now();
  let versionsDeleted = 0;
  let runsDeleted = 0;
  let entitiesPurged = 0;

  const taskRows = await sql<{ id: string; account_id: string; retention: Retention; retain_archived_days: number | null }[]>`
    select id, account_id, retention, retain_archived_days from tasks`;
  const accountsTouched = new Set<string>();
  for (const task of taskRows) {
    accountsTouched.add(task.account_id);
    const cutoff = retentionCutoff(now, task.retention);
    if (cutoff) {
      const ents = await sql<{ id: string }[]>`select id from entities where task_id = ${task.id}`;
      for (const e of ents) {
        const r = await applyRetention(sql, e.id, cutoff);
        versionsDeleted += r.versionsDeleted;
        runsDeleted += r.runsDeleted;
      }
    }
    if (task.retain_archived_days !== null) {
      const limit = new Date(now.getTime() - task.retain_archived_days * 86_400_000);
      const archived = await sql<{ id: string }[]>`
        select id from entities where task_id = ${task.id} and status = 'archived' and archived_at is not null and archived_at < ${limit.toISOString()}`;
      for (const e of archived) {
        await purgeEntityData(deps, task.account_id, e.id, { sweep: false });
        await sql`delete from entities where id = ${e.id}`;
        entitiesPurged++;
      }
    }
  }
  const sweeps: Record<string, SweepResult> = {};
  for (const accountId of accountsTouched) sweeps[accountId] = await sweepAccount(deps, accountId);
  return { versionsDeleted, runsDeleted, entitiesPurged, sweeps };
}

/** Drops what no snapshot started at or after `cutoff` (nor the newest snapshot) needs. */
export async function applyRetention(sql: postgres.Sql, entityId: string, cutoff: Date): Promise<{ versionsDeleted: number; runsDeleted: number }> {
  return sql.begin(async (tx) => {
    const kept = await tx<{ id: string }[]>`
      select id from backup_runs where entity_id = ${entityId} and state in ('succeeded', 'partial')
        and (started_at >= ${cutoff.toISOString()} or id = (select max(id) from backup_runs where entity_id = ${entityId} and state in ('succeeded', 'partial')))
      order by id limit 1`;
    const oldest = kept[0]?.id;
    if (!oldest) return { versionsDeleted: 0, runsDeleted: 0 };
    // The search index (workers/recovery/search-index.ts) follows the versions it describes.
    await tx`delete from search_documents s using item_versions iv
      where s.item_version_id = iv.id and iv.entity_id = ${entityId} and iv.valid_until_run is not null and iv.valid_until_run <= ${oldest}`;
    const v = await tx`delete from item_versions where entity_id = ${entityId} and valid_until_run is not null and valid_until_run <= ${oldest}`;
    const r = await tx`delete from backup_runs where entity_id = ${entityId} and id < ${oldest} and state <> 'running'`;
    return { versionsDeleted: v.count, runsDeleted: r.count };
  });
}

/**
 * Erases an entity's backup data: its versions and runs, then (when no backup of the account is
 * running) the blocks, contents and packs nothing references any more. For the purge job.
 */
export async function purgeEntityData(deps: AppDeps, accountId: string, entityId: string, opts: { sweep?: boolean } = {}): Promise<{ versionsDeleted: number; runsDeleted: number; sweep?: SweepResult }> {
  const { sql } = deps;
  const { versionsDeleted, runsDeleted } = await sql.begin(async (tx) => {
    await tx`delete from search_documents where account_id = ${accountId} and entity_id = ${entityId}`;
    const v = await tx`delete from item_versions where account_id = ${accountId} and entity_id = ${entityId}`;
    const r = await tx`delete from backup_runs where account_id = ${accountId} and entity_id = ${entityId}`;
    return { versionsDeleted: v.count, runsDeleted: r.count };
  });
  if (opts.sweep === false) return { versionsDeleted, runsDeleted };
  return { versionsDeleted, runsDeleted, sweep: await sweepAccount(deps, accountId) };
}

/**
 * Blocks any version or content of the account references (a CTE body). `uncondemned`: count only
 * contents that are not condemned, so a content and the blocks only it holds are condemned in the
 * same pass (and deleted in the same later pass: contents go first).
 */
function referencedBlocks(sql: postgres.Sql | postgres.TransactionSql, accountId: string, opts: { uncondemned?: boolean } = {}) {
  return sql`
    select distinct substring(v.blocks from i * 32 + 1 for 32) as h
    from item_versions v, generate_series(0, length(v.blocks) / 32 - 1) i
    where v.account_id = ${accountId} and v.blocks is not null and length(v.blocks) > 0
    union
    select distinct substring(c.blocks from i * 32 + 1 for 32)
    from contents c, generate_series(0, length(c.blocks) / 32 - 1) i
    where c.account_id = ${accountId} and length(c.blocks) > 0 ${opts.uncondemned ? sql`and c.condemned_at is null` : sql``}`;
}

/** Mark-and-sweep of one account's contents, blocks and packs (see the header for the two modes). */
export async function sweepAccount(deps: AppDeps, accountId: string): Promise<SweepResult> {
  const result: SweepResult = { mode: 'exclusive', condemned: 0, contentsDeleted: 0, blocksDeleted: 0, packsDeleted: 0, packsRewritten: 0, objectsDeleted: 0 };
  const conn = await deps.sql.reserve();
  try {
    const [lock] = await conn<{ ok: boolean }[]>`select pg_try_advisory_lock(hashtextextended(${accountLockKey(accountId)}, 0)) as ok`;
    const exclusive = lock?.ok === true;
    if (!exclusive) result.mode = 'concurrent';
    try {
      const [hasData] = await deps.sql<{ n: number }[]>`select count(*)::int as n from packs where account_id = ${accountId}`;
      if (!hasData?.n) return result;
      const { store, keys } = await accountStorage(deps, accountId);
      const { sql } = deps;
      const now = deps.clock.now();

      // Packs left `pending` by runs that are over (their worker died after or during the PUT, before
      // recording the blocks). A running run's pending packs are its PUTs in flight: left alone.
      const pending = await sql<{ id: string; key: string }[]>`
        select p.id, p.key from packs p where p.account_id = ${accountId} and p.state = 'pending'
          and not exists (select 1 from backup_runs r where r.id = p.run_id and r.state = 'running')`;
      if (pending.length) {
        await store.delete(pending.map((p) => p.key));
        await sql`delete from packs where id in ${sql(pending.map((p) => p.id))}`;
        result.objectsDeleted += pending.length;
      }

      if (exclusive) {
        await sql.begin(async (tx) => {
          const c = await tx`
            delete from contents c where c.account_id = ${accountId}
              and not exists (select 1 from item_versions v where v.account_id = ${accountId} and v.content_hash = c.content_hash)`;
          result.contentsDeleted = c.count;
          const b = await tx`
            with refs as materialized (${referencedBlocks(tx, accountId)})
            delete from blocks b where b.account_id = ${accountId} and not exists (select 1 from refs where refs.h = b.hash)`;
          result.blocksDeleted = b.count;
          // What is left is referenced: whatever an earlier concurrent pass condemned is reprieved.
          await tx`update contents set condemned_at = null where account_id = ${accountId} and condemned_at is not null`;
          await tx`update blocks set condemned_at = null where account_id = ${accountId} and condemned_at is not null`;
        });
      } else {
        const [oldest] = await sql<{ started_at: Date | null }[]>`
          select min(started_at) as started_at from backup_runs where account_id = ${accountId} and state = 'running'`;
        const start = oldest?.started_at ? new Date(oldest.started_at).getTime() : now.getTime();
        const horizon = new Date(Math.min(start, now.getTime()) - CONDEMNED_GRACE_MS).toISOString();
        await sql.begin(async (tx) => {
          // Delete: condemned before every running backup began, and still unreferenced.
          const c = await tx`
            delete from contents c where c.account_id = ${accountId} and c.condemned_at is not null and c.condemned_at < ${horizon}
              and not exists (select 1 from item_versions v where v.account_id = ${accountId} and v.content_hash = c.content_hash)`;
          result.contentsDeleted = c.count;
          const b = await tx`
            with refs as materialized (${referencedBlocks(tx, accountId)})
            delete from blocks b where b.account_id = ${accountId} and b.condemned_at is not null and b.condemned_at < ${horizon}
              and not exists (select 1 from refs where refs.h = b.hash)`;
          result.blocksDeleted = b.count;
        });
        await sql.begin(async (tx) => {
          // Condemn what nothing references now; lift condemnation from what is referenced again.
          const c = await tx`
            update contents c set condemned_at = ${now.toISOString()} where c.account_id = ${accountId} and c.condemned_at is null
              and not exists (select 1 from item_versions v where v.account_id = ${accountId} and v.content_hash = c.content_hash)`;
          await tx`
            update contents c set condemned_at = null where c.account_id = ${accountId} and c.condemned_at is not null
              and exists (select 1 from item_versions v where v.account_id = ${accountId} and v.content_hash = c.content_hash)`;
          // One pass over the references: condemn the unreferenced, reprieve the referenced.
          const b = await tx<{ condemned: boolean }[]>`
            with refs as materialized (${referencedBlocks(tx, accountId, { uncondemned: true })})
            update blocks b set condemned_at = case when exists (select 1 from refs where refs.h = b.hash) then null else ${now.toISOString()}::timestamptz end
            where b.account_id = ${accountId}
              and (b.condemned_at is null) = not exists (select 1 from refs where refs.h = b.hash)
            returning b.condemned_at is not null as condemned`;
          result.condemned = c.count + b.filter((r) => r.condemned).length;
        });
      }

      // A written pack no block row points at holds only garbage (a pack is recorded `written` in
      // the same transaction as its blocks, so this never catches one being recorded).
      const packStats = await sql<{ id: string; key: string; size: number; live: number; live_bytes: number }[]>`
        select p.id, p.key, p.size::float8 as size, count(b.hash)::int as live, coalesce(sum(b.length), 0)::float8 as live_bytes
        from packs p left join blocks b on b.account_id = p.account_id and b.pack_id = p.id
        where p.account_id = ${accountId} and p.state = 'written'
        group by p.id, p.key, p.size`;
      const empty = packStats.filter((p) => p.live === 0);
      if (empty.length) {
        const gone = await sql<{ key: string }[]>`delete from packs where id in ${sql(empty.map((p) => p.id))} and state = 'written'
          and not exists (select 1 from blocks b where b.account_id = ${accountId} and b.pack_id = packs.id) returning key`;
        if (gone.length) await store.delete(gone.map((p) => p.key));
        result.packsDeleted = gone.length;
      }
      const sparse = packStats.filter((p) => p.live > 0 && p.live_bytes < p.size * REPACK_BELOW_LIVE_RATIO);
      if (exclusive && sparse.length) result.packsRewritten = await repack(deps, accountId, store, keys, sparse.map((p) => p.id));

      // Objects in the store that no pack row knows (e.g. a delete that failed half-way). Listed
      // before the rows are read: a pack's row is written before its PUT, so any object listed here
      // that a backup is writing already has its row.
      const listed: string[] = [];
      for await (const obj of store.list('packs/')) listed.push(obj.key);
      const knownKeys = new Set((await sql<{ key: string }[]>`select key from packs where account_id = ${accountId}`).map((r) => r.key));
      const strays = listed.filter((k) => !knownKeys.has(k));
      if (strays.length) {
        await store.delete(strays);
        result.objectsDeleted += strays.length;
      }
      return result;
    } finally {
      if (exclusive) await conn`select pg_advisory_unlock(hashtextextended(${accountLockKey(accountId)}, 0))`.catch(() => {});
    }
  } finally {
    conn.release();
  }
}

/** Copies the live blocks of `packIds` into new packs, repoints their rows, deletes the old packs. */
async function repack(deps: AppDeps, accountId: string, store: BlobStore, keys: Awaited<ReturnType<typeof accountStorage>>['keys'], packIds: string[]): Promise<number> {
  const { sql } = deps;
  const reader = new BlockReader({ store, keys });
  const moved: WrittenPack[] = [];
  const writer = new PackWriter({
    store,
    keys,
    onPackWritten: async (pack) => {
      await sql`insert into packs (id, account_id, key, size, state, created_at)
        values (${pack.packId}, ${accountId}, ${pack.key}, ${pack.size}, 'written', ${deps.clock.now().toISOString()})`;
      moved.push(pack);
    },
  });
  for (const packId of packIds) {
    const rows = await sql<{ hash: Buffer; offset: number; length: number }[]>`
      select hash, "offset"::float8 as "offset", length from blocks where account_id = ${accountId} and pack_id = ${packId} order by "offset"`;
    const data = await reader.readMany(rows.map((r) => ({ hash: r.hash, packId, offset: Number(r.offset), length: r.length })));
    for (const [i, r] of rows.entries()) await writer.add(r.hash, data[i]!);
  }
  await writer.flush();
  await sql.begin(async (tx) => {
    for (const pack of moved) {
      for (const b of pack.blocks) {
        await tx`update blocks set pack_id = ${b.packId}, "offset" = ${b.offset}, length = ${b.length}, stored_size = ${b.storedSize}, compressed = ${b.compressed}
          where account_id = ${accountId} and hash = ${b.hash}`;
      }
    }
    await tx`delete from packs where id in ${tx(packIds)}`;
  });
  await store.delete(packIds.map((id) => packKey(id)));
  return packIds.length;
}
