import { Type, type Static } from '@fastify/type-provider-typebox';
import { Page, PageQuery, Timestamp } from '../../schemas/common.ts';

const Nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Integer>>(s: T) => Type.Union([s, Type.Null()]);

export const ACTIVITY_TYPES = ['backup', 'restore', 'export', 'discovery', 'smart_alert'] as const;
export const ACTIVITY_STATUSES = ['succeeded', 'partially_succeeded', 'failed', 'in_progress', 'canceled'] as const;

const fields = {
  id: Type.String({ examples: ['evt_01jd8x4z3q9v6w2k5m7n0p1r8s'] }),
  date: Timestamp('When it happened (the seed\'s "Date and Time").'),
  activity: Type.Enum([...ACTIVITY_TYPES]),
  service: Type.String({ description: 'The service, e.g. `dropbox`.' }),
  sub_service: Nullable(Type.String({ description: 'The sub-service (files, team folders, …), when one applies.' })),
  status: Type.Enum([...ACTIVITY_STATUSES]),
  task_id: Nullable(Type.String()),
  task_name: Nullable(Type.String({ description: 'The task\'s name when the event happened (kept if the task is renamed or deleted).' })),
  entity_id: Nullable(Type.String()),
  item: Nullable(Type.String({ description: 'The user or team folder (or item) the event concerns.' })),
  job_id: Nullable(Type.String()),
  description: Type.String(),
  duration_ms: Nullable(Type.Integer({ minimum: 0, description: 'Execution time in milliseconds.' })),
  size_bytes: Nullable(Type.Integer({ minimum: 0, description: 'Size of the data stored, restored or exported.' })),
  counts: Type.Union([Type.Record(Type.String(), Type.Number()), Type.Null()], { description: 'Counts of entities / items, by kind.' }),
};

export const ActivityEvent = Type.Object(fields, {
  $id: 'ActivityEvent', additionalProperties: false,
  description: 'A system activity event (seed 5.1.1): what a backup, restore, export or discovery did.',
});
export type ActivityEvent = Static<typeof ActivityEvent>;

export const ActivityEventDetail = Type.Object(
  {
    ...fields,
    execution_time: Nullable(Type.String({ description: 'The execution time for people, e.g. `1h 02m 03s`.', examples: ['4m 12s'] })),
    summary: Type.String({ description: 'The summary of the execution (the seed\'s info pop-up).' }),
    details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  },
  { $id: 'ActivityEventDetail', additionalProperties: false, description: 'An activity event with its details (the seed\'s ⓘ pop-up): execution time, size, counts, summary.' },
);
export type ActivityEventDetail = Static<typeof ActivityEventDetail>;

export const ActivityEventList = Page(ActivityEvent, 'ActivityEventList');

export const ActivityListQuery = Type.Object(
  {
    ...PageQuery,
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Events at or after this time.' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Events before this time.' })),
    activity: Type.Optional(Type.Enum([...ACTIVITY_TYPES])),
    service: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    status: Type.Optional(Type.Enum([...ACTIVITY_STATUSES])),
    task_name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Task names containing this text (case-insensitive).' })),
    item: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Items containing this text (case-insensitive).' })),
    task_id: Type.Optional(Type.String({ pattern: '^task_[0-9a-z]{26}$' })),
    entity_id: Type.Optional(Type.String({ pattern: '^ent_[0-9a-z]{26}$' })),
    job_id: Type.Optional(Type.String({ pattern: '^job_[0-9a-z]{26}$', description: 'The events of one restore or export job (the portal\'s "View Log").' })),
  },
  { additionalProperties: false },
);
export type ActivityListQuery = Static<typeof ActivityListQuery>;

export const schemas = [ActivityEvent, ActivityEventDetail, ActivityEventList];
