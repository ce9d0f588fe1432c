// Notification settings (one row per account, created with the defaults on first use) and
// recipients (seed 5.5).
import { and, desc, eq, lt, sql, type SQL } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import type { Tx } from '../../../db/client.ts';
import { notificationRecipients, notificationSettings, type NotificationType } from '../../../db/schema.ts';
import { newId } from '../../../db/ids.ts';
import { conflict, notFound, preconditionFailed } from '../../errors.ts';
import { toPage, type PageRequest } from '../../pagination.ts';
import { DEFAULT_ALERT_THRESHOLDS } from './smart-alerts.ts';
import { audit, type Transaction } from '../audit/service.ts';
import { beforeAfter } from '../audit/changes.ts';
import type { NotificationRecipient, NotificationRecipientCreate, NotificationRecipientUpdate, NotificationSettings, NotificationSettingsUpdate } from './schemas.ts';
import { checkVersion } from '../../etag.ts';

export type SettingsRow = typeof notificationSettings.$inferSelect;
type RecipientRow = typeof notificationRecipients.$inferSelect;

/** The account's settings row, created with the defaults when it does not exist yet. */
export async function settingsRow(deps: Pick<AppDeps, 'clock'>, db: Tx, accountId: string): Promise<SettingsRow> {
  const [row] = await db.select().from(notificationSettings).where(eq(notificationSettings.accountId, accountId));
  if (row) return { ...row, alerts: { ...DEFAULT_ALERT_THRESHOLDS, ...row.alerts } };
  await db.insert(notificationSettings).values({ accountId, alerts: DEFAULT_ALERT_THRESHOLDS, updatedAt: deps.clock.now() }).onConflictDoNothing();
  const [created] = await db.select().from(notificationSettings).where(eq(notificationSettings.accountId, accountId));
  return created!;
}

function serializeSettings(row: SettingsRow): NotificationSettings {
  return {
    summary_report: row.summaryEnabled, format: row.format, frequency: row.frequency, only_on_failure: row.onlyOnFailure, delivery: row.delivery,
    smart_alerts: { ...DEFAULT_ALERT_THRESHOLDS, ...row.alerts }, updated_at: row.updatedAt.toISOString(),
  };
}

export async function getSettings(deps: AppDeps, ctx: RequestContext) {
  const row = await settingsRow(deps, deps.db, ctx.accountId);
  return { settings: serializeSettings(row), version: row.version };
}

export async function updateSettings(deps: AppDeps, ctx: RequestContext, input: NotificationSettingsUpdate, expected: number | undefined) {
  const current = await settingsRow(deps, deps.db, ctx.accountId);
  checkVersion(expected, current.version, 'The notification configuration');
  const changes: Partial<SettingsRow> = {};
  if (input.summary_report !== undefined) changes.summaryEnabled = input.summary_report;
  if (input.format !== undefined) changes.format = input.format;
  if (input.frequency !== undefined) changes.frequency = input.frequency;
  if (input.only_on_failure !== undefined) changes.onlyOnFailure = input.only_on_failure;
  if (input.delivery !== undefined) changes.delivery = input.delivery;
  if (input.smart_alerts !== undefined) changes.alerts = { ...DEFAULT_ALERT_THRESHOLDS, ...current.alerts, ...input.smart_alerts };
  const row = await deps.db.transaction(async (tx) => {
    const [updated] = await tx.update(notificationSettings)
      .set({ ...changes, version: current.version + 1, updatedAt: deps.clock.now() })
      .where(and(eq(notificationSettings.accountId, ctx.accountId), eq(notificationSettings.version, current.version)))
      .returning();
    if (!updated) throw preconditionFailed('The notification settings changed while this request ran.');
    await audit(deps, ctx, { type: 'notification_settings_changed', description: 'Notification settings changed', details: beforeAfter(serializeSettings(current), serializeSettings(updated)) }, tx);
    return updated;
  });
  return { settings: serializeSettings(row), version: row.version };
}

function serializeRecipient(row: RecipientRow): NotificationRecipient {
  return {
    id: row.id, email: row.email, display_name: row.displayName, types: row.types,
    created_at: row.createdAt.toISOString(), updated_at: row.updatedAt.toISOString(),
  };
}

const isUniqueViolation = (err: unknown) =>
  (err as { code?: string }).code === '23505' || (err as { cause?: { code?: string } }).cause?.code === '23505';

const ORDER: NotificationType[] = ['summary_report', 'recovery', 'exceptions', 'auto_discovery', 'smart_alerts'];
const normTypes = (types: NotificationType[]) => ORDER.filter((t) => types.includes(t));

