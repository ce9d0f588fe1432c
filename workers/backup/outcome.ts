// What a caller passes to a backup run and what it gets back, and how a run's error is classified.
import { DropboxCallError, type RetryPolicy } from '../dropbox/client.ts';
import type { DropboxPacer } from '../dropbox/pacer.ts';
import type { Fetch } from '../dropbox/transport.ts';
import type { BlobStore } from '../storage/index.ts';

export interface BackupOptions {
  /** Inner fetch under DropboxTeam and downloads (tests inject faults or corruption here). */
  fetch?: Fetch;
  /** Files downloaded at once (default 8 files under 1 MiB and 3 larger ones). */
  concurrency?: number;
  /** list_folder page size (tests use small pages to exercise checkpoints). Default 2000. */
  pageLimit?: number;
  policy?: Partial<RetryPolicy>;
  sleep?: (ms: number) => Promise<void>;
  /** Pacing of Dropbox calls (default: the process-wide pacer). */
  pacer?: DropboxPacer;
  /** Pack size to aim for (tests); default 16 MiB. */
  targetPackSize?: number;
  /** Called after each committed page (tests). */
  onPageCommitted?: (info: { runId: string; pages: number }) => void | Promise<void>;
  /** First backups fetch the whole namespace as one files/download_zip when it is at most this big (0 = never). Default 512 MiB. */
  zipMaxBytes?: number;
  /** A zip up to this size is kept in memory; a bigger one is spilled to a temp file. Default 64 MiB. */
  zipMemoryBytes?: number;
  /** Encode blocks on the main thread instead of the shared encoder threads (tests, comparisons). */
  inlineEncoding?: boolean;
  /** Wraps the account's blob store (tests, benchmark counters). */
  wrapStore?: (store: BlobStore) => BlobStore;
}

export type BackupOutcome =
  | { outcome: 'skipped'; reason: string }
  | { outcome: 'succeeded' | 'partial' | 'failed'; runId: string; counts: RunCounts; error?: string; dropboxCalls: number };

export interface RunCounts {
  new: number;
  changed: number;
  deleted: number;
  failed: number;
  unchanged: number;
  downloaded: number;
  bytesDownloaded: number;
  bytesStored: number;
}

export function emptyCounts(): RunCounts {
  return { new: 0, changed: 0, deleted: 0, failed: 0, unchanged: 0, downloaded: 0, bytesDownloaded: 0, bytesStored: 0 };
}

/** Errors that retrying the job will not fix. */
export function isPermanent(err: unknown): boolean {
  if (err instanceof DropboxCallError) return err.status !== 429 && err.status < 500;
  return false;
}

/** An error as stored on the run and shown to the user (bounded). */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message.slice(0, 500);
  return String(err).slice(0, 500);
}
