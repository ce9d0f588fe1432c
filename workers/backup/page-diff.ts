// A listing page against the live versions at its paths, in listing order (the processing rules of
// docs/dropbox.md §3.1: a deletion closes the path and everything under it, a file replaces a
// folder and its children, and the reverse): which versions to close, which to insert, which live
// versions the page saw unchanged, and which files failed. No I/O: page-commit.ts writes the result.
import type { RunError } from '../../db/schema/snapshots.ts';
import type { Column } from '../../db/bulk-insert.ts';
import { newId } from '../../db/ids.ts';
import type { ListEntry } from '../dropbox/files.ts';
import { blockHashes, contentHashFromBlockHashes } from '../storage/index.ts';
import { contentKey, exportFormat, unchanged, type AliveRow, type Content, type FileEntry } from './entries.ts';

/** The rows a version belongs to: the account, the entity and the run that writes it. */
export interface VersionOwner {
  accountId: string;
  entityId: string;
  runId: string;
}

export interface PageDiff {
  /** Paths whose live file version closes (only the path). */
  exactCloses: Set<string>;
  /** Paths whose live folder version closes with everything under it. */
  subtreeCloses: Set<string>;
  /** New versions by path (item_versions rows). */
  inserts: Map<string, Record<string, unknown>>;
  /** Live versions the page listed unchanged (a full run closes the ones it never saw). */
  seen: string[];
  errors: RunError[];
  nNew: number;
  nChanged: number;
  nUnchanged: number;
  nFailed: number;
  /** Closes that a new version at the same path replaces (not deletions). */
  replaced: number;
}

/** Diffs a page; `alive` (the live versions by path) is consumed. */
export function diffPage(
  owner: VersionOwner,
  entries: ListEntry[],
  alive: Map<string, AliveRow>,
  contentByHash: Map<string, Content>,
  failures: Map<string, string>,
): PageDiff {
  const d: PageDiff = {
    exactCloses: new Set(), subtreeCloses: new Set(), inserts: new Map(), seen: [], errors: [],
    nNew: 0, nChanged: 0, nUnchanged: 0, nFailed: 0, replaced: 0,
  };
  const { inserts } = d;
  const dropUnder = (p: string) => {
    for (const k of [...alive.keys()]) if (k === p || k.startsWith(p + '/')) alive.delete(k);
    for (const k of [...inserts.keys()]) if (k === p || k.startsWith(p + '/')) inserts.delete(k);
  };
  const close = (p: string, cur: AliveRow | undefined) => {
    if (cur?.kind === 'folder') d.subtreeCloses.add(p);
    else if (cur) d.exactCloses.add(p);
    dropUnder(p);
  };
  for (const e of entries) {
    const p = e.path_lower;
    if (!p) continue;
    const cur = alive.get(p);
    if (e['.tag'] === 'deleted') {
      const pending = inserts.get(p);
      close(p, cur ?? (pending ? ({ kind: pending.kind } as AliveRow) : undefined));
      continue;
    }
    if (e['.tag'] === 'folder') {
      if (inserts.get(p)?.kind === 'folder') continue;
      if (cur?.kind === 'folder') {
        d.seen.push(cur.id);
        d.nUnchanged++;
        continue;
      }
      if (cur) {
        close(p, cur);
        d.replaced++;
      } else if (inserts.has(p)) dropUnder(p);
      inserts.set(p, versionRow(owner, e, null));
      d.nNew++;
      continue;
    }
    // file
    if (cur && unchanged(cur, e) && !inserts.has(p)) {
      d.seen.push(cur.id);
      d.nUnchanged++;
      continue;
    }
    const content = contentByHash.get(contentKey(e));
    if (!content) {
      const error = failures.get(contentKey(e)) ?? 'content not available';
      d.errors.push({ path: e.path_display ?? p, error, entry: e as unknown as Record<string, unknown> });
      d.nFailed++;
      // Keep what we had at this path (its old version stays in the snapshot); mark it seen.
      if (cur) d.seen.push(cur.id);
      continue;
    }
    if (cur) {
      close(p, cur);
      d.replaced++;
      if (cur.kind === 'file') d.nChanged++;
      else d.nNew++;
    } else {
      if (inserts.has(p)) dropUnder(p);
      d.nNew++;
    }
    inserts.set(p, versionRow(owner, e, content));
  }
  return d;
}

/** The columns versionRow fills. */
export const ITEM_VERSION_COLUMNS: Column[] = [
  ...['id', 'account_id', 'entity_id', 'path_lower', 'path_display', 'parent_lower', 'name', 'kind', 'dropbox_id', 'rev'].map((name) => ({ name, type: 'text' as const })),
  { name: 'size', type: 'bigint' },
  { name: 'content_hash', type: 'text' },
  { name: 'export_as', type: 'text' },
  { name: 'server_modified', type: 'timestamptz' },
  { name: 'client_modified', type: 'timestamptz' },
  { name: 'modified_by', type: 'text' },
  { name: 'blocks', type: 'bytea' },
  ...['valid_from_run', 'valid_until_run', 'seen_run'].map((name) => ({ name, type: 'text' as const })),
];

/** The item_versions row of a listing entry (raw column names, for insertRows). */
function versionRow(owner: VersionOwner, e: ListEntry, content: Content | null): Record<string, unknown> {
  const p = e.path_lower!;
  const slash = p.lastIndexOf('/');
  const file = e['.tag'] === 'file' ? (e as FileEntry) : undefined;
  const blocks = content?.blocks ?? null;
  // An exported document is stored as its export: size and hash of those bytes, and the format.
  const exported = file?.is_downloadable === false && content !== null;
  return {
    id: newId('item'),
    account_id: owner.accountId,
    entity_id: owner.entityId,
    path_lower: p,
    path_display: e.path_display ?? p,
    parent_lower: slash <= 0 ? '' : p.slice(0, slash),
    name: e.name,
    kind: file ? 'file' : 'folder',
    dropbox_id: (e as { id?: string }).id ?? null,
    rev: file?.rev ?? null,
    size: exported ? content.size : (file?.size ?? 0),
    content_hash: exported ? contentHashFromBlockHashes(blockHashes(content.blocks)) : (file?.content_hash ?? null),
    export_as: exported ? exportFormat(file) : null,
    server_modified: file ? file.server_modified : null,
    client_modified: file ? file.client_modified : null,
    modified_by: file?.sharing_info?.modified_by ?? null,
    blocks,
    valid_from_run: owner.runId,
    valid_until_run: null,
    seen_run: owner.runId,
  };
}
