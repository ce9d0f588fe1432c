// What the backup knows about one listing entry and the live version at its path: the key its
// content is stored under, and whether the live version already is this entry.
import type { ListEntry } from '../dropbox/files.ts';

export type FileEntry = Extract<ListEntry, { '.tag': 'file' }>;

/** Dropbox's content_hash of zero bytes: such a file is recorded without a download. */
export const EMPTY_CONTENT_HASH = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** The live (not yet replaced) version at a path, as the page diff reads it. */
export interface AliveRow {
  id: string;
  path_lower: string;
  kind: 'file' | 'folder';
  rev: string | null;
  content_hash: string | null;
  export_as: string | null;
  valid_from_run: string;
}

/** A file's stored content: its size and its block list (32-byte SHA-256 hashes, concatenated). */
export interface Content {
  size: number;
  blocks: Buffer;
}

/** A content to record in `contents` with the page that lists it. */
export interface NewContent extends Content {
  content_hash: string;
}

export function exportFormat(e: FileEntry): string {
  return e.export_info?.export_as ?? 'export';
}

/**
 * The key a file's content is stored under in `contents`: its content_hash, or for a document that
 * only exports, a key naming the format and the document's own hash (its export hashes differently).
 */
export function contentKey(e: ListEntry): string {
  const file = e as FileEntry;
  if (file.is_downloadable === false) return `export:${exportFormat(file)}:${file.content_hash ?? file.rev}`;
  return file.content_hash ?? '';
}

/** Whether the live version at a path already is this listing entry (an exported document: same rev). */
export function unchanged(cur: AliveRow | undefined, e: ListEntry): boolean {
  if (!cur || cur.kind !== 'file') return false;
  const file = e as FileEntry;
  if (cur.rev !== file.rev) return false;
  return cur.export_as !== null ? file.is_downloadable === false : cur.content_hash === file.content_hash;
}
