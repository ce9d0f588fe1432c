// files/delete_v2, files/move_v2, files/restore: server-side changes Coffer's restore path may use.
import { ApiError, nest, routeError, tag } from './api-error.ts';
import type { CallContext, RouteSpec } from './call-context.ts';
import { entryMetadata, fileMetadata, folderMetadata } from './metadata.ts';
import { TreeConflict, isUnder } from './namespace-tree.ts';
import { resolvePath } from './paths.ts';
import { latestRevision } from './state.ts';

function requireString(ctx: CallContext, v: unknown, field: string): string {
  if (typeof v !== 'string') throw new ApiError(400, `Error in call to API function "${ctx.route}": request body: ${field}: missing required field`);
  return v;
}

function deleteV2(ctx: CallContext): unknown {
  const wrap = (e: ReturnType<typeof tag>) => routeError(nest('path_lookup', e));
  const loc = resolvePath(ctx, requireString(ctx, ctx.arg?.path, 'path'), wrap);
  if (loc.revision || loc.pathLower === '') throw wrap(tag('malformed_path'));
  const entry = loc.ns.tree.get(loc.pathLower);
  if (!entry) throw wrap(tag('not_found'));
  if (typeof ctx.arg.parent_rev === 'string' && entry.kind === 'file' && latestRevision(entry).rev !== ctx.arg.parent_rev) {
    throw routeError(nest('path_write', nest('conflict', tag('file'))));
  }
  const meta = entryMetadata(loc.ns, entry);
  loc.ns.tree.remove(loc.pathLower);
  return { metadata: meta };
}

function moveV2(ctx: CallContext): unknown {
  const from = resolvePath(ctx, requireString(ctx, ctx.arg?.from_path, 'from_path'), (e) => routeError(nest('from_lookup', e)));
  const to = resolvePath(ctx, requireString(ctx, ctx.arg?.to_path, 'to_path'), (e) => routeError(nest('to', e['.tag'] === 'not_found' ? tag('no_write_permission') : e)));
  if (from.revision || from.pathLower === '') throw routeError(nest('from_lookup', tag('malformed_path')));
  if (to.revision || to.pathLower === '') throw routeError(nest('to', tag('malformed_path')));
  if (from.ns !== to.ns) throw routeError(tag('internal_error')); // cross-namespace moves are not modelled
  if (!from.ns.tree.get(from.pathLower)) throw routeError(nest('from_lookup', tag('not_found')));
  if (to.pathLower !== from.pathLower && isUnder(to.pathLower, from.pathLower)) throw routeError(tag('cant_move_folder_into_itself'));
  let target = to.pathDisplay;
  if (from.ns.tree.get(to.pathLower) && ctx.arg.autorename === true) {
    let n = 1;
    while (from.ns.tree.get(`${to.pathLower} (${n})`)) n++;
    target = `${to.pathDisplay} (${n})`;
  }
  try {
    const moved = from.ns.tree.move(from.pathLower, target);
    return { metadata: moved.kind === 'file' ? fileMetadata(from.ns, moved) : folderMetadata(from.ns, moved) };
  } catch (e) {
    if (e instanceof TreeConflict) throw routeError(nest('to', nest('conflict', tag(e.conflict))));
    throw e;
  }
}

function restore(ctx: CallContext): unknown {
  const path = requireString(ctx, ctx.arg?.path, 'path');
  const rev = requireString(ctx, ctx.arg?.rev, 'rev');
  const loc = resolvePath(ctx, path, (e) => routeError(nest('path_lookup', e)));
  const hit = ctx.core.state.indexes.byRev.get(rev);
  if (!hit || hit.entry.nsId !== loc.ns.id) throw routeError(tag('invalid_revision'));
  const modifiedBy = loc.ns.type === 'team_member_folder' ? undefined : ctx.actor?.accountId;
  const live = loc.ns.tree.get(loc.pathLower);
  const display = live ? live.pathDisplay : loc.pathDisplay;
  try {
    const { entry } = loc.ns.tree.writeFile(display, hit.revision.bytes, { clientModified: hit.revision.clientModified, modifiedBy }, hit.revision.contentHash);
    return fileMetadata(loc.ns, entry, latestRevision(entry), false);
  } catch (e) {
    if (e instanceof TreeConflict) throw routeError(nest('path_write', nest('conflict', tag(e.conflict))));
    throw e;
  }
}

export const mutationRoutes: Record<string, RouteSpec> = {
  'files/delete_v2': { style: 'rpc', auth: 'user', handler: deleteV2 },
  'files/move_v2': { style: 'rpc', auth: 'user', handler: moveV2 },
  'files/restore': { style: 'rpc', auth: 'user', handler: restore },
};
