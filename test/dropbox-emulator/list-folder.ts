// files/list_folder, /continue, /get_latest_cursor, /longpoll.
// A cursor is an opaque base64url JSON {ns, path, options, pos (journal index), snap, epoch}:
// records up to `snap` form the initial listing (deleted paths skipped unless include_deleted);
// later records are changes and deletions are always reported. With include_mounted_folders (the
// default), namespaces mounted in the listed one (a team folder in a member's home) are listed too,
// after its own entries, under their mount point; the cursor keeps a position per mounted namespace.
import { ApiError, nest, routeError, tag } from './api-error.ts';
import type { CallContext, RouteSpec } from './call-context.ts';
import { entryMetadata, deletedMetadata } from './metadata.ts';
import { isUnder, parentOf } from './namespace-tree.ts';
import { resolvePath } from './paths.ts';
import type { Namespace } from './state.ts';

interface CursorData {
  ns: string;
  path: string;
  recursive: boolean;
  includeDeleted: boolean;
  limit: number;
  pos: number;
  snap: number;
  epoch: number;
  /** include_mounted_folders (default true). */
  mounted?: boolean;
  /** Per mounted namespace id: [journal position, snapshot seq]. */
  mounts?: Record<string, [number, number]>;
}

/** One journal to walk: the listed namespace itself (prefix '') or one mounted in it. */
interface Stream {
  ns: Namespace;
  prefixLower: string;
  prefixDisplay: string;
  pos: number;
  snap: number;
}

