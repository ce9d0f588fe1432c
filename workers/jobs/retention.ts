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
// Safety while backups run: a backup holds its account's advisory lock in shared mode for its whole
// run (engine.ts); the sweep takes it exclusively with a try-lock and skips the account when a
// backup is running (the next pass collects it). So a backup never reuses a block or content the
// sweep is deleting, and the sweep never deletes what a running backup has just written.
import type postgres from 'postgres';
import type { AppDeps } from '../../api/deps.ts';
import type { Retention } from '../../db/schema/tasks.ts';
import { accountStorage } from '../backup/storage.ts';
import { BlockReader, PackWriter, packKey, type BlobStore, type WrittenPack } from '../storage/index.ts';

export function accountLockKey(accountId: string): string {
  return `account:${accountId}`;
}

/** A pack is rewritten when less than this share of its bytes is still referenced. */
export const REPACK_BELOW_LIVE_RATIO = 0.5;

export interface SweepResult {
  skipped?: boolean;
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

/** Mark-and-sweep of one account's contents, blocks and packs, under the account's exclusive lock. */
export async function sweepAccount(deps: AppDeps, accountId: string): Promise<SweepResult> {
  const result: SweepResult = { contentsDeleted: 0, blocksDeleted: 0, packsDeleted: 0, packsRewritten: 0, objectsDeleted: 0 };
  const conn = await deps.sql.reserve();
  try {
    const [lock] = await conn<{ ok: boolean }[]>`select pg_try_advisory_lock(hashtextextended(${accountLockKey(accountId)}, 0)) as ok`;
    if (!lock?.ok) return { ...result, skipped: true };
    try {
      const [hasData] = await deps.sql<{ n: number }[]>`select count(*)::int as n from packs where account_id = ${accountId}`;
      if (!hasData?.n) return result;
      const { store, keys } = await accountStorage(deps, accountId);
      const { sql } = deps;

      // Runs whose worker died left `pending` packs (PUT maybe done, blocks never recorded).
      const pending = await sql<{ id: string; key: string }[]>`select id, key from packs where account_id = ${accountId} and state = 'pending'`;
      if (pending.length) {
        await store.delete(pending.map((p) => p.key));
        await sql`delete from packs where id in ${sql(pending.map((p) => p.id))}`;
        result.objectsDeleted += pending.length;
      }

      await sql.begin(async (tx) => {
        const c = await tx`
          delete from contents c where c.account_id = ${accountId}
            and not exists (select 1 from item_versions v where v.account_id = ${accountId} and v.content_hash = c.content_hash)`;
        result.contentsDeleted = c.count;
        const b = await tx`
          with refs as materialized (
            select distinct substring(v.blocks from i * 32 + 1 for 32) as h
            from item_versions v, generate_series(0, length(v.blocks) / 32 - 1) i
            where v.account_id = ${accountId} and v.blocks is not null and length(v.blocks) > 0
            union
            select distinct substring(c.blocks from i * 32 + 1 for 32)
            from contents c, generate_series(0, length(c.blocks) / 32 - 1) i
            where c.account_id = ${accountId} and length(c.blocks) > 0
          )
          delete from blocks b where b.account_id = ${accountId} and not exists (select 1 from refs where refs.h = b.hash)`;
        result.blocksDeleted = b.count;
      });

      const packStats = await sql<{ id: string; key: string; size: number; live: number; live_bytes: number }[]>`
        select p.id, p.key, p.size::float8 as size, count(b.hash)::int as live, coalesce(sum(b.length), 0)::float8 as live_bytes
        from packs p left join blocks b on b.account_id = p.account_id and b.pack_id = p.id
        where p.account_id = ${accountId} and p.state = 'written'
        group by p.id, p.key, p.size`;
      const empty = packStats.filter((p) => p.live === 0);
      if (empty.length) {
        await store.delete(empty.map((p) => p.key));
        await sql`delete from packs where id in ${sql(empty.map((p) => p.id))}`;
        result.packsDeleted = empty.length;
      }
      const sparse = packStats.filter((p) => p.live > 0 && p.live_bytes < p.size * REPACK_BELOW_LIVE_RATIO);
      if (sparse.length) result.packsRewritten = await repack(deps, accountId, store, keys, sparse.map((p) => p.id));

      // Objects in the store that no pack row knows (e.g. a delete that failed half-way).
      const knownKeys = new Set((await sql<{ key: string }[]>`select key from packs where account_id = ${accountId}`).map((r) => r.key));
      const strays: string[] = [];
      for await (const obj of store.list('packs/')) if (!knownKeys.has(obj.key)) strays.push(obj.key);
      if (strays.length) {
        await store.delete(strays);
        result.objectsDeleted += strays.length;
      }
      return result;
    } finally {
      await conn`select pg_advisory_unlock(hashtextextended(${accountLockKey(accountId)}, 0))`.catch(() => {});
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
