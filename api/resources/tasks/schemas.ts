import { Type, type Static } from '@fastify/type-provider-typebox';
import { NullableTimestamp, Page, PageQuery, Timestamp } from '../../schemas/common.ts';
import { ENTITY_STATUSES } from '../entities/schemas.ts';

export const FREQUENCIES = ['every_hour', 'every_6_hours', 'every_12_hours', 'daily', 'every_3_days', 'weekly'] as const;

export const Retention = Type.Union(
  [
    Type.Object({ unit: Type.Literal('unlimited') }, { additionalProperties: false }),
    Type.Object(
      { unit: Type.Enum(['days', 'months', 'years']), value: Type.Integer({ minimum: 1, maximum: 36_500 }) },
      { additionalProperties: false },
    ),
  ],
  { $id: 'Retention', description: 'How long versions are kept: unlimited, or N days / months / years.' },
);

const settings = {
  index_for_search: Type.Boolean({ description: 'Index file names, paths and the text of text-like files for item search.' }),
  auto_activate: Type.Boolean({ description: 'Activate newly discovered users and team folders automatically.' }),
  retain_archived_days: Type.Union([Type.Integer({ minimum: 1, maximum: 36_500 }), Type.Null()], {
    description: 'Keep the backups of archived users / team folders this many days; null keeps them indefinitely.',
  }),
  retention: Type.Unsafe<Static<typeof Retention>>(Type.Ref('Retention')),
  frequency: Type.Enum(FREQUENCIES, {
    description: 'How often each active entity is backed up. Sub-daily frequencies run on the hours aligned with `backup_hour` '
      + '(every 6 hours at 3 → 03:00, 09:00, 15:00, 21:00 UTC). Daily, every 3 days and weekly run at `backup_hour`, '
      + '1, 3 or 7 days after the entity\'s previous backup (the first one at the next `backup_hour`). Changing the frequency '
      + 'or the hour reschedules every active entity of the task at once (see `next_backup_at` on entities).',
  }),
  backup_hour: Type.Integer({ minimum: 0, maximum: 23, description: 'The hour (UTC) at which scheduled backups start (see `frequency`).' }),
  verification_frequency: Type.Enum(['off', 'weekly', 'monthly'], {
    description: 'Scheduled restore drills: every active entity with a snapshot is verified (5% sample, see POST /v1/entities/{id}/verifications) once a week or a month after its previous verification. Default `off`.',
  }),
};

export const Task = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    plan: Type.Enum(['business', 'professional']),
    connection_status: Type.Enum(['pending', 'connected', 'disconnected']),
    connection_error: Type.Union([Type.String(), Type.Null()]),
    authorize_url: Type.Union([Type.String(), Type.Null()], {
      description: 'Coffer\'s confirmation page (naming this account, the requesting user and the task), from which an administrator of the Dropbox team continues to approve Coffer in Dropbox; set in the responses of create (without a refresh token) and reconnect.',
    }),
    dropbox_team: Type.Union([Type.Object({ id: Type.String(), name: Type.Union([Type.String(), Type.Null()]) }), Type.Null()]),
    region: Type.String({ description: 'The account\'s data center (read-only).' }),
    ...settings,
    data_transport: Type.Object({
      month: Type.Union([Type.String(), Type.Null()], { description: 'YYYY-MM' }),
      calls: Type.Integer({ description: 'Upload-family calls Coffer made this month (restores).' }),
      limit: Type.Union([Type.Integer(), Type.Null()], { description: 'The team\'s monthly cap; null when unlimited or unknown.' }),
    }),
    last_discovery_at: NullableTimestamp(),
    paused_at: NullableTimestamp('Set while the whole task is paused (POST /v1/tasks/{id}/pause): nothing of it is backed up until it is resumed; each entity keeps its own status.'),
    state: Type.Enum(['active', 'deleted']),
    purge_time: NullableTimestamp('When a deleted task and its backups will be erased.'),
    created_at: Timestamp(),
    updated_at: Timestamp(),
  },
  { $id: 'Task', additionalProperties: false },
);
export type Task = Static<typeof Task>;

export const TaskCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    plan: Type.Optional(Type.Enum(['business', 'professional'], {
      default: 'business',
      description: '`business`: a Dropbox team, authorized by a team admin; every member and team folder is an entity. `professional`: one individual Dropbox account (Basic, Plus, Professional), authorized by its owner with user scopes only; that account is the task\'s one entity, and `dropbox_team` names the account.',
    })),
    refresh_token: Type.Optional(
      Type.String({ minLength: 1, maxLength: 2048, description: 'For automation: an existing Dropbox refresh token for this app; skips the browser authorization.' }),
    ),
    ...Type.Partial(Type.Object(settings)).properties,
  },
  { $id: 'TaskCreate', additionalProperties: false },
);

