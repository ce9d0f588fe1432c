import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { accounts } from './accounts.ts';

export type ConnectionStatus = 'pending' | 'connected' | 'disconnected';
export type Frequency = 'every_hour' | 'every_6_hours' | 'every_12_hours' | 'daily' | 'every_3_days' | 'weekly';
export type Retention = { unit: 'unlimited' } | { unit: 'days' | 'months' | 'years'; value: number };
export type LifecycleState = 'active' | 'deleted';
export type VerificationFrequency = 'off' | 'weekly' | 'monthly';

/** A backup task: one Dropbox team connection and its settings. */
export const tasks = pgTable(
  'tasks',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    plan: text('plan').$type<'business' | 'professional'>().notNull(),
    connectionStatus: text('connection_status').$type<ConnectionStatus>().notNull(),
    connectionError: text('connection_error'),
    /** Sealed under the master key (context 'dropbox-refresh-token'). */
    refreshToken: text('refresh_token'),
    /** SHA-256 of the OAuth `state` we sent, while an authorization is outstanding. */
    oauthStateHash: text('oauth_state_hash'),
    oauthStateExpiresAt: timestamp('oauth_state_expires_at', { withTimezone: true }),
    /** The user who asked for the pending authorization: the confirmation page names them. */
    oauthRequestedBy: text('oauth_requested_by'),
    dropboxTeamId: text('dropbox_team_id'),
    dropboxTeamName: text('dropbox_team_name'),
    /** team_member_id of the admin who authorized us: used for Dropbox-API-Select-Admin. */
    dropboxAdminMemberId: text('dropbox_admin_member_id'),
    indexForSearch: boolean('index_for_search').notNull().default(true),
    autoActivate: boolean('auto_activate').notNull().default(true),
    retainArchivedDays: integer('retain_archived_days'),
    retention: jsonb('retention').$type<Retention>().notNull().default({ unit: 'unlimited' }),
    frequency: text('frequency').$type<Frequency>().notNull().default('daily'),
    backupHour: integer('backup_hour').notNull().default(3),
    /** Scheduled restore drills of every active entity (workers/jobs/verification.ts). */
    verificationFrequency: text('verification_frequency').$type<VerificationFrequency>().notNull().default('off'),
    uploadLimit: integer('upload_limit'),
    uploadCalls: integer('upload_calls').notNull().default(0),
    uploadCallsMonth: text('upload_calls_month'),
    lastDiscoveryAt: timestamp('last_discovery_at', { withTimezone: true }),
    /** Set while the whole task is paused: no entity of it is backed up; each keeps its own status. */
    pausedAt: timestamp('paused_at', { withTimezone: true }),
    state: text('state').$type<LifecycleState>().notNull().default('active'),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    purgeAt: timestamp('purge_at', { withTimezone: true }),
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('tasks_account_idx').on(t.accountId, t.id), uniqueIndex('tasks_oauth_state_key').on(t.oauthStateHash)],
);

/** A member's home, a team folder, or a shared folder (its own namespace, mounted in members' homes). */
export type EntityKind = 'member' | 'team_folder' | 'shared_folder';
/** Every status an entity can be in (the API's enum is this list). */
export const ENTITY_STATUSES = ['not_active', 'scheduled', 'in_process', 'success', 'failed', 'partial', 'paused', 'archived', 'backed_up_in_another_task'] as const;
export type EntityStatus = (typeof ENTITY_STATUSES)[number];
/**
 * Statuses that say "do not back this up", set by a user (paused, archived, not activated) or by
 * discovery (another task backs it up): the scheduler and the engine skip such an entity, and a run
 * that was under way when one was set finishes without overwriting it.
 */
export const NOT_BACKED_UP_STATUSES: readonly EntityStatus[] = ['paused', 'not_active', 'archived', 'backed_up_in_another_task'];

/** A member's folder or a team folder inside a task. */
export const entities = pgTable(
  'entities',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    taskId: text('task_id').notNull().references(() => tasks.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<EntityKind>().notNull(),
    /** team_member_id for members, team_folder_id for team folders. */
    dropboxId: text('dropbox_id').notNull(),
    name: text('name').notNull(),
    email: text('email'),
    namespaceId: text('namespace_id'),
    dropboxStatus: text('dropbox_status').notNull(),
    status: text('status').$type<EntityStatus>().notNull(),
    state: text('state').$type<LifecycleState>().notNull().default('active'),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    purgeAt: timestamp('purge_at', { withTimezone: true }),
    archivedAt: timestamp('archived_at', { withTimezone: true }),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull().default(0),
    itemCount: integer('item_count').notNull().default(0),
    firstBackupAt: timestamp('first_backup_at', { withTimezone: true }),
    lastBackupAt: timestamp('last_backup_at', { withTimezone: true }),
    nextBackupAt: timestamp('next_backup_at', { withTimezone: true }),
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('entities_task_dropbox_key').on(t.taskId, t.kind, t.dropboxId),
    index('entities_account_idx').on(t.accountId, t.id),
    index('entities_due_idx').on(t.nextBackupAt).where(sql`state = 'active'`),
  ],
);

export const tags = pgTable(
  'tags',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('tags_account_name_key').on(t.accountId, sql`lower(${t.name})`), index('tags_account_idx').on(t.accountId, t.id)],
);

export const entityTags = pgTable(
  'entity_tags',
  {
    entityId: text('entity_id').notNull().references(() => entities.id, { onDelete: 'cascade' }),
    tagId: text('tag_id').notNull().references(() => tags.id, { onDelete: 'cascade' }),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.entityId, t.tagId] }), index('entity_tags_tag_idx').on(t.tagId)],
);
