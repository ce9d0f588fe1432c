import { sql } from 'drizzle-orm';
import { bigint, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { accounts } from './accounts.ts';

export type ActivityType = 'backup' | 'restore' | 'export' | 'discovery' | 'smart_alert';
export type ActivityStatus = 'succeeded' | 'partially_succeeded' | 'failed' | 'in_progress' | 'canceled';

/** System activity (the seed's Activity > System activity): what backups, restores, exports and discovery did. */
export const activityEvents = pgTable(
  'activity_events',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    type: text('type').$type<ActivityType>().notNull(),
    service: text('service').notNull().default('dropbox'),
    subService: text('sub_service'),
    status: text('status').$type<ActivityStatus>().notNull(),
    /** No foreign keys: the log outlives what it describes (names are copied in). */
    taskId: text('task_id'),
    taskName: text('task_name'),
    entityId: text('entity_id'),
    item: text('item'),
    jobId: text('job_id'),
    description: text('description').notNull(),
    durationMs: integer('duration_ms'),
    sizeBytes: bigint('size_bytes', { mode: 'number' }),
    counts: jsonb('counts').$type<Record<string, number>>(),
    details: jsonb('details').$type<Record<string, unknown>>(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    index('activity_events_account_idx').on(t.accountId, t.id),
    index('activity_events_entity_idx').on(t.entityId, t.id),
    index('activity_events_job_idx').on(t.jobId, t.id).where(sql`job_id is not null`),
    // Smart alerts are rare among the backup events: the overviews and the partner roll-up count
    // an account's recent ones without reading every event of the account.
    index('activity_events_smart_alert_idx').on(t.accountId, t.occurredAt).where(sql`type = 'smart_alert'`),
  ],
);
