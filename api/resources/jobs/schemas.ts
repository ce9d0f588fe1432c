import { Type, type Static, type TSchema } from '@fastify/type-provider-typebox';
import { NullableTimestamp, Page, PageQuery, Timestamp, ref } from '../../schemas/common.ts';

export const JobType = Type.Enum(['restore', 'export'], { $id: 'JobType' });
export const JobState = Type.Enum(['pending', 'in_progress', 'succeeded', 'partially_succeeded', 'failed', 'canceled'], { $id: 'JobState' });

export const RecoverySource = Type.Object(
  {
    snapshot_id: Type.String({ pattern: '^run_[0-9a-z]{26}$', description: 'The snapshot (a completed backup run, `run_…`).' }),
    items: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), {
      minItems: 1, maxItems: 1000,
      description: 'Item ids (`item_…`, from browsing or search) or paths; folders are taken recursively. Omitted: the whole snapshot.',
    })),
  },
  { $id: 'RecoverySource', additionalProperties: false },
);

export const RestoreDestination = Type.Object(
  {
    mode: Type.Enum(['non_destructive', 'in_place', 'other_account'], {
      description: 'non_destructive: into a new folder named with the restore time, in the original account. in_place: into the original folders, never overwriting (an existing different file gets the restored copy beside it). other_account: into another member\'s account of the same team (`entity_id`).',
    }),
    entity_id: Type.Optional(Type.String({ pattern: '^ent_[0-9a-z]{26}$', description: 'other_account: the member (an entity of the same task) who receives the files.' })),
    path: Type.Optional(Type.String({ pattern: '^/', maxLength: 1024, description: 'non_destructive / other_account: the folder to restore into (default: `/Restored <time> UTC`).' })),
  },
  { $id: 'RestoreDestination', additionalProperties: false },
);

export const RestoreRequest = Type.Object(
  { source: ref(RecoverySource), destination: ref(RestoreDestination) },
  { $id: 'RestoreRequest', additionalProperties: false },
);

export const ExportDestination = Type.Object(
  {
    type: Type.Enum(['download', 's3', 'azure', 'gcs'], { description: 'download: an encrypted archive behind a signed link valid 72 hours. s3 / gcs: your bucket (gcs through its S3-compatible interoperability API with HMAC keys). azure: a Blob Storage container.' }),
    bucket: Type.Optional(Type.String({ minLength: 3, maxLength: 255, description: 's3, gcs' })),
    key: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 's3, gcs: object key (default `coffer-export-<job id>.zip`).' })),
    region: Type.Optional(Type.String({ maxLength: 64, description: 's3' })),
    endpoint: Type.Optional(Type.String({ format: 'uri', maxLength: 1024, description: 's3: an S3-compatible endpoint; gcs: default https://storage.googleapis.com; azure: the account\'s blob endpoint.' })),
    force_path_style: Type.Optional(Type.Boolean()),
    access_key_id: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 's3, gcs (HMAC key). Stored encrypted, never returned.' })),
    secret_access_key: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 's3, gcs. Stored encrypted, never returned.' })),
    container: Type.Optional(Type.String({ minLength: 3, maxLength: 63, description: 'azure' })),
    blob: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'azure: blob name (default `coffer-export-<job id>.zip`).' })),
    connection_string: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'azure (or account_name + account_key). Stored encrypted, never returned.' })),
    account_name: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'azure' })),
    account_key: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'azure. Stored encrypted, never returned.' })),
  },
  { $id: 'ExportDestination', additionalProperties: false },
);

export const ExportRequest = Type.Object(
  { source: ref(RecoverySource), destination: ref(ExportDestination) },
  { $id: 'ExportRequest', additionalProperties: false },
);

export const JobDestinationView = Type.Object(
  {
    mode: Type.Optional(Type.String()),
    entity_id: Type.Optional(Type.String()),
    path: Type.Optional(Type.String({ description: 'restore: the folder written into (known once the job started).' })),
    type: Type.Optional(Type.String()),
    bucket: Type.Optional(Type.String()),
    key: Type.Optional(Type.String()),
    region: Type.Optional(Type.String()),
    endpoint: Type.Optional(Type.String()),
    container: Type.Optional(Type.String()),
    blob: Type.Optional(Type.String()),
  },
  { $id: 'JobDestination', additionalProperties: false, description: 'Where the job writes; credentials are never returned.' },
);

export const JobErrorItem = Type.Object({ path: Type.String(), error: Type.String() }, { $id: 'JobError', additionalProperties: false });

