// The state one backup run carries from stage to stage: the entity and task it backs up, its
// `backup_runs` row, the Dropbox client, the pack writer and block ingest, and what the zip
// pre-pass shares with the pages. The stages (listing.ts, page-*.ts, content-fetch.ts,
// zip-prepass.ts, run-open.ts, run-finish.ts) are functions of it.
import type postgres from 'postgres';
import type { AppDeps } from '../../api/deps.ts';
import type { entities, tasks } from '../../db/schema.ts';
import type { RunError, RunMode } from '../../db/schema/snapshots.ts';
import { DropboxTeam, type CallScope } from '../dropbox/client.ts';
import { REFRESH_TOKEN_CONTEXT } from '../dropbox/connection.ts';
import { adminScope } from '../dropbox/files.ts';
import type { Fetch } from '../dropbox/transport.ts';
import type { BackupJob } from '../queue.ts';
import type { BlobStore, PackWriter } from '../storage/index.ts';
import type { BlockIngest } from './block-ingest.ts';
import type { Content, NewContent } from './entries.ts';
import type { BackupOptions } from './outcome.ts';

export type EntityRow = typeof entities.$inferSelect;
export type TaskRow = typeof tasks.$inferSelect;

/** The `backup_runs` columns the run keeps in memory. */
export interface RunRow {
  id: string;
  mode: RunMode;
  start_cursor: string | null;
  cursor: string | null;
  pages: number;
  resumes: number;
  started_at: Date | string;
  dropbox_calls: number;
  errors: RunError[];
}

export class EntityBackup {
  readonly deps: AppDeps;
  readonly sql: postgres.Sql;
  readonly job: BackupJob;
  readonly entity: EntityRow;
  readonly task: TaskRow;
  readonly opts: BackupOptions;
  readonly accountId: string;
  readonly scope: CallScope;
  readonly team: DropboxTeam;
  readonly fetch: Fetch;
  run!: RunRow; // the backup_runs row being written
  writer!: PackWriter;
  store!: BlobStore;
  /** Blocks on their way to the writer, checked against the account's stored blocks in batches. */
  ingest!: BlockIngest;
  /** Content hashes whose blocks this attempt stored, not yet committed to `contents`. */
  inflight = new Map<string, Promise<Content>>();
  /** Whether the entity has no completed run (a first backup may use download_zip). */
  firstEver = false;
  /** Contents the zip pre-pass stored (blocks durable), by content_hash; recorded by the pages that list them. */
  zipContents = new Map<string, NewContent>();
  /** Files and bytes the zip pre-pass fetched (durable), added to the counts at the next page commit. */
  zipFiles = 0;
  zipBytes = 0;
  /** The first backup's zip pre-pass while it runs alongside the pages; null when none is running. */
  prepass: Promise<void> | null = null;
  /** Set when the listing stopped early: the pre-pass starts no further zip. */
  prepassStop = false;
  /** What ended the pre-pass, if it failed in a way the run must fail for (an auth error). */
  prepassFailure: unknown = null;
  /** Resolved (and replaced) whenever more zipped contents became durable, or the pre-pass ended. */
  zipProgress = Promise.withResolvers<void>();
  /** Bytes later runs may still fetch as zips of new folders (the first run's pre-pass has its own budget). */
  newFolderZipBudget = -1;
  /** Stored bytes reported by onPackWritten since the last page commit. */
  storedSinceCommit = 0;

  constructor(deps: AppDeps, job: BackupJob, entity: EntityRow, task: TaskRow, opts: BackupOptions) {
    this.deps = deps;
    this.sql = deps.sql;
    this.job = job;
    this.entity = entity;
    this.task = task;
    this.opts = opts;
    this.accountId = entity.accountId;
    // A team is read as its admin (any namespace); an individual account's token reads its own files
    // without a select header, paths rooted at its home namespace. Everything after is the same.
    this.scope = task.plan === 'professional' ? { namespaceId: entity.namespaceId! } : adminScope(task.dropboxAdminMemberId!, entity.namespaceId!);
    const refreshToken = deps.keyring.openSecret(task.refreshToken!, REFRESH_TOKEN_CONTEXT);
    this.team = new DropboxTeam({
      config: deps.config.dropbox,
      refreshToken,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
      ...(opts.policy ?? deps.dropboxPolicy ? { policy: opts.policy ?? deps.dropboxPolicy } : {}),
      ...(opts.sleep ? { sleep: opts.sleep } : {}),
      ...(opts.pacer ? { pacer: opts.pacer } : {}),
    });
    this.fetch = this.team.fetch;
  }

  /**
   * Drop what the run held (the writer's and the ingest's maps of blocks). postgres.js keeps the
   * first Error (with its unserialised stack, receivers included) of every query call site for the
   * life of the process, so a run's state can outlive its run; its buffers must not.
   */
  release(): void {
    this.writer = undefined as never;
    this.ingest = undefined as never;
    this.inflight.clear();
    this.zipContents.clear();
  }

  /** Dropbox calls this attempt made. */
  callCount(): number {
    let n = 0;
    for (const v of this.team.calls.values()) n += v;
    return n;
  }

  /** Wakes the pages waiting for zipped contents. */
  zipProgressed(): void {
    const progress = this.zipProgress;
    this.zipProgress = Promise.withResolvers<void>();
    progress.resolve();
  }
}
