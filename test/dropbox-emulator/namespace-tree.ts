// One namespace's file tree: entries keyed by path_lower plus an append-only change journal.
// Cursors are journal positions; a path's *latest* journal record is the one that gets reported,
// so listing = walking the journal and emitting records that are still the newest for their path.
import { dropboxContentHash } from './content-hash.ts';
import { dropboxTimestamp, type IdSource } from './ids.ts';

export interface FileRevision {
  rev: string;
  size: number;
  contentHash: string;
  serverModified: string;
  clientModified: string;
  bytes: Buffer;
  modifiedBy?: string;
  /** A file Dropbox cannot download as is (Paper, Google Docs): only files/export, in this format. */
  exportAs?: string;
  /** What files/export returns for it. */
  exportBytes?: Buffer;
}

export interface TreeEntry {
  kind: 'file' | 'folder';
  id: string;
  nsId: string;
  name: string;
  pathLower: string;
  pathDisplay: string;
  /** Oldest first; empty for folders. */
  revisions: FileRevision[];
}

export interface JournalRecord {
  seq: number;
  pathLower: string;
}

/** Shared indexes across all namespaces, so `id:` and `rev:` lookups are O(1). */
export interface TreeIndexes {
  ids: IdSource;
  clock: () => number;
  byId: Map<string, TreeEntry>;
  byRev: Map<string, { entry: TreeEntry; revision: FileRevision }>;
}

export interface WriteOptions {
  clientModified?: string;
  modifiedBy?: string;
  /** Make it a non-downloadable file (is_downloadable: false) that exports as `exportAs` with these bytes. */
  exportAs?: string;
  exportBytes?: Buffer;
}

export class TreeConflict extends Error {
  readonly conflict: 'file' | 'folder' | 'file_ancestor';
  constructor(conflict: 'file' | 'folder' | 'file_ancestor', path: string) {
    super(`conflict (${conflict}) at ${path}`);
    this.conflict = conflict;
  }
}

export class TreeNotFound extends Error {}

export function parentOf(pathLower: string): string {
  const i = pathLower.lastIndexOf('/');
  return i <= 0 ? '' : pathLower.slice(0, i);
}

export function isUnder(pathLower: string, folderLower: string): boolean {
  return folderLower === '' || pathLower === folderLower || pathLower.startsWith(folderLower + '/');
}

export class NamespaceTree {
  readonly nsId: string;
  readonly entries = new Map<string, TreeEntry>();
  readonly journal: JournalRecord[] = [];
  readonly lastSeqByPath = new Map<string, number>();
  /** Files that were deleted, kept for list_revisions / include_deleted. */
  readonly deletedFiles = new Map<string, { entry: TreeEntry; deletedAt: string }>();
  /** Display path of removed/moved-away paths, for `deleted` entries. */
  readonly goneDisplay = new Map<string, string>();
  /** Bumped to invalidate every cursor of this namespace (→ 409 reset). */
  cursorEpoch = 0;
  private readonly listeners = new Set<() => void>();
  private readonly idx: TreeIndexes;

  constructor(nsId: string, idx: TreeIndexes) {
    this.nsId = nsId;
    this.idx = idx;
  }

  get seq(): number {
    return this.journal.length;
  }

  /** Called on every journal append; used by longpoll. Returns an unsubscribe function. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get(pathLower: string): TreeEntry | undefined {
    return this.entries.get(pathLower);
  }

  latest(entry: TreeEntry): FileRevision {
    const r = entry.revisions[entry.revisions.length - 1];
    if (!r) throw new Error(`folder ${entry.pathDisplay} has no revision`);
    return r;
  }

  /** Entries strictly below a folder; O(n) — only used for move/delete/zip, not per listing page. */
  descendants(folderLower: string): TreeEntry[] {
    const out: TreeEntry[] = [];
    for (const e of this.entries.values()) if (e.pathLower !== folderLower && isUnder(e.pathLower, folderLower)) out.push(e);
    return out;
  }

  /** Create missing ancestor folders of `displayPath` (not the path itself). Returns the parent's display path. */
  ensureParents(displayPath: string): string {
    const parts = displayPath.split('/').slice(1, -1);
    let display = '';
    for (const part of parts) {
      const candidate = display + '/' + part;
      const existing = this.entries.get(candidate.toLowerCase());
      if (existing?.kind === 'file') throw new TreeConflict('file_ancestor', candidate);
      if (existing) display = existing.pathDisplay;
      else display = this.insertFolder(candidate).pathDisplay;
    }
    return display;
  }

  mkdir(displayPath: string): TreeEntry {
    const existing = this.entries.get(displayPath.toLowerCase());
    if (existing) throw new TreeConflict(existing.kind === 'file' ? 'file' : 'folder', displayPath);
    const parent = this.ensureParents(displayPath);
    return this.insertFolder(parent + '/' + lastSegment(displayPath));
  }

