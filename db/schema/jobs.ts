// Recovery: user-facing restore and export jobs (pg-boss is the transport underneath, this is the
// record), and the full-text search index over backed-up items.
import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, customType, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { accounts } from './accounts.ts';

export type JobType = 'restore' | 'export';
export type JobState = 'pending' | 'in_progress' | 'succeeded' | 'partially_succeeded' | 'failed' | 'canceled';
export type RestoreMode = 'non_destructive' | 'in_place' | 'other_account';
export type ExportTarget = 'download' | 's3' | 'azure' | 'gcs';

export interface JobError {
  path: string;
  error: string;
}

/** What to recover: a whole snapshot, or items (ids or paths; folders recursively). */
export interface JobSource {
  snapshotId: string;
  items?: string[];
}

/** Where it goes; credentials are never here (they are sealed in `destination_secret`). */
export interface JobDestination {
  mode?: RestoreMode;
  entityId?: string;
  path?: string;
  type?: ExportTarget;
  bucket?: string;
  key?: string;
  region?: string;
  endpoint?: string;
  container?: string;
  blob?: string;
  forcePathStyle?: boolean;
}

/** Resume point: files are processed in path_lower order and committed in batches. */
export interface JobCheckpoint {
  /** path_lower of the last file whose batch was committed. */
  after?: string;
  /** The restore's base folder, fixed on first start so a resumed job writes to the same place. */
  base?: string;
  foldersDone?: boolean;
}

export const jobs = pgTable(
  'jobs',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    type: text('type').$type<JobType>().notNull(),
    state: text('state').$type<JobState>().notNull(),
    service: text('service').notNull().default('dropbox'),
    initiatorId: text('initiator_id'),
    initiatorEmail: text('initiator_email'),
    /** No foreign keys: a job outlives the task and entity it names. */
    taskId: text('task_id').notNull(),
    entityId: text('entity_id').notNull(),
    /**
     * The task's and entity's names when the job was created: copied, not joined, because the job
     * outlives them (and a later rename should not rewrite what the job says it recovered).
     */
    taskName: text('task_name'),
    entityName: text('entity_name'),
    snapshotId: text('snapshot_id').notNull(),
    snapshotAt: timestamp('snapshot_at', { withTimezone: true }).notNull(),
    source: jsonb('source').$type<JobSource>().notNull(),
    destination: jsonb('destination').$type<JobDestination>().notNull(),
    /** Customer storage credentials, sealed (context 'export-destination'); never returned. */
    destinationSecret: text('destination_secret'),
    itemsTotal: integer('items_total').notNull().default(0),
    itemsDone: integer('items_done').notNull().default(0),
    itemsFailed: integer('items_failed').notNull().default(0),
    bytesTotal: bigint('bytes_total', { mode: 'number' }).notNull().default(0),
    bytesDone: bigint('bytes_done', { mode: 'number' }).notNull().default(0),
    errors: jsonb('errors').$type<JobError[]>().notNull().default([]),
    reason: text('reason'),
    checkpoint: jsonb('checkpoint').$type<JobCheckpoint>().notNull().default({}),
    cancelRequested: boolean('cancel_requested').notNull().default(false),
    /** Data-transport (upload-family) calls this job made. */
    dataTransportCalls: integer('data_transport_calls').notNull().default(0),
    attempts: integer('attempts').notNull().default(0),
    /** Download exports: the encrypted archive's blob key, its size, and its sealed key. */
    resultKey: text('result_key'),
    resultSize: bigint('result_size', { mode: 'number' }),
    /** Hex SHA-256 of the archive as delivered (the ZIP, not its encrypted copy at rest). */
    resultSha256: text('result_sha256'),
    resultSecret: text('result_secret'),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    heartbeatAt: timestamp('heartbeat_at', { withTimezone: true }),
    version: integer('version').notNull().default(1),
  },
  (t) => [index('jobs_account_idx').on(t.accountId, t.createdAt, t.id), index('jobs_active_idx').on(t.state).where(sql`state in ('pending', 'in_progress')`)],
);

export type JobItemStatus = 'restored' | 'exported' | 'failed';

/**
 * What a restore or export wrote, file by file, and where: appended by the workers in the same
 * transaction as the progress checkpoint of the batch the files belong to (so a resumed restore
 * never lists a file twice). `id` is the insertion order, which is the order the job walked.
 */
export const jobItems = pgTable(
  'job_items',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    jobId: text('job_id').notNull().references(() => jobs.id, { onDelete: 'cascade' }),
    accountId: text('account_id').notNull(),
    /** The file's path in the snapshot. */
    path: text('path').notNull(),
    /** Restore: the Dropbox path it was committed at (after autorename); export: its entry in the ZIP. */
    destination: text('destination'),
    size: bigint('size', { mode: 'number' }).notNull(),
    status: text('status').$type<JobItemStatus>().notNull(),
    error: text('error'),
  },
  (t) => [index('job_items_job_idx').on(t.jobId, t.id)],
);

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

/**
 * Search documents: one per item version, written after a backup by the indexer (not by the
 * engine's bulk insert). `tsv` = the path's words (weight A for the name, B for the folders) and,
 * when the task indexes data, the text of text-like files (weight D).
 */
export const searchDocuments = pgTable(
  'search_documents',
  {
    itemVersionId: text('item_version_id').primaryKey(),
    accountId: text('account_id').notNull(),
    entityId: text('entity_id').notNull(),
    tsv: tsvector('tsv').notNull(),
    contentIndexed: boolean('content_indexed').notNull().default(false),
  },
  (t) => [
    index('search_documents_tsv_idx').using('gin', t.tsv),
    index('search_documents_entity_idx').on(t.entityId),
    index('search_documents_account_idx').on(t.accountId, t.itemVersionId),
  ],
);
