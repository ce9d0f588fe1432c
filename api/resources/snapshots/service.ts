// Snapshots are completed backup runs; browsing one is a query over item_versions (the versions
// valid at that run), so no per-snapshot copy of the tree exists. Every query is scoped by the
// caller's account: another account's entity, snapshot or item is a 404.
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { badRequest, invalidField, notFound } from '../../errors.ts';
import { encodeCursor, type PageRequest } from '../../pagination.ts';
import type { Snapshot, SnapshotItem } from './schemas.ts';
import type { RunError } from '../../../db/schema/snapshots.ts';

const COMPLETED = ['succeeded', 'partial'];
const DAY = 86_400_000;

function iso(v: Date | string | null | undefined): string | null {
  if (v === null || v === undefined) return null;
  return new Date(v).toISOString();
}

interface RunRow {
  id: string;
  entity_id: string;
  task_id: string;
  state: 'succeeded' | 'partial';
  reason: string;
  started_at: string;
  finished_at: string | null;
  search_indexed_at: string | null;
  total_items: number | null;
  total_size: number | null;
  bytes_downloaded: number;
  bytes_stored: number;
  new_count: number;
  changed_count: number;
  deleted_count: number;
  failed_count: number;
  unchanged_count: number;
  downloaded_count: number;
  errors: RunError[];
}

const RUN_COLUMNS = `id, entity_id, task_id, state, reason, started_at, finished_at, search_indexed_at, total_items, total_size::float8 as total_size,
  bytes_downloaded::float8 as bytes_downloaded, bytes_stored::float8 as bytes_stored, new_count, changed_count, deleted_count,
  failed_count, unchanged_count, downloaded_count, errors`;

function toSnapshot(r: RunRow): Snapshot {
  return {
    id: r.id,
    entity_id: r.entity_id,
    task_id: r.task_id,
    time: iso(r.started_at)!,
    finished_at: iso(r.finished_at),
    search_indexed_at: iso(r.search_indexed_at),
    outcome: r.state,
    reason: r.reason,
    items: r.total_items ?? 0,
    size_bytes: Number(r.total_size ?? 0),
    bytes_downloaded: Number(r.bytes_downloaded),
    bytes_stored: Number(r.bytes_stored),
    counts: {
      new: r.new_count, changed: r.changed_count, deleted: r.deleted_count, failed: r.failed_count,
      unchanged: r.unchanged_count, downloaded: r.downloaded_count,
    },
    errors: (r.errors ?? []).slice(0, 100).map((e) => ({ path: e.path, error: e.error })),
  };
}

async function requireEntity(deps: AppDeps, ctx: RequestContext, entityId: string): Promise<void> {
  const [row] = await deps.sql`select 1 from entities where id = ${entityId} and account_id = ${ctx.accountId}`;
  if (!row) throw notFound('Entity', entityId);
}

async function requireSnapshot(deps: AppDeps, ctx: RequestContext, snapshotId: string): Promise<RunRow> {
  const [row] = await deps.sql<RunRow[]>`
    select ${deps.sql.unsafe(RUN_COLUMNS)} from backup_runs
    where id = ${snapshotId} and account_id = ${ctx.accountId} and state in ${deps.sql(COMPLETED)}`;
  if (!row) throw notFound('Snapshot', snapshotId);
  return row;
}

/** A `from`/`to` query value as a Date (a field error naming `pointer` when it is not a date-time). */
export function parseTime(value: string | undefined, pointer: string): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw invalidField(pointer, 'must be a date-time');
  return d;
}

export async function listSnapshots(deps: AppDeps, ctx: RequestContext, entityId: string, page: PageRequest, q: { from?: string; to?: string }) {
  await requireEntity(deps, ctx, entityId);
  const from = parseTime(q.from, '/query/from');
  const to = parseTime(q.to, '/query/to');
  const { sql } = deps;
  const rows = await sql<RunRow[]>`
    select ${sql.unsafe(RUN_COLUMNS)} from backup_runs
    where entity_id = ${entityId} and account_id = ${ctx.accountId} and state in ${sql(COMPLETED)}
      ${from ? sql`and started_at >= ${from.toISOString()}` : sql``}
      ${to ? sql`and started_at < ${to.toISOString()}` : sql``}
      ${page.after ? sql`and id < ${page.after}` : sql``}
    order by id desc limit ${page.limit + 1}`;
  const more = rows.length > page.limit;
  const data = (more ? rows.slice(0, page.limit) : rows).map(toSnapshot);
  return { data, next_cursor: more ? encodeCursor(data[data.length - 1]!.id) : null };
}