export function encodeCursor(c: CursorData): string {
  return 'AAE' + Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(ctx: CallContext, raw: unknown): { c: CursorData; ns: Namespace } {
  let c: CursorData | undefined;
  try {
    if (typeof raw === 'string' && raw.startsWith('AAE')) c = JSON.parse(Buffer.from(raw.slice(3), 'base64url').toString('utf8')) as CursorData;
  } catch { /* fall through */ }
  const ns = c ? ctx.core.state.namespaces.get(c.ns) : undefined;
  if (!c || !ns) throw new ApiError(400, `Error in call to API function "${ctx.route}": Invalid "cursor" parameter: cursor is not valid`);
  if (c.epoch !== ns.tree.cursorEpoch) throw routeError(tag('reset'));
  return { c, ns };
}

function inScope(c: CursorData, pathLower: string): boolean {
  if (c.recursive) return isUnder(pathLower, c.path) && pathLower !== '';
  return pathLower !== c.path && parentOf(pathLower) === c.path;
}

/** The listed namespace, then (with include_mounted_folders) each namespace mounted in it at a folder that still exists. */
function streams(ctx: CallContext, ns: Namespace, c: CursorData): Stream[] {
  const out: Stream[] = [{ ns, prefixLower: '', prefixDisplay: '', pos: c.pos, snap: c.snap }];
  if (c.mounted === false) return out;
  for (const [mountLower, id] of ns.mounts) {
    const point = ns.tree.get(mountLower);
    const mounted = ctx.core.state.namespaces.get(id);
    if (!point || point.kind !== 'folder' || !mounted) continue;
    // A mount first seen by this cursor: everything in it so far is its initial listing.
    const [pos, snap] = c.mounts?.[id] ?? [0, mounted.tree.seq];
    out.push({ ns: mounted, prefixLower: mountLower, prefixDisplay: point.pathDisplay, pos, snap });
  }
  return out;
}

/** Whether journal record i of a stream would produce an entry for this cursor. */
function emits(s: Stream, c: CursorData, i: number): boolean {
  const tree = s.ns.tree;
  const rec = tree.journal[i]!;
  if (s.prefixLower !== '' && rec.pathLower === '') return false; // the mount point is the listed namespace's own entry
  if (tree.lastSeqByPath.get(rec.pathLower) !== rec.seq || !inScope(c, s.prefixLower + rec.pathLower)) return false;
  return tree.entries.has(rec.pathLower) || rec.seq > s.snap || c.includeDeleted;
}

function metadataAt(s: Stream, p: string): Record<string, unknown> {
  const entry = s.ns.tree.entries.get(p);
  const meta = entry ? entryMetadata(s.ns, entry) : deletedMetadata(s.ns, p);
  if (s.prefixLower === '') return meta;
  return { ...meta, path_lower: s.prefixLower + String(meta.path_lower), path_display: s.prefixDisplay + String(meta.path_display) };
}

function page(ctx: CallContext, ns: Namespace, c: CursorData): { entries: unknown[]; cursor: string; has_more: boolean } {
  const all = streams(ctx, ns, c);
  const entries: unknown[] = [];
  for (const s of all) {
    const journal = s.ns.tree.journal;
    for (; s.pos < journal.length && entries.length < c.limit; s.pos++) {
      if (emits(s, c, s.pos)) entries.push(metadataAt(s, journal[s.pos]!.pathLower));
    }
  }
  // Look ahead so has_more is only true when another entry really follows.
  let more = false;
  for (const s of all) {
    for (let j = s.pos; j < s.ns.tree.journal.length && !more; j++) if (emits(s, c, j)) more = true;
  }
  const [home, ...mounted] = all;
  const next: CursorData = { ...c, pos: home!.pos };
  if (mounted.length) next.mounts = Object.fromEntries(mounted.map((s) => [s.ns.id, [s.pos, s.snap]]));
  return { entries, cursor: encodeCursor(next), has_more: more };
}

function cursorFromArgs(ctx: CallContext, atEnd: boolean): { c: CursorData; ns: Namespace } {
  const a = ctx.arg ?? {};
  const limit = a.limit === undefined ? 2000 : Number(a.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 2000) throw new ApiError(400, `Error in call to API function "${ctx.route}": request body: limit: ${a.limit} is not within range [1, 2000]`);
  const wrap = (e: ReturnType<typeof tag>) => routeError(nest('path', e));
  const loc = resolvePath(ctx, a.path, wrap);
  if (loc.revision) throw wrap(tag('malformed_path'));
  if (loc.pathLower !== '') {
    const target = loc.ns.tree.get(loc.pathLower);
    if (!target) throw wrap(tag('not_found'));
    if (target.kind !== 'folder') throw wrap(tag('not_folder'));
  }
  const seq = loc.ns.tree.seq;
  const c: CursorData = {
    ns: loc.ns.id, path: loc.pathLower, recursive: a.recursive === true, includeDeleted: a.include_deleted === true,
    limit, pos: atEnd ? seq : 0, snap: seq, epoch: loc.ns.tree.cursorEpoch, mounted: a.include_mounted_folders !== false,
  };
  if (atEnd && c.mounted) {
    c.mounts = Object.fromEntries(streams(ctx, loc.ns, c).slice(1).map((s) => [s.ns.id, [s.ns.tree.seq, s.ns.tree.seq]]));
  }
  return { c, ns: loc.ns };
}

function hasChanges(ctx: CallContext, ns: Namespace, c: CursorData): boolean {
  for (const s of streams(ctx, ns, c)) {
    for (let i = s.pos; i < s.ns.tree.journal.length; i++) if (inScope(c, s.prefixLower + s.ns.tree.journal[i]!.pathLower)) return true;
  }
  return false;
}

async function longpoll(ctx: CallContext): Promise<unknown> {
  const { c, ns } = decodeCursor(ctx, ctx.arg?.cursor);
  const timeout = ctx.arg?.timeout ?? 30;
  if (!Number.isInteger(timeout) || timeout < 30 || timeout > 480) throw new ApiError(400, `Error in call to API function "${ctx.route}": request body: timeout: ${timeout} is not within range [30, 480]`);
  if (hasChanges(ctx, ns, c)) return { changes: true };
  const waitMs = Math.min(timeout * 1000, ctx.core.state.limits.longpollMaxMs);
  const changed = await new Promise<boolean>((resolve) => {
    const done = (v: boolean) => { clearTimeout(timer); unsubscribe(); ctx.core.pendingLongpolls.delete(abort); resolve(v); };
    const abort = () => done(false);
    const timer = setTimeout(() => done(false), waitMs);
    // Only the newly appended record needs checking: everything before it was already found change-free.
    const unsubscribe = ns.tree.onChange(() => {
      const last = ns.tree.journal[ns.tree.journal.length - 1];
      if (last && inScope(c, last.pathLower)) done(true);
    });
    ctx.core.pendingLongpolls.add(abort);
  });
  return { changes: changed };
}

export const listFolderRoutes: Record<string, RouteSpec> = {
  'files/list_folder': { style: 'rpc', auth: 'user', handler: (ctx) => { const { c, ns } = cursorFromArgs(ctx, false); return page(ctx, ns, c); } },
  'files/list_folder/continue': { style: 'rpc', auth: 'user', handler: (ctx) => { const { c, ns } = decodeCursor(ctx, ctx.arg?.cursor); return page(ctx, ns, c); } },
  'files/list_folder/get_latest_cursor': { style: 'rpc', auth: 'user', handler: (ctx) => ({ cursor: encodeCursor(cursorFromArgs(ctx, true).c) }) },
  'files/list_folder/longpoll': { style: 'rpc', auth: 'noauth', handler: longpoll },
};
