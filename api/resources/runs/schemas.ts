import { Type, type Static } from '@fastify/type-provider-typebox';
import { NullableTimestamp, Page, PageQuery, Timestamp, ref } from '../../schemas/common.ts';
import { SnapshotCounts, SnapshotError } from '../snapshots/schemas.ts';

export const RUN_STATES = ['running', 'succeeded', 'partial', 'failed'] as const;

export const BackupRun = Type.Object(
  {
    id: Type.String({ description: 'The run (`run_…`); a run that succeeded or was partial is also a snapshot with this id.' }),
    entity_id: Type.String(),
    task_id: Type.String(),
    state: Type.Enum(RUN_STATES, {
      description: '`running`; `succeeded`; `partial` (some files failed, listed in `errors`); `failed` (nothing of the run became a snapshot, see `error`).',
    }),
    reason: Type.String({ description: '`scheduled` or `manual`.' }),
    mode: Type.Enum(['full', 'incremental'], { description: '`full`: a listing from scratch (the first run, or after Dropbox reset the cursor); `incremental`: only what changed since the previous run.' }),
    started_at: Timestamp(),
    finished_at: NullableTimestamp(),
    duration_ms: Type.Union([Type.Integer(), Type.Null()], { description: 'null while running.' }),
    counts: ref(SnapshotCounts),
    bytes_downloaded: Type.Integer(),
    bytes_stored: Type.Integer({ description: 'New storage the run used (compressed, encrypted, deduplicated).' }),
    total_items: Type.Union([Type.Integer(), Type.Null()], { description: 'Files and folders in the resulting snapshot; null unless succeeded or partial.' }),
    size_bytes: Type.Union([Type.Integer(), Type.Null()], { description: 'Total size of the files in the resulting snapshot; null unless succeeded or partial.' }),
    dropbox_calls: Type.Integer({ description: 'Dropbox API calls the run made.' }),
    error: Type.Union([Type.String(), Type.Null()], { description: 'Why a failed run failed.' }),
    errors: Type.Array(ref(SnapshotError), { description: 'The first 20 items that failed.' }),
  },
  { $id: 'BackupRun', additionalProperties: false },
);
export type BackupRun = Static<typeof BackupRun>;

export const BackupRunList = Page(BackupRun, 'BackupRunList');

export const BackupRunListQuery = Type.Object(
  {
    ...PageQuery,
    state: Type.Optional(Type.String({
      pattern: '^(running|succeeded|partial|failed)(,(running|succeeded|partial|failed))*$',
      description: 'Only runs in these states, comma-separated (e.g. `failed,partial`).',
    })),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Only runs started at or after this time.' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Only runs started before this time.' })),
  },
  { additionalProperties: false },
);

export const schemas = [BackupRun, BackupRunList];
