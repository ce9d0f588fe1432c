// files/list_folder, /continue, /get_latest_cursor, /longpoll.
// A cursor is an opaque base64url JSON {ns, path, options, pos (journal index), snap, epoch}:
// records up to `snap` form the initial listing (deleted paths skipped unless include_deleted);
// later records are changes and deletions are always reported.
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

/** Whether journal record i would produce an entry for this cursor. */
function emits(ns: Namespace, c: CursorData, i: number): boolean {
  const rec = ns.tree.journal[i]!;
  if (ns.tree.lastSeqByPath.get(rec.pathLower) !== rec.seq || !inScope(c, rec.pathLower)) return false;
  return ns.tree.entries.has(rec.pathLower) || rec.seq > c.snap || c.includeDeleted;
}

function page(ns: Namespace, c: CursorData): { entries: unknown[]; cursor: string; has_more: boolean } {
  const journal = ns.tree.journal;
  const entries: unknown[] = [];
  let i = c.pos;
  for (; i < journal.length && entries.length < c.limit; i++) {
    if (!emits(ns, c, i)) continue;
    const p = journal[i]!.pathLower;
    const entry = ns.tree.entries.get(p);
    entries.push(entry ? entryMetadata(ns, entry) : deletedMetadata(ns, p));
  }
  // Look ahead so has_more is only true when another entry really follows.
  let more = false;
  for (let j = i; j < journal.length; j++) if (emits(ns, c, j)) { more = true; break; }
  return { entries, cursor: encodeCursor({ ...c, pos: more ? i : journal.length }), has_more: more };
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
    limit, pos: atEnd ? seq : 0, snap: seq, epoch: loc.ns.tree.cursorEpoch,
  };
  return { c, ns: loc.ns };
}

function hasChanges(ns: Namespace, c: CursorData): boolean {
  for (let i = c.pos; i < ns.tree.journal.length; i++) if (inScope(c, ns.tree.journal[i]!.pathLower)) return true;
  return false;
}

async function longpoll(ctx: CallContext): Promise<unknown> {
  const { c, ns } = decodeCursor(ctx, ctx.arg?.cursor);
  const timeout = ctx.arg?.timeout ?? 30;
  if (!Number.isInteger(timeout) || timeout < 30 || timeout > 480) throw new ApiError(400, `Error in call to API function "${ctx.route}": request body: timeout: ${timeout} is not within range [30, 480]`);
  if (hasChanges(ns, c)) return { changes: true };
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
  'files/list_folder': { style: 'rpc', auth: 'user', handler: (ctx) => { const { c, ns } = cursorFromArgs(ctx, false); return page(ns, c); } },
  'files/list_folder/continue': { style: 'rpc', auth: 'user', handler: (ctx) => { const { c, ns } = decodeCursor(ctx, ctx.arg?.cursor); return page(ns, c); } },
  'files/list_folder/get_latest_cursor': { style: 'rpc', auth: 'user', handler: (ctx) => ({ cursor: encodeCursor(cursorFromArgs(ctx, true).c) }) },
  'files/list_folder/longpoll': { style: 'rpc', auth: 'noauth', handler: longpoll },
};