export async function getSnapshot(deps: AppDeps, ctx: RequestContext, snapshotId: string): Promise<Snapshot> {
  return toSnapshot(await requireSnapshot(deps, ctx, snapshotId));
}

interface ItemRow {
  id: string;
  kind: 'file' | 'folder';
  name: string;
  path_display: string;
  path_lower: string;
  size: number;
  content_hash: string | null;
  export_as: string | null;
  rev: string | null;
  dropbox_id: string | null;
  server_modified: string | null;
  client_modified: string | null;
  modified_by: string | null;
  valid_from_run: string;
  valid_until_run: string | null;
  backed_up_at: string;
}

const ITEM_COLUMNS = `v.id, v.kind, v.name, v.path_display, v.path_lower, v.size::float8 as size, v.content_hash, v.export_as, v.rev, v.dropbox_id,
  v.server_modified, v.client_modified, v.modified_by, v.valid_from_run, v.valid_until_run, r.started_at as backed_up_at`;

function toItem(snapshotId: string, r: ItemRow): SnapshotItem {
  return {
    id: r.id,
    snapshot_id: snapshotId,
    kind: r.kind,
    name: r.name,
    path: r.path_display,
    size_bytes: Number(r.size),
    content_hash: r.content_hash,
    exported_as: r.export_as,
    rev: r.rev,
    dropbox_id: r.dropbox_id,
    server_modified: iso(r.server_modified),
    client_modified: iso(r.client_modified),
    modified_by: r.modified_by,
    backed_up_at: iso(r.backed_up_at)!,
  };
}

function encodeKey(key: (string | number)[]): string {
  return Buffer.from(JSON.stringify({ v: 1, k: key })).toString('base64url');
}

function decodeKey(cursor: string, length: number): (string | number)[] {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { v?: number; k?: unknown };
    if (parsed.v === 1 && Array.isArray(parsed.k) && parsed.k.length === length) return parsed.k as (string | number)[];
  } catch {
    // fall through
  }
  throw badRequest('invalid_cursor', 'The cursor is not one this API returned.');
}

/** A folder's children at the snapshot: folders first, then files, each by name. */
export async function listItems(deps: AppDeps, ctx: RequestContext, snapshotId: string, q: { path?: string; limit?: number; cursor?: string }) {
  const run = await requireSnapshot(deps, ctx, snapshotId);
  const { sql } = deps;
  let folder = (q.path ?? '').trim();
  if (folder === '/') folder = '';
  if (folder !== '' && !folder.startsWith('/')) folder = '/' + folder;
  folder = folder.replace(/\/+$/, '').toLowerCase();
  const alive = () => sql`(v.valid_from_run <= ${run.id} and (v.valid_until_run is null or v.valid_until_run > ${run.id}))`;
  if (folder !== '') {
    const [f] = await sql`select kind from item_versions v where v.entity_id = ${run.entity_id} and v.parent_lower = ${folder.slice(0, folder.lastIndexOf('/'))}
      and v.path_lower = ${folder} and ${alive()}`;
    if (!f || f.kind !== 'folder') throw notFound('Folder', q.path);
  }
  const limit = q.limit ?? 25;
  const after = q.cursor ? decodeKey(q.cursor, 3) : undefined;
  const rows = await sql<(ItemRow & { rank: number; lname: string })[]>`
    select ${sql.unsafe(ITEM_COLUMNS)}, (v.kind <> 'folder')::int as rank, lower(v.name) as lname
    from item_versions v join backup_runs r on r.id = v.valid_from_run
    where v.entity_id = ${run.entity_id} and v.parent_lower = ${folder} and ${alive()}
      ${after ? sql`and ((v.kind <> 'folder')::int, lower(v.name), v.id) > (${Number(after[0])}, ${String(after[1])}, ${String(after[2])})` : sql``}
    order by (v.kind <> 'folder')::int, lower(v.name), v.id
    limit ${limit + 1}`;
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page[page.length - 1];
  return { data: page.map((r) => toItem(run.id, r)), next_cursor: more && last ? encodeKey([last.rank, last.lname, last.id]) : null };
}

