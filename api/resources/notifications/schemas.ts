import { Type, type Static } from '@fastify/type-provider-typebox';
import { Page, PageQuery, Timestamp } from '../../schemas/common.ts';

export const NOTIFICATION_TYPES = ['summary_report', 'recovery', 'exceptions', 'auto_discovery', 'smart_alerts'] as const;

const AlertFields = {
  enabled: Type.Boolean({ description: 'Raise smart alerts at all.' }),
  deleted_share_percent: Type.Number({ minimum: 0.1, maximum: 100, description: 'Alert when a run deletes at least this share (%) of the entity\'s items.' }),
  modified_share_percent: Type.Number({ minimum: 0.1, maximum: 100, description: 'Alert when a run modifies at least this share (%) of the entity\'s items.' }),
  norm_multiple: Type.Number({ minimum: 1, maximum: 1000, description: 'And the share is at least this multiple of the entity\'s recent norm (its average share over the last `history_runs` runs).' }),
  min_items: Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'And at least this many items were deleted (or modified): small entities do not alert on a handful of files.' }),
  history_runs: Type.Integer({ minimum: 1, maximum: 100, description: 'How many earlier completed runs make the recent norm.' }),
};

export const SmartAlertThresholds = Type.Object(AlertFields, {
  $id: 'SmartAlertThresholds',
  additionalProperties: false,
  description: 'A backup run raises a smart alert (a ransomware or mass-deletion signal) when its deleted or modified share passes every threshold.',
});
export type SmartAlertThresholds = Static<typeof SmartAlertThresholds>;

export const NotificationSettings = Type.Object(
  {
    summary_report: Type.Boolean({ description: 'Send the summary report.' }),
    format: Type.Enum(['backup_tasks_overview', 'backup_failure_details'], { description: 'backup_tasks_overview: one row per entity; backup_failure_details: one row per failed or partial run.' }),
    frequency: Type.Enum(['daily', 'weekly', 'monthly'], { description: 'Reports cover the previous UTC day, ISO week (Monday–Sunday) or calendar month.' }),
    only_on_failure: Type.Boolean({ description: 'Send the report only when a backup in the period failed (or partly failed).' }),
    delivery: Type.Enum(['csv_attachment', 'download_link'], { description: 'The CSV attached to the email, or a signed download link valid for 7 days.' }),
    smart_alerts: SmartAlertThresholds,
    updated_at: Timestamp(),
  },
  { $id: 'NotificationSettings', additionalProperties: false },
);
export type NotificationSettings = Static<typeof NotificationSettings>;

export const NotificationSettingsUpdate = Type.Object(
  {
    summary_report: Type.Optional(Type.Boolean()),
    format: Type.Optional(Type.Enum(['backup_tasks_overview', 'backup_failure_details'])),
    frequency: Type.Optional(Type.Enum(['daily', 'weekly', 'monthly'])),
    only_on_failure: Type.Optional(Type.Boolean()),
    delivery: Type.Optional(Type.Enum(['csv_attachment', 'download_link'])),
    smart_alerts: Type.Optional(Type.Partial(Type.Object(AlertFields, { additionalProperties: false }), { additionalProperties: false })),
  },
  { $id: 'NotificationSettingsUpdate', additionalProperties: false },
);
export type NotificationSettingsUpdate = Static<typeof NotificationSettingsUpdate>;

const Types = Type.Array(Type.Enum([...NOTIFICATION_TYPES]), { uniqueItems: true, maxItems: NOTIFICATION_TYPES.length, description: 'What this recipient receives.' });

export const NotificationRecipient = Type.Object(
  {
    id: Type.String({ examples: ['rcp_01jd8x4z3q9v6w2k5m7n0p1r8s'] }),
    email: Type.String(),
    display_name: Type.String({ description: 'Used to address the recipient in the email.' }),
    types: Types,
    created_at: Timestamp(),
    updated_at: Timestamp(),
  },
  { $id: 'NotificationRecipient', additionalProperties: false },
);
export type NotificationRecipient = Static<typeof NotificationRecipient>;

export const NotificationRecipientCreate = Type.Object(
  {
    email: Type.String({ format: 'email', maxLength: 254 }),
    display_name: Type.String({ minLength: 1, maxLength: 200 }),
    types: Types,
  },
  { $id: 'NotificationRecipientCreate', additionalProperties: false },
);
export type NotificationRecipientCreate = Static<typeof NotificationRecipientCreate>;

export const NotificationRecipientUpdate = Type.Object(
  {
    email: Type.Optional(Type.String({ format: 'email', maxLength: 254 })),
    display_name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    types: Type.Optional(Types),
  },
  { $id: 'NotificationRecipientUpdate', additionalProperties: false },
);
export type NotificationRecipientUpdate = Static<typeof NotificationRecipientUpdate>;

export const NotificationRecipientList = Page(NotificationRecipient, 'NotificationRecipientList');
export const RecipientListQuery = Type.Object(
  { ...PageQuery, type: Type.Optional(Type.Enum([...NOTIFICATION_TYPES], { description: 'Only recipients of this notification type.' })) },
  { additionalProperties: false },
);

export const SummaryReportSent = Type.Object(
  {
    period_start: Timestamp(),
    period_end: Timestamp(),
    sent: Type.Boolean({ description: 'False when nothing was sent (no recipients, or only_on_failure and no failure).' }),
    recipients: Type.Integer(),
    rows: Type.Integer({ description: 'Rows in the CSV.' }),
    reason: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'SummaryReportSent', additionalProperties: false },
);
export type SummaryReportSent = Static<typeof SummaryReportSent>;

export const ReportPreviewQuery = Type.Object(
  { format: Type.Optional(Type.Enum(['backup_tasks_overview', 'backup_failure_details'])) },
  { additionalProperties: false },
);

export const ReportDownloadQuery = Type.Object(
  {
    expires: Type.Integer({ description: 'Unix time the link expires at.' }),
    signature: Type.String({ maxLength: 128 }),
  },
  { additionalProperties: false },
);

export const schemas = [SmartAlertThresholds, NotificationSettings, NotificationSettingsUpdate, NotificationRecipient, NotificationRecipientCreate,
  NotificationRecipientUpdate, NotificationRecipientList, SummaryReportSent];
