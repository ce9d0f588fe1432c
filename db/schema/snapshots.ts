// Backups: runs, the item-version snapshot model, deduplicated content and blocks, and packs.
//
// "The entity as of run R" = the item_versions of that entity with valid_from_run ≤ R and
// (valid_until_run is null or valid_until_run > R). Run ids are time-ordered and one entity has at
// most one run writing at a time, so a run in progress only adds rows with valid_from_run greater
// than every completed run and only closes rows with valid_until_run greater than every completed
// run: what earlier snapshots show never changes, and a run becomes a snapshot (is listed) only once
// it has completed (state succeeded or partial). A failed run's rows are rolled back.
//
// Hot insert tables (item_versions, blocks, contents) carry no foreign keys and only the indexes
// the engine and the API query by (test/bench/README.md, gotcha 5: every index slows bulk ingest).
import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { accounts, bytea } from './accounts.ts';

export type RunState = 'running' | 'succeeded' | 'partial' | 'failed';
export type RunMode = 'full' | 'incremental';

export interface RunError {
  path: string;
  error: string;
  /** The listing entry that failed, so the next run can retry it. */
  entry?: Record<string, unknown>;
}

/** One backup of one entity. */
export const backupRuns = pgTable(
  'backup_runs',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    taskId: text('task_id').notNull(),
    entityId: text('entity_id').notNull(),
    state: text('state').$type<RunState>().notNull(),
    reason: text('reason').notNull(),
    /** full: list_folder from scratch (first run, or a cursor reset); incremental: continue from start_cursor. */
    mode: text('mode').$type<RunMode>().notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    newCount: integer('new_count').notNull().default(0),
    changedCount: integer('changed_count').notNull().default(0),
    deletedCount: integer('deleted_count').notNull().default(0),
    failedCount: integer('failed_count').notNull().default(0),
    unchangedCount: integer('unchanged_count').notNull().default(0),
    downloadedCount: integer('downloaded_count').notNull().default(0),
    bytesDownloaded: bigint('bytes_downloaded', { mode: 'number' }).notNull().default(0),
    /** Stored (compressed, encrypted) bytes of blocks this run added. */
    bytesStored: bigint('bytes_stored', { mode: 'number' }).notNull().default(0),
    /** The snapshot's totals (files and folders alive, bytes of files), set on completion. */
    totalItems: integer('total_items'),
    totalSize: bigint('total_size', { mode: 'number' }),
    errors: jsonb('errors').$type<RunError[]>().notNull().default([]),
    error: text('error'),
    /** The cursor this run continued from (incremental runs). */
    startCursor: text('start_cursor'),
    /** Checkpoint: the cursor after the last fully committed page; on completion, the next run's start. */
    cursor: text('cursor'),
    pages: integer('pages').notNull().default(0),
    dropboxCalls: integer('dropbox_calls').notNull().default(0),
    /** Times this run was resumed after its worker died. */
    resumes: integer('resumes').notNull().default(0),
    /** When the item search index (search_documents) first covered this snapshot; null until then. */
    searchIndexedAt: timestamp('search_indexed_at', { withTimezone: true }),
  },
  (t) => [
    index('backup_runs_entity_idx').on(t.entityId, t.id),
    index('backup_runs_account_idx').on(t.accountId, t.id),
    index('backup_runs_running_idx').on(t.state).where(sql`state = 'running'`),
  ],
);

