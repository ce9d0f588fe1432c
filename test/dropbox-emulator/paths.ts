// Resolves a request path ("" | /a/b | id:… | ns:…/x | rev:…) to a namespace + path_lower, honouring
// Dropbox-API-Path-Root and the selected member's access.
import { ApiError, tag, type UnionValue } from './api-error.ts';
import type { CallContext } from './call-context.ts';
import type { Member, Namespace } from './state.ts';
import type { TreeEntry, FileRevision } from './namespace-tree.ts';

export interface Located {
  ns: Namespace;
  /** '' for the namespace root. */
  pathLower: string;
  /** Display form of the requested path (used for new entries' names). */
  pathDisplay: string;
}

/** Maps a LookupError/WriteError tag to the route's error response. */
export type PathErrorWrap = (err: UnionValue) => ApiError;

export function canAccess(ctx: CallContext, ns: Namespace): boolean {
  if (ctx.asAdmin) return true; // Select-Admin: whole-team read access (SPEC select_admin_mode whole_team)
  const m = ctx.actor;
  if (!m) return false;
  if (ns.id === m.homeNsId) return true;
  if (ns.type === 'team_folder') return ctx.core.state.teamFolders.some((f) => f.id === ns.id && f.status === 'active');
  if (ns.type === 'shared_folder') return ctx.core.state.hasMounted(m, ns.id);
  if (ns.id === ctx.core.state.teamRootNsId) return !m.personal;
  return false;
}

/** A member's RootInfo: `team` (the team space's root, their folder's path in it) or `user` (their home). */
export function memberRootInfo(state: CallContext['core']['state'], m: Member): { '.tag': 'team' | 'user'; root_namespace_id: string; home_namespace_id: string; home_path?: string } {
  if (state.teamRootNsId && !m.personal) {
    return { '.tag': 'team', root_namespace_id: state.teamRootNsId, home_namespace_id: m.homeNsId, home_path: `/${m.givenName} ${m.surname}` };
  }
  return { '.tag': 'user', root_namespace_id: m.homeNsId, home_namespace_id: m.homeNsId };
}

/** The namespace that "" and "/x" paths refer to. */
export function baseNamespace(ctx: CallContext): Namespace {
  const state = ctx.core.state;
  const actor = ctx.actor;
  if (!actor) throw new Error('baseNamespace needs a selected member');
  const raw = ctx.req.headers['dropbox-api-path-root'];
  if (typeof raw !== 'string' || raw === '') return state.namespace(actor.homeNsId);
  let pr: { '.tag'?: string; root?: string; namespace_id?: string };
  try {
    pr = JSON.parse(raw);
  } catch {
    throw new ApiError(400, `Error in call to API function "${ctx.route}": Invalid value for HTTP header "Dropbox-API-Path-Root": could not decode JSON`);
  }
  const rootInfo = memberRootInfo(state, actor);
  const noPermission = () => new ApiError(422, { error_summary: 'no_permission/', error: tag('no_permission') });
  switch (pr['.tag']) {
    case 'home':
      return state.namespace(actor.homeNsId);
    case 'root':
      if (pr.root !== rootInfo.root_namespace_id) throw new ApiError(422, { error_summary: 'invalid_root/', error: { '.tag': 'invalid_root', invalid_root: rootInfo } });
      return state.namespace(rootInfo.root_namespace_id);
    case 'namespace_id': {
      const ns = state.namespaces.get(String(pr.namespace_id));
      if (!ns || !canAccess(ctx, ns)) throw noPermission();
      return ns;
    }
    default:
      throw new ApiError(400, `Error in call to API function "${ctx.route}": Invalid value for HTTP header "Dropbox-API-Path-Root": unknown tag`);
  }
}

const ILLEGAL = /(^|\/)\.{1,2}(\/|$)|\/\/|[\u0000-\u001f]/;

function checkRelative(p: string): boolean {
  return p === '' || (p.startsWith('/') && !p.endsWith('/') && !ILLEGAL.test(p) && p.trimEnd() === p);
}

/**
 * Resolve a path argument. Errors come back through `wrap` with LookupError tags (malformed_path / not_found);
 * `rev:` paths are only valid for reads and are returned via `revision`.
 */
export function resolvePath(ctx: CallContext, rawPath: unknown, wrap: PathErrorWrap): Located & { revision?: { entry: TreeEntry; revision: FileRevision } } {
  const state = ctx.core.state;
  if (typeof rawPath !== 'string') throw new ApiError(400, `Error in call to API function "${ctx.route}": request body: path: expected string`);
  const p = rawPath;
  if (p.startsWith('rev:')) {
    const hit = state.indexes.byRev.get(p.slice(4));
    const ns = hit ? state.namespaces.get(hit.entry.nsId) : undefined;
    if (!hit || !ns || !canAccess(ctx, ns)) throw wrap(tag('not_found'));
    return { ns, pathLower: hit.entry.pathLower, pathDisplay: hit.entry.pathDisplay, revision: hit };
  }
  if (p.startsWith('id:')) {
    const slash = p.indexOf('/');
    const id = slash < 0 ? p : p.slice(0, slash);
    const rest = slash < 0 ? '' : p.slice(slash);
    if (!checkRelative(rest)) throw wrap(tag('malformed_path'));
    const entry = state.indexes.byId.get(id);
    const ns = entry ? state.namespaces.get(entry.nsId) : undefined;
    if (!entry || !ns || !canAccess(ctx, ns)) throw wrap(tag('not_found'));
    return { ns, pathLower: entry.pathLower + rest.toLowerCase(), pathDisplay: entry.pathDisplay + rest };
  }
  if (p.startsWith('ns:')) {
    const m = /^ns:([^/]+)(\/.*)?$/.exec(p);
    const rest = m?.[2] ?? '';
    if (!m || !checkRelative(rest)) throw wrap(tag('malformed_path'));
    const ns = state.namespaces.get(m[1]!);
    if (!ns || !canAccess(ctx, ns)) throw wrap(tag('not_found'));
    return { ns, pathLower: rest.toLowerCase(), pathDisplay: rest };
  }
  if (!checkRelative(p)) throw wrap(tag('malformed_path'));
  return { ns: baseNamespace(ctx), pathLower: p.toLowerCase(), pathDisplay: p };
}