export const Job = Type.Object(
  {
    id: Type.String(),
    type: ref(JobType),
    state: ref(JobState),
    service: Type.String({ description: 'Always `dropbox`.' }),
    initiator: Type.Object({ user_id: Type.Union([Type.String(), Type.Null()]), email: Type.Union([Type.String(), Type.Null()]) }, { additionalProperties: false }),
    task_id: Type.String(),
    task_name: Type.Union([Type.String(), Type.Null()], { description: 'The task\'s name when the job was created (kept after the task is renamed or deleted).' }),
    entity_id: Type.String(),
    entity_name: Type.Union([Type.String(), Type.Null()], { description: 'The user\'s or team folder\'s name when the job was created (kept after it is renamed or removed).' }),
    source: ref(RecoverySource),
    snapshot_time: Timestamp('When the source snapshot was taken.'),
    destination: ref(JobDestinationView),
    items_total: Type.Integer(),
    items_done: Type.Integer(),
    items_failed: Type.Integer(),
    bytes_total: Type.Integer(),
    bytes_done: Type.Integer(),
    data_transport_calls: Type.Integer({ description: 'Dropbox upload-family calls this job made (they count against the team\'s monthly limit).' }),
    errors: Type.Array(ref(JobErrorItem)),
    reason: Type.Union([Type.String(), Type.Null()], { description: 'Why the job ended as it did (limit reached, canceled, failures).' }),
    cancel_requested: Type.Boolean(),
    resumable: Type.Boolean({ description: 'POST /v1/jobs/{id}/resume continues it from its last checkpoint.' }),
    download: Type.Union([
      Type.Object({
        url: Type.String({ description: 'Signed link, usable without credentials until `expires_at` (then 410) or until revoked. Shown only to callers with `recovery:export`.' }),
        expires_at: Timestamp(),
        size: Type.Integer(),
        sha256: Type.Union([Type.String({ pattern: '^[0-9a-f]{64}$' }), Type.Null()], { description: 'Hex SHA-256 of the archive, to verify a download (null for archives made before it was recorded).' }),
      }, { additionalProperties: false }),
      Type.Null(),
    ]),
    created_at: Timestamp(),
    started_at: NullableTimestamp(),
    finished_at: NullableTimestamp(),
  },
  { $id: 'Job', additionalProperties: false },
);
export type Job = Static<typeof Job>;

export const JobList = Page(Job, 'JobList');

const STATES = ['pending', 'in_progress', 'succeeded', 'partially_succeeded', 'failed', 'canceled'] as const;
/** The Jobs page's tiles as filters: the states each one counts (see `summary`). */
export const STATE_GROUPS: Record<string, readonly (typeof STATES)[number][]> = {
  active: ['pending', 'in_progress'],
  partially_succeeded_or_failed: ['partially_succeeded', 'failed'],
};
const STATE_FILTERS = [...STATES, ...Object.keys(STATE_GROUPS)];

export const JobListQuery = Type.Object(
  {
    ...PageQuery,
    type: Type.Optional(Type.Enum(['restore', 'export'])),
    state: Type.Optional(Type.String({
      pattern: `^(${STATE_FILTERS.join('|')})(,(${STATE_FILTERS.join('|')}))*$`,
      description: 'One or more states, comma-separated (`failed,partially_succeeded`), or a group as the summary tiles count them: `active` (pending or in progress), `partially_succeeded_or_failed`.',
    })),
    service: Type.Optional(Type.Enum(['dropbox'])),
    task_id: Type.Optional(Type.String({ pattern: '^task_[0-9a-z]{26}$' })),
    entity_id: Type.Optional(Type.String({ pattern: '^ent_[0-9a-z]{26}$', description: 'Jobs that recover this user or team folder (the source; not the member an `other_account` restore writes to).' })),
    item: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'Jobs whose selected items (`source.items`, as paths) contain this path or name, case-insensitive. Jobs of a whole snapshot select no items and never match.' })),
    initiator: Type.Optional(Type.String({ maxLength: 320, description: 'A user id or email.' })),
    order: Type.Optional(Type.Enum(['latest', 'oldest'], { default: 'latest' })),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Default: 7 days ago.' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

export const JobItem = Type.Object(
  {
    path: Type.String({ description: 'The file\'s path in the snapshot.' }),
    destination: Type.Union([Type.String(), Type.Null()], {
      description: 'restore: the Dropbox path it was committed at (beside an existing different file, the name Dropbox gave it, e.g. `x (1).txt`); export: its entry in the ZIP. null when the commit failed.',
    }),
    size: Type.Integer(),
    status: Type.Enum(['restored', 'exported', 'failed']),
    error: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'JobItem', additionalProperties: false },
);
export type JobItem = Static<typeof JobItem>;

export const JobItemList = Page(JobItem, 'JobItemList');

export const JobSummary = Type.Object(
  {
    from: Timestamp(),
    in_progress: Type.Integer({ description: 'Pending or in progress.' }),
    succeeded: Type.Integer(),
    partially_succeeded_or_failed: Type.Integer(),
    canceled: Type.Integer(),
  },
  { $id: 'JobSummary', additionalProperties: false },
);

export const schemas: TSchema[] = [JobType, JobState, RecoverySource, RestoreDestination, RestoreRequest, ExportDestination, ExportRequest,
  JobDestinationView, JobErrorItem, Job, JobList, JobItem, JobItemList, JobSummary];