export const TaskUpdate = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    ...Type.Partial(Type.Object(settings)).properties,
  },
  { $id: 'TaskUpdate', additionalProperties: false },
);
export type TaskCreate = Static<typeof TaskCreate>;
export type TaskUpdate = Static<typeof TaskUpdate>;

export const TaskList = Page(Task, 'TaskList');
export const TaskListQuery = Type.Object(
  {
    ...PageQuery,
    state: Type.Optional(Type.Enum(['active', 'deleted'], { default: 'active' })),
    connection_status: Type.Optional(Type.Enum(['pending', 'connected', 'disconnected'])),
    name: Type.Optional(Type.String({ maxLength: 200, description: 'Substring of the name, case-insensitive.' })),
  },
  { additionalProperties: false },
);

export const OAuthCallbackQuery = Type.Object(
  {
    code: Type.Optional(Type.String({ maxLength: 2048 })),
    state: Type.Optional(Type.String({ maxLength: 512 })),
    error: Type.Optional(Type.String({ maxLength: 200 })),
    error_description: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: true },
);

export const OAuthConfirmQuery = Type.Object({ state: Type.Optional(Type.String({ maxLength: 512 })) }, { additionalProperties: true });

export const OAuthConfirmForm = Type.Object(
  { state: Type.Optional(Type.String({ maxLength: 512 })), csrf: Type.Optional(Type.String({ maxLength: 128 })) },
  { additionalProperties: true },
);

export const DiscoveryAccepted = Type.Object(
  { task_id: Type.String(), status: Type.Literal('queued') },
  { $id: 'DiscoveryAccepted', additionalProperties: false },
);


const OverviewEntity = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    kind: Type.Enum(['member', 'team_folder', 'shared_folder']),
    status: Type.Enum(ENTITY_STATUSES),
    last_backup_at: NullableTimestamp(),
    last_error: Type.Union([Type.String(), Type.Null()], { description: 'Why its latest run failed, or the first failed item of a partial one.' }),
  },
  { additionalProperties: false },
);

const OverviewAlert = Type.Object(
  {
    id: Type.String({ description: 'The activity event that recorded the alert (`evt_…`).' }),
    occurred_at: Timestamp(),
    entity_id: Type.Union([Type.String(), Type.Null()]),
    item: Type.Union([Type.String(), Type.Null()]),
    description: Type.String(),
  },
  { additionalProperties: false },
);

export const TaskOverview = Type.Object(
  {
    task_id: Type.String(),
    name: Type.String(),
    connection_status: Type.Enum(['pending', 'connected', 'disconnected']),
    paused_at: NullableTimestamp(),
    entities: Type.Object(
      {
        total: Type.Integer({ description: 'Entities of the task that are not deleted.' }),
        by_status: Type.Record(Type.String(), Type.Integer(), { description: 'Entities per status; every status is present, 0 when none.' }),
        protected: Type.Integer({ description: 'Entities backed up on schedule (scheduled, in process, success, failed, partial).' }),
      },
      { additionalProperties: false },
    ),
    protected_bytes: Type.Integer({ description: 'Size of the latest snapshots of the protected and paused entities.' }),
    protected_items: Type.Integer({ description: 'Files and folders in those snapshots.' }),
    last_backup_at: NullableTimestamp('The most recent backup of any entity of the task.'),
    next_backup_at: NullableTimestamp('The next scheduled backup of any entity; null while the task is paused or disconnected.'),
    failing_entities: Type.Object(
      {
        count: Type.Integer({ description: 'Entities whose latest backup failed or was partial.' }),
        data: Type.Array(OverviewEntity, { description: 'The first 20 of them, the longest without a good backup first.' }),
      },
      { additionalProperties: false },
    ),
    smart_alerts: Type.Object(
      {
        last_7_days: Type.Integer({ description: 'Smart alerts (mass deletion or modification) raised for the task in the last 7 days.' }),
        recent: Type.Array(OverviewAlert, { description: 'The 5 most recent of them.' }),
      },
      { additionalProperties: false },
    ),
  },
  { $id: 'TaskOverview', additionalProperties: false, description: 'What the portal\'s home page shows for one task, in one request.' },
);
export type TaskOverview = Static<typeof TaskOverview>;

export const schemas = [Retention, Task, TaskCreate, TaskUpdate, TaskList, DiscoveryAccepted, TaskOverview];
