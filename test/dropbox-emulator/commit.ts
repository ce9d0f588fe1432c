// CommitInfo / WriteMode semantics (SPEC files.stone WriteMode), shared by upload, finish and finish_batch_v2.
import { tag, nest, type UnionValue } from './api-error.ts';
import type { CallContext } from './call-context.ts';
import { fileMetadata } from './metadata.ts';
import { TreeConflict, lastSegment, parentOf } from './namespace-tree.ts';
import { resolvePath } from './paths.ts';
import { latestRevision, type Namespace } from './state.ts';
import { dropboxContentHash } from './content-hash.ts';

export type CommitOutcome = { ok: Record<string, unknown> } | { error: UnionValue /* WriteError */ };

class WriteFailure extends Error {
  readonly value: UnionValue;
  constructor(value: UnionValue) {
    super(value['.tag']);
    this.value = value;
  }
}

const conflict = (kind: 'file' | 'folder' | 'file_ancestor') => nest('conflict', tag(kind));

/** Mode argument: "add" | {".tag":"add"} | {".tag":"update","update":rev}. */
function parseMode(raw: unknown): { kind: 'add' | 'overwrite' | 'update'; rev?: string } | undefined {
  if (raw === undefined) return { kind: 'add' };
  if (raw === 'add' || raw === 'overwrite') return { kind: raw };
  if (typeof raw === 'object' && raw !== null) {
    const t = (raw as Record<string, unknown>)['.tag'];
    if (t === 'add' || t === 'overwrite') return { kind: t };
    const rev = (raw as Record<string, unknown>).update;
    if (t === 'update' && typeof rev === 'string') return { kind: 'update', rev };
  }
  return undefined;
}

/** Validates CommitInfo.mode up front so malformed input is a 400 before any data is consumed. */
export function modeIsValid(raw: unknown): boolean {
  return parseMode(raw) !== undefined;
}

function withSuffix(displayPath: string, suffix: string): string {
  const name = lastSegment(displayPath);
  const dir = displayPath.slice(0, displayPath.length - name.length);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? `${dir}${name.slice(0, dot)}${suffix}${name.slice(dot)}` : `${dir}${name}${suffix}`;
}

function writeAt(ctx: CallContext, ns: Namespace, displayPath: string, bytes: Buffer, hash: string, clientModified: string | undefined) {
  const modifiedBy = ns.type === 'team_member_folder' ? undefined : ctx.actor?.accountId;
  try {
    return ns.tree.writeFile(displayPath, bytes, { clientModified, modifiedBy }, hash).entry;
  } catch (e) {
    if (e instanceof TreeConflict) throw new WriteFailure(conflict(e.conflict));
    throw e;
  }
}

/** First free "name (N).ext" (N from 1); the SPEC's example text uses "(2)", Dropbox in practice starts at 1 [GUESS]. */
function autorenamed(ns: Namespace, displayPath: string, style: 'number' | 'conflicted'): string {
  if (style === 'conflicted') {
    const candidate = withSuffix(displayPath, ' (conflicted copy)');
    if (!ns.tree.get(candidate.toLowerCase())) return candidate;
  }
  for (let n = 1; ; n++) {
    const candidate = withSuffix(displayPath, style === 'conflicted' ? ` (conflicted copy ${n})` : ` (${n})`);
    if (!ns.tree.get(candidate.toLowerCase())) return candidate;
  }
}

export function commitFile(ctx: CallContext, commit: Record<string, unknown>, bytes: Buffer, precomputedHash?: string): CommitOutcome {
  try {
    const loc = resolvePath(ctx, commit.path, (e) => { throw new WriteFailure(e['.tag'] === 'not_found' ? tag('no_write_permission') : e); });
    if (loc.revision || loc.pathLower === '') throw new WriteFailure(tag('malformed_path'));
    const mode = parseMode(commit.mode)!;
    const autorename = commit.autorename === true;
    const strict = commit.strict_conflict === true;
    const clientModified = typeof commit.client_modified === 'string' ? commit.client_modified : undefined;
    const hash = precomputedHash ?? dropboxContentHash(bytes);
    const tree = loc.ns.tree;
    // Case is preserved for existing ancestors: rebuild the display path from the existing parent.
    const parent = tree.get(parentOf(loc.pathLower));
    const display = (parent ? parent.pathDisplay : loc.pathDisplay.slice(0, loc.pathDisplay.lastIndexOf('/'))) + '/' + lastSegment(loc.pathDisplay);
    const target = tree.get(loc.pathLower);

    const renameOr = (err: UnionValue, style: 'number' | 'conflicted') => {
      if (!autorename) throw new WriteFailure(err);
      return writeAt(ctx, loc.ns, autorenamed(loc.ns, display, style), bytes, hash, clientModified);
    };

    let written;
    if (target?.kind === 'folder') written = renameOr(conflict('folder'), 'number');
    else if (target) {
      const same = latestRevision(target).contentHash === hash;
      if (same && !(strict && mode.kind !== 'overwrite')) written = target; // identical contents: nothing written, no conflict
      else if (mode.kind === 'add') written = renameOr(conflict('file'), 'number');
      else if (mode.kind === 'update' && latestRevision(target).rev !== mode.rev) written = renameOr(conflict('file'), 'conflicted');
      else written = writeAt(ctx, loc.ns, target.pathDisplay, bytes, hash, clientModified);
    } else if (mode.kind === 'update' && strict) written = renameOr(conflict('file'), 'conflicted');
    else written = writeAt(ctx, loc.ns, display, bytes, hash, clientModified);
    return { ok: fileMetadata(loc.ns, written, latestRevision(written), false) };
  } catch (e) {
    if (e instanceof WriteFailure) return { error: e.value };
    throw e;
  }
}