  /** Mkdir that tolerates an existing folder (seeding / control API). */
  mkdirp(displayPath: string): TreeEntry {
    const existing = this.entries.get(displayPath.toLowerCase());
    if (existing?.kind === 'folder') return existing;
    return this.mkdir(displayPath);
  }

  /**
   * Unconditional write (overwrite semantics). Identical content → no new revision.
   * Conflict checks for WriteMode live in the upload handler; this is the storage primitive.
   */
  writeFile(displayPath: string, bytes: Buffer, opts: WriteOptions = {}, contentHash?: string): { entry: TreeEntry; changed: boolean } {
    const lower = displayPath.toLowerCase();
    const existing = this.entries.get(lower);
    if (existing?.kind === 'folder') throw new TreeConflict('folder', displayPath);
    const hash = contentHash ?? dropboxContentHash(bytes);
    if (existing && this.latest(existing).contentHash === hash) return { entry: existing, changed: false };
    const now = dropboxTimestamp(this.idx.clock());
    const revision: FileRevision = {
      rev: this.idx.ids.nextRev(),
      size: bytes.length,
      contentHash: hash,
      serverModified: now,
      clientModified: opts.clientModified ?? now,
      bytes,
      modifiedBy: opts.modifiedBy,
      ...(opts.exportAs ? { exportAs: opts.exportAs, exportBytes: opts.exportBytes ?? Buffer.alloc(0) } : {}),
    };
    let entry = existing;
    if (!entry) {
      const parent = this.ensureParents(displayPath);
      const graveyard = this.deletedFiles.get(lower);
      entry = {
        kind: 'file',
        // A file re-created at a deleted path keeps its history (list_revisions shows old revs).
        id: graveyard ? graveyard.entry.id : this.idx.ids.nextFileId(),
        nsId: this.nsId,
        name: lastSegment(displayPath),
        pathLower: lower,
        pathDisplay: parent + '/' + lastSegment(displayPath),
        revisions: graveyard ? graveyard.entry.revisions : [],
      };
      this.deletedFiles.delete(lower);
      this.entries.set(lower, entry);
      this.idx.byId.set(entry.id, entry);
    }
    entry.revisions.push(revision);
    this.idx.byRev.set(revision.rev, { entry, revision });
    this.record(lower);
    return { entry, changed: true };
  }

  /** Remove a file or folder and everything below; only the top path is journaled (clients drop children). */
  remove(pathLower: string): TreeEntry {
    const top = this.entries.get(pathLower);
    if (!top) throw new TreeNotFound(pathLower);
    const now = dropboxTimestamp(this.idx.clock());
    this.goneDisplay.set(pathLower, top.pathDisplay);
    const victims = top.kind === 'folder' ? [top, ...this.descendants(pathLower)] : [top];
    for (const e of victims) {
      this.entries.delete(e.pathLower);
      this.idx.byId.delete(e.id);
      if (e.kind === 'file') this.deletedFiles.set(e.pathLower, { entry: e, deletedAt: now });
    }
    this.record(pathLower);
    return top;
  }

  /** Move keeps ids; journal = deletion of the old top path, then the new paths parents-first. */
  move(fromLower: string, toDisplay: string): TreeEntry {
    const top = this.entries.get(fromLower);
    if (!top) throw new TreeNotFound(fromLower);
    const toLower = toDisplay.toLowerCase();
    if (this.entries.has(toLower)) throw new TreeConflict(this.entries.get(toLower)!.kind === 'file' ? 'file' : 'folder', toDisplay);
    const moving = top.kind === 'folder' ? [top, ...this.descendants(fromLower)] : [top];
    const newParent = this.ensureParents(toDisplay);
    const newTopDisplay = newParent + '/' + lastSegment(toDisplay);
    const oldTopDisplay = top.pathDisplay;
    this.goneDisplay.set(fromLower, oldTopDisplay);
    for (const e of moving) this.entries.delete(e.pathLower);
    this.record(fromLower);
    for (const e of moving) {
      const suffix = e.pathDisplay.slice(oldTopDisplay.length);
      e.pathDisplay = newTopDisplay + suffix;
      e.pathLower = e.pathDisplay.toLowerCase();
      if (e === top) e.name = lastSegment(toDisplay);
      this.entries.set(e.pathLower, e);
      this.record(e.pathLower);
    }
    return top;
  }

  private insertFolder(displayPath: string): TreeEntry {
    const entry: TreeEntry = {
      kind: 'folder',
      id: this.idx.ids.nextFileId(),
      nsId: this.nsId,
      name: lastSegment(displayPath),
      pathLower: displayPath.toLowerCase(),
      pathDisplay: displayPath,
      revisions: [],
    };
    this.entries.set(entry.pathLower, entry);
    this.idx.byId.set(entry.id, entry);
    this.record(entry.pathLower);
    return entry;
  }

  private record(pathLower: string): void {
    const seq = this.journal.length + 1;
    this.journal.push({ seq, pathLower });
    this.lastSeqByPath.set(pathLower, seq);
    for (const fn of this.listeners) fn();
  }
}

export function lastSegment(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