export async function createRecipient(deps: AppDeps, ctx: RequestContext, input: NotificationRecipientCreate) {
  const now = deps.clock.now();
  try {
    const row = await deps.db.transaction(async (tx) => {
      const [created] = await tx.insert(notificationRecipients).values({
        id: newId('rcp'), accountId: ctx.accountId, email: input.email.trim(), displayName: input.display_name.trim(), types: normTypes(input.types), createdAt: now, updatedAt: now,
      }).returning();
      await auditRecipient(deps, ctx, tx, 'notification_recipient_added', `Notification recipient ${created!.email} added`, null, created!);
      return created;
    });
    return { recipient: serializeRecipient(row!), version: row!.version };
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict('recipient_exists', `${input.email} is already a recipient.`);
    throw err;
  }
}

export async function listRecipients(deps: AppDeps, ctx: RequestContext, page: PageRequest, filter: { type?: NotificationType }) {
  const where: (SQL | undefined)[] = [eq(notificationRecipients.accountId, ctx.accountId)];
  if (filter.type) where.push(sql`${notificationRecipients.types} @> ${JSON.stringify([filter.type])}::jsonb`);
  if (page.after) where.push(lt(notificationRecipients.id, page.after));
  const rows = await deps.db.select().from(notificationRecipients).where(and(...where)).orderBy(desc(notificationRecipients.id)).limit(page.limit + 1);
  return toPage(rows, page.limit, serializeRecipient);
}

async function findRecipient(deps: AppDeps, ctx: RequestContext, id: string): Promise<RecipientRow> {
  const [row] = await deps.db.select().from(notificationRecipients).where(and(eq(notificationRecipients.accountId, ctx.accountId), eq(notificationRecipients.id, id)));
  if (!row) throw notFound('Notification recipient', id);
  return row;
}

export async function getRecipient(deps: AppDeps, ctx: RequestContext, id: string) {
  const row = await findRecipient(deps, ctx, id);
  return { recipient: serializeRecipient(row), version: row.version };
}

export async function updateRecipient(deps: AppDeps, ctx: RequestContext, id: string, input: NotificationRecipientUpdate, expected: number | undefined) {
  const current = await findRecipient(deps, ctx, id);
  checkVersion(expected, current.version, `Recipient ${id}`);
  const changes: Partial<RecipientRow> = {};
  if (input.email !== undefined) changes.email = input.email.trim();
  if (input.display_name !== undefined) changes.displayName = input.display_name.trim();
  if (input.types !== undefined) changes.types = normTypes(input.types);
  try {
    const row = await deps.db.transaction(async (tx) => {
      const [updated] = await tx.update(notificationRecipients)
        .set({ ...changes, version: current.version + 1, updatedAt: deps.clock.now() })
        .where(and(eq(notificationRecipients.accountId, ctx.accountId), eq(notificationRecipients.id, id), eq(notificationRecipients.version, current.version)))
        .returning();
      if (!updated) throw preconditionFailed(`Recipient ${id} changed while this request ran.`);
      await auditRecipient(deps, ctx, tx, 'notification_recipient_updated', `Notification recipient ${updated.email} changed`, current, updated);
      return updated;
    });
    return { recipient: serializeRecipient(row), version: row.version };
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict('recipient_exists', `${input.email} is already a recipient.`);
    throw err;
  }
}

export async function deleteRecipient(deps: AppDeps, ctx: RequestContext, id: string) {
  const current = await findRecipient(deps, ctx, id);
  await deps.db.transaction(async (tx) => {
    await tx.delete(notificationRecipients).where(and(eq(notificationRecipients.accountId, ctx.accountId), eq(notificationRecipients.id, id)));
    await auditRecipient(deps, ctx, tx, 'notification_recipient_removed', `Notification recipient ${current.email} removed`, current, null);
  });
}

function auditRecipient(deps: AppDeps, ctx: RequestContext, tx: Transaction, type: string, description: string, before: RecipientRow | null, after: RecipientRow | null) {
  const id = (after ?? before)!.id;
  return audit(deps, ctx, { type, description, details: { recipient_id: id, ...beforeAfter(before && serializeRecipient(before), after && serializeRecipient(after)) } }, tx);
}

/** The recipients of one notification type (what the triggers mail). */
export async function recipientsOf(db: Tx, accountId: string, type: NotificationType): Promise<RecipientRow[]> {
  return db.select().from(notificationRecipients)
    .where(and(eq(notificationRecipients.accountId, accountId), sql`${notificationRecipients.types} @> ${JSON.stringify([type])}::jsonb`))
    .orderBy(notificationRecipients.id);
}
