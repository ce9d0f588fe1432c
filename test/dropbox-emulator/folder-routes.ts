// files/create_folder_v2.
import { ApiError, nest, routeError, tag } from './api-error.ts';
import type { CallContext, RouteSpec } from './call-context.ts';
import { folderMetadata } from './metadata.ts';
import { TreeConflict } from './namespace-tree.ts';
import { resolvePath } from './paths.ts';

function createFolder(ctx: CallContext): unknown {
  const a = ctx.arg ?? {};
  if (typeof a.path !== 'string') throw new ApiError(400, `Error in call to API function "${ctx.route}": request body: path: missing required field`);
  const wrap = (e: ReturnType<typeof tag>) => routeError(nest('path', e['.tag'] === 'not_found' ? tag('no_write_permission') : e));
  const loc = resolvePath(ctx, a.path, wrap);
  if (loc.revision || loc.pathLower === '') throw wrap(tag('malformed_path'));
  const tree = loc.ns.tree;
  let path = loc.pathDisplay;
  if (tree.get(loc.pathLower) && a.autorename === true) {
    let n = 1;
    while (tree.get(`${loc.pathLower} (${n})`)) n++;
    path = `${loc.pathDisplay} (${n})`;
  }
  try {
    const entry = tree.mkdir(path);
    return { metadata: folderMetadata(loc.ns, entry, false) };
  } catch (e) {
    if (e instanceof TreeConflict) throw routeError(nest('path', nest('conflict', tag(e.conflict))));
    throw e;
  }
}

export const folderRoutes: Record<string, RouteSpec> = {
  'files/create_folder_v2': { style: 'rpc', auth: 'user', handler: createFolder },
};