/** One version of a file or folder: the rows a run wrote for what appeared, changed or disappeared. */
export const itemVersions = pgTable(
  'item_versions',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull(),
    entityId: text('entity_id').notNull(),
    pathLower: text('path_lower').notNull(),
    pathDisplay: text('path_display').notNull(),
    /** path_lower of the parent folder ('' for the root). */
    parentLower: text('parent_lower').notNull(),
    name: text('name').notNull(),
    kind: text('kind').$type<'file' | 'folder'>().notNull(),
    dropboxId: text('dropbox_id'),
    rev: text('rev'),
    size: bigint('size', { mode: 'number' }).notNull().default(0),
    /** Hash of the bytes stored: Dropbox's content_hash, or for an exported document the export's. */
    contentHash: text('content_hash'),
    /**
     * Set for documents Dropbox cannot download as they are (Paper, Google Docs): the format they
     * were exported in (files/export), e.g. 'docx'. Size and content_hash are the export's then.
     */
    exportAs: text('export_as'),
    serverModified: timestamp('server_modified', { withTimezone: true }),
    clientModified: timestamp('client_modified', { withTimezone: true }),
    modifiedBy: text('modified_by'),
    /** The file's block list: 32-byte SHA-256 hashes concatenated, in order (null for folders). */
    blocks: bytea('blocks'),
    validFromRun: text('valid_from_run').notNull(),
    validUntilRun: text('valid_until_run'),
    /** Full relists mark unchanged versions they saw, so what they did not see can be closed. */
    seenRun: text('seen_run'),
  },
  (t) => [
    index('item_versions_alive_idx').on(t.entityId, t.pathLower).where(sql`valid_until_run is null`),
    index('item_versions_parent_idx').on(t.entityId, t.parentLower, t.validFromRun),
  ],
);

/** Content already stored for an account, by Dropbox content_hash: a file whose hash is here is not downloaded. */
export const contents = pgTable(
  'contents',
  {
    accountId: text('account_id').notNull(),
    contentHash: text('content_hash').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    blocks: bytea('blocks').notNull(),
    /** Set by a garbage collection that found nothing referencing it; see workers/jobs/retention.ts. */
    condemnedAt: timestamp('condemned_at', { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.contentHash] })],
);

/** A stored block (4 MiB at most), once per account: where its encrypted bytes live. */
export const blocks = pgTable(
  'blocks',
  {
    accountId: text('account_id').notNull(),
    hash: bytea('hash').notNull(),
    packId: text('pack_id').notNull(),
    offset: bigint('offset', { mode: 'number' }).notNull(),
    length: integer('length').notNull(),
    plainSize: integer('plain_size').notNull(),
    storedSize: integer('stored_size').notNull(),
    compressed: boolean('compressed').notNull(),
    /** Set by a garbage collection that found nothing referencing it; see workers/jobs/retention.ts. */
    condemnedAt: timestamp('condemned_at', { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.hash] })],
);

export type PackState = 'pending' | 'written';

/** Pack objects: 'pending' is recorded before the PUT, 'written' with the block rows after it. */
export const packs = pgTable(
  'packs',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull(),
    key: text('key').notNull(),
    size: bigint('size', { mode: 'number' }).notNull().default(0),
    state: text('state').$type<PackState>().notNull(),
    runId: text('run_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('packs_account_idx').on(t.accountId, t.state)],
);

/**
 * An account's own storage ("bring your own storage"): backups go to this S3-compatible bucket
 * instead of the region's default store. No row = the default. Set before the first backup only.
 */
export const accountStorage = pgTable('account_storage', {
  accountId: text('account_id').primaryKey().references(() => accounts.id, { onDelete: 'cascade' }),
  kind: text('kind').$type<'s3' | 'gcs' | 'azure'>().notNull(),
  endpoint: text('endpoint'),
  region: text('region').notNull(),
  bucket: text('bucket').notNull(),
  /** Key prefix inside the bucket ('' or ending in '/'). */
  prefix: text('prefix').notNull(),
  forcePathStyle: boolean('force_path_style').notNull(),
  accessKeyId: text('access_key_id').notNull(),
  /** Sealed under the master key (keyring.sealSecret, context 'storage-secret'). */
  secretAccessKey: text('secret_access_key').notNull(),
  verifiedAt: timestamp('verified_at', { withTimezone: true }).notNull(),
  version: integer('version').notNull().default(1),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});
