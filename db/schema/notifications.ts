// Notifications (seed 5.5: summary report settings and recipients, the notifications Coffer mails)
// and webhooks (endpoints, and one row per delivery of an event to an endpoint).
import { sql } from 'drizzle-orm';
import { boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { accounts } from './accounts.ts';

export type ReportFormat = 'backup_tasks_overview' | 'backup_failure_details';
export type ReportFrequency = 'daily' | 'weekly' | 'monthly';
export type ReportDelivery = 'csv_attachment' | 'download_link';
export type NotificationType = 'summary_report' | 'recovery' | 'exceptions' | 'auto_discovery' | 'smart_alerts';

/** Smart-alert thresholds (see api/resources/notifications/smart-alerts.ts for their meaning). */
export interface AlertThresholds {
  enabled: boolean;
  deleted_share_percent: number;
  modified_share_percent: number;
  norm_multiple: number;
  min_items: number;
  history_runs: number;
}

/** One row per account, created lazily with the defaults on first read or change. */
export const notificationSettings = pgTable('notification_settings', {
  accountId: text('account_id').primaryKey().references(() => accounts.id, { onDelete: 'cascade' }),
  summaryEnabled: boolean('summary_enabled').notNull().default(true),
  format: text('format').$type<ReportFormat>().notNull().default('backup_tasks_overview'),
  frequency: text('frequency').$type<ReportFrequency>().notNull().default('daily'),
  onlyOnFailure: boolean('only_on_failure').notNull().default(false),
  delivery: text('delivery').$type<ReportDelivery>().notNull().default('download_link'),
  alerts: jsonb('alerts').$type<AlertThresholds>().notNull(),
  /** The end of the last period a summary report was sent for. */
  lastReportPeriodEnd: timestamp('last_report_period_end', { withTimezone: true }),
  version: integer('version').notNull().default(1),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export const notificationRecipients = pgTable(
  'notification_recipients',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    displayName: text('display_name').notNull(),
    types: jsonb('types').$type<NotificationType[]>().notNull(),
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('notification_recipients_email_key').on(t.accountId, sql`lower(${t.email})`), index('notification_recipients_account_idx').on(t.accountId, t.id)],
);

/** What was already notified, one row per event key (`run:<id>`, `job:<id>:<state>`, …): triggers are idempotent. */
export const notificationLog = pgTable(
  'notification_log',
  {
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.key] })],
);

/** Summary reports offered as a download link: the CSV is kept until the link expires. */
export const notificationReports = pgTable(
  'notification_reports',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    filename: text('filename').notNull(),
    csv: text('csv').notNull(),
    periodStart: timestamp('period_start', { withTimezone: true }).notNull(),
    periodEnd: timestamp('period_end', { withTimezone: true }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('notification_reports_account_idx').on(t.accountId, t.id)],
);

export type WebhookScope = 'account' | 'customers';

export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    events: jsonb('events').$type<string[]>().notNull(),
    description: text('description'),
    enabled: boolean('enabled').notNull().default(true),
    /** `account`: the account's own events; `customers` (partners only): the events of every customer it manages. */
    scope: text('scope').$type<WebhookScope>().notNull().default('account'),
    /** `whsec_…`, sealed under the master key (context 'webhook-secret'). */
    secret: text('secret').notNull(),
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('webhook_endpoints_account_idx').on(t.accountId, t.id)],
);

export type DeliveryState = 'pending' | 'succeeded' | 'failed';

export interface DeliveryAttempt {
  at: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

/** One event sent to one endpoint: its payload, state and every attempt. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    endpointId: text('endpoint_id').notNull().references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    eventId: text('event_id').notNull(),
    eventType: text('event_type').notNull(),
    /** The exact JSON body sent (the signature covers it). */
    body: text('body').notNull(),
    state: text('state').$type<DeliveryState>().notNull(),
    attempts: jsonb('attempts').$type<DeliveryAttempt[]>().notNull().default([]),
    lastStatusCode: integer('last_status_code'),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
  },
  (t) => [index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.id)],
);

/**
 * Every account event webhooks carry, whether or not an endpoint subscribes to it: the feed of
 * `GET /v1/events` and its stream. `body` is the exact JSON a delivery POSTs. Kept 30 days (the
 * maintenance job deletes older rows).
 */
export const events = pgTable(
  'events',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    body: text('body').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('events_account_idx').on(t.accountId, t.id), index('events_created_idx').on(t.createdAt)],
);