export async function getItem(deps: AppDeps, ctx: RequestContext, snapshotId: string, itemId: string) {
  const run = await requireSnapshot(deps, ctx, snapshotId);
  const { sql } = deps;
  const [item] = await sql<ItemRow[]>`
    select ${sql.unsafe(ITEM_COLUMNS)} from item_versions v join backup_runs r on r.id = v.valid_from_run
    where v.id = ${itemId} and v.account_id = ${ctx.accountId} and v.entity_id = ${run.entity_id}
      and v.valid_from_run <= ${run.id} and (v.valid_until_run is null or v.valid_until_run > ${run.id})`;
  if (!item) throw notFound('Item', itemId);
  const parent = item.path_lower.slice(0, item.path_lower.lastIndexOf('/'));
  const versions = await sql<ItemRow[]>`
    select ${sql.unsafe(ITEM_COLUMNS)} from item_versions v join backup_runs r on r.id = v.valid_from_run
    where v.entity_id = ${run.entity_id} and v.parent_lower = ${parent} and v.path_lower = ${item.path_lower}
      and r.state in ${sql(COMPLETED)}
    order by v.valid_from_run desc limit 100`;
  return {
    ...toItem(run.id, item),
    versions: versions.map((v) => ({
      id: v.id,
      kind: v.kind,
      path: v.path_display,
      size_bytes: Number(v.size),
      content_hash: v.content_hash,
      rev: v.rev,
      server_modified: iso(v.server_modified),
      first_snapshot_id: v.valid_from_run,
      backed_up_at: iso(v.backed_up_at)!,
      replaced_by_snapshot_id: v.valid_until_run,
    })),
  };
}

/** Per-day figures for up to 31 days, plus the summary tiles. */
export async function entityHistory(deps: AppDeps, ctx: RequestContext, entityId: string, q: { from?: string; to?: string }) {
  await requireEntity(deps, ctx, entityId);
  const to = parseTime(q.to, '/query/to') ?? deps.clock.now();
  const from = parseTime(q.from, '/query/from') ?? new Date(to.getTime() - 30 * DAY);
  if (from.getTime() >= to.getTime()) throw invalidField('/query/from', 'must be before `to`');
  if (to.getTime() - from.getTime() > 31 * DAY) throw invalidField('/query/from', 'the period is at most 31 days');
  const { sql } = deps;
  // Completed runs give the day's figures; failed runs are counted beside them (their rows were
  // rolled back, so they add no items).
  const rows = await sql<{ day: string; items: number; deleted: number; failed: number; backups: number; failed_backups: number; bytes: number }[]>`
    select to_char(date_trunc('day', started_at at time zone 'UTC'), 'YYYY-MM-DD') as day,
      coalesce(sum(new_count + changed_count) filter (where state in ${sql(COMPLETED)}), 0)::int as items,
      coalesce(sum(deleted_count) filter (where state in ${sql(COMPLETED)}), 0)::int as deleted,
      coalesce(sum(failed_count) filter (where state in ${sql(COMPLETED)}), 0)::int as failed,
      (count(*) filter (where state in ${sql(COMPLETED)}))::int as backups,
      (count(*) filter (where state = 'failed'))::int as failed_backups,
      coalesce(sum(bytes_downloaded) filter (where state in ${sql(COMPLETED)}), 0)::float8 as bytes
    from backup_runs
    where entity_id = ${entityId} and account_id = ${ctx.accountId} and state in ${sql([...COMPLETED, 'failed'])}
      and started_at >= ${from.toISOString()} and started_at <= ${to.toISOString()}
    group by 1`;
  const byDay = new Map(rows.map((r) => [r.day, r]));
  const days = [];
  for (let d = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()); d < to.getTime(); d += DAY) {
    const key = new Date(d).toISOString().slice(0, 10);
    const r = byDay.get(key);
    days.push({
      date: key, items_backed_up: r?.items ?? 0, deleted: r?.deleted ?? 0, failed: r?.failed ?? 0, backups: r?.backups ?? 0,
      failed_backups: r?.failed_backups ?? 0, bytes_downloaded: Number(r?.bytes ?? 0),
    });
  }
  const [last] = await sql<{ state: 'succeeded' | 'partial' | 'failed'; started_at: string; total_items: number | null; total_size: number | null }[]>`
    select state, started_at, total_items, total_size::float8 as total_size from backup_runs
    where entity_id = ${entityId} and account_id = ${ctx.accountId} and state <> 'running' order by id desc limit 1`;
  const [lastDone] = await sql<{ started_at: string; total_items: number | null; total_size: number | null }[]>`
    select started_at, total_items, total_size::float8 as total_size from backup_runs
    where entity_id = ${entityId} and account_id = ${ctx.accountId} and state in ${sql(COMPLETED)} order by id desc limit 1`;
  return {
    entity_id: entityId,
    from: from.toISOString(),
    to: to.toISOString(),
    summary: {
      total_items: lastDone?.total_items ?? 0,
      size_bytes: Number(lastDone?.total_size ?? 0),
      last_backup_at: iso(last?.started_at),
      last_outcome: last?.state ?? null,
      snapshots: rows.reduce((n, r) => n + r.backups, 0),
      failed_backups: rows.reduce((n, r) => n + r.failed_backups, 0),
    },
    days,
  };
}
