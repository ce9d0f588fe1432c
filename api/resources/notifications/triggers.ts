// What the rest of Coffer calls when something worth telling happened. Each trigger:
//  - is idempotent per event: it claims a key in notification_log (`run:<id>`, `job:<id>:<state>`,
//    `task-disconnected:<id>:<version>`, `discovery:<event id>`) in the transaction that records
//    its effects, so calling it twice (a retried job) notifies once;
//  - writes its webhook events (emitEvent) and, for smart alerts, the activity and audit entries in
//    that transaction; mails the recipients subscribed to the type after the commit (through the
//    `notifications` queue when there is one, so SMTP never holds up the caller);
//  - never throws into the caller (a failure is logged and reported as { notified: false }).
// Callers pass ids; the triggers read the current rows themselves.
import { and, desc, eq, inArray, lt } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { Db } from '../../../db/client.ts';
import { accounts, activityEvents, backupRuns, entities, jobs, notificationLog, tasks, type NotificationType } from '../../../db/schema.ts';
import { newId } from '../../../db/ids.ts';
import { emitEvent } from '../webhooks/service.ts';
import { enqueue, QUEUES, type MailJob } from '../../../workers/queue.ts';
import { audit } from '../audit/service.ts';
import { recipientsOf, settingsRow } from './service.ts';
import { detectAnomalies, type Anomaly } from './smart-alerts.ts';
import { render, type Message } from './templates.ts';
import { exportLink, mailInitiator } from './initiator.ts';

export type Transaction = Parameters<Parameters<Db['transaction']>[0]>[0];
type RunRow = typeof backupRuns.$inferSelect;

export interface TriggerResult {
  /** False when the event was already notified (a repeated call) or nothing applied. */
  notified: boolean;
  /** Emails handed to the mailer. */
  mails: number;
  webhookEvents: string[];
  reason?: string;
  anomalies?: Anomaly[];
}

export const skip = (reason: string): TriggerResult => ({ notified: false, mails: 0, webhookEvents: [], reason });

/** Claims an event key; false when it was claimed before. */
export async function claim(deps: Pick<AppDeps, 'clock'>, tx: Transaction, accountId: string, key: string): Promise<boolean> {
  const rows = await tx.insert(notificationLog).values({ accountId, key, createdAt: deps.clock.now() }).onConflictDoNothing().returning({ key: notificationLog.key });
  return rows.length > 0;
}

/**
 * Mails a message to every recipient of a type (each addressed by name). With a queue the sending
 * is a `notifications` job, so a slow or unreachable SMTP server never holds up the caller (a
 * backup or recovery worker); without one (API-only tests) it is sent here. Returns the number of
 * recipients.
 */
export async function mailRecipients(deps: AppDeps, accountId: string, type: NotificationType, message: Message, exclude: string[] = []): Promise<number> {
  const recipients = (await recipientsOf(deps.db, accountId, type)).filter((r) => !exclude.includes(r.email.toLowerCase()));
  if (!recipients.length) return 0;
  if (deps.boss) {
    await enqueue(deps, null, QUEUES.notifications, { accountId, type, message, ...(exclude.length ? { exclude } : {}) });
    return recipients.length;
  }
  for (const r of recipients) await deps.mailer.send(render(message, { email: r.email, displayName: r.displayName }));
  return recipients.length;
}

/** The `notifications` worker: sends each job's message to the recipients of its type as they are now. */
export async function sendMailJobs(deps: AppDeps, jobs: { data: MailJob }[]): Promise<number> {
  let sent = 0;
  for (const { data } of jobs) {
    const recipients = (await recipientsOf(deps.db, data.accountId, data.type)).filter((r) => !data.exclude?.includes(r.email.toLowerCase()));
    for (const r of recipients) {
      await deps.mailer.send(render(data.message, { email: r.email, displayName: r.displayName }));
      sent++;
    }
  }
  return sent;
}

export async function guarded(deps: Pick<AppDeps, 'log'>, name: string, fn: () => Promise<TriggerResult>): Promise<TriggerResult> {
  try {
    return await fn();
  } catch (err) {
    deps.log.error({ err }, `notifications: ${name} failed`);
    return skip(`error: ${(err as Error).message}`);
  }
}

export async function accountName(deps: Pick<AppDeps, 'db'>, accountId: string): Promise<string> {
  return (await deps.db.select({ name: accounts.name }).from(accounts).where(eq(accounts.id, accountId)))[0]?.name ?? accountId;
}

function runPayload(run: RunRow, entity: { name: string; kind: string } | undefined, taskName: string | undefined) {
  return {
    run_id: run.id, task_id: run.taskId, task_name: taskName ?? null, entity_id: run.entityId, entity_name: entity?.name ?? null, entity_kind: entity?.kind ?? null,
    state: run.state, mode: run.mode, reason: run.reason, started_at: run.startedAt.toISOString(), finished_at: run.finishedAt?.toISOString() ?? null,
    counts: { new: run.newCount, changed: run.changedCount, deleted: run.deletedCount, failed: run.failedCount, unchanged: run.unchangedCount },
    total_items: run.totalItems, total_size: run.totalSize, bytes_downloaded: run.bytesDownloaded, error: run.error,
  };
}

const ALERT_LABEL: Record<Anomaly['kind'], string> = { mass_deletion: 'mass deletion', mass_modification: 'mass modification' };

/**
 * A backup run finished (succeeded, partial or failed): webhooks `backup.run_finished` /
 * `backup.run_failed`, an exceptions mail for failed and partial runs, and smart-alert detection
 * for completed runs. Call it after the run's final state committed.
 */
export async function notifyRunFinished(deps: AppDeps, run: { id: string }): Promise<TriggerResult> {
  return guarded(deps, 'notifyRunFinished', async () => {
    const [row] = await deps.db.select().from(backupRuns).where(eq(backupRuns.id, run.id));
    if (!row) return skip('no such run');
    if (row.state === 'running') return skip('the run has not finished');
    const [entity] = await deps.db.select({ name: entities.name, kind: entities.kind }).from(entities).where(eq(entities.id, row.entityId));
    const [task] = await deps.db.select({ name: tasks.name }).from(tasks).where(eq(tasks.id, row.taskId));
    const payload = runPayload(row, entity, task?.name);
    const failed = row.state === 'failed' || row.state === 'partial';

    const outcome = await deps.db.transaction(async (tx) => {
      if (!(await claim(deps, tx, row.accountId, `run:${row.id}`))) return null;
      const webhookEvents: string[] = [];
      await emitEvent(deps, tx, row.accountId, row.state === 'failed' ? 'backup.run_failed' : 'backup.run_finished', payload);
      webhookEvents.push(row.state === 'failed' ? 'backup.run_failed' : 'backup.run_finished');
      let anomalies: Anomaly[] = [];
      if (row.state === 'succeeded' || row.state === 'partial') {
        const settings = await settingsRow(deps, tx, row.accountId);
        if (settings.alerts.enabled) {
          const history = await tx.select().from(backupRuns)
            .where(and(eq(backupRuns.entityId, row.entityId), lt(backupRuns.id, row.id), inArray(backupRuns.state, ['succeeded', 'partial'])))
            .orderBy(desc(backupRuns.id)).limit(settings.alerts.history_runs);
          anomalies = detectAnomalies(row, history, settings.alerts);
        }
        for (const a of anomalies) {
          const description = `Smart alert: ${ALERT_LABEL[a.kind]} in ${entity?.name ?? row.entityId} — ${a.count} of ${a.base} items (${a.share_percent}%) ${a.kind === 'mass_deletion' ? 'deleted' : 'modified'} in one backup; the recent norm is ${a.norm_percent}%.`;
          const alertId = newId('evt');
          await tx.insert(activityEvents).values({
            id: alertId, accountId: row.accountId, type: 'smart_alert', status: 'succeeded', taskId: row.taskId, taskName: task?.name ?? null,
            entityId: row.entityId, item: entity?.name ?? null, description, counts: { count: a.count, base: a.base },
            details: { run_id: row.id, ...a }, occurredAt: deps.clock.now(),
          });
          await audit(deps, row.accountId, {
            type: 'smart_alert', description, service: 'dropbox', task: task?.name ?? null,
            details: { run_id: row.id, entity_id: row.entityId, activity_event_id: alertId, ...a }, performedBy: null, ip: null, userAgent: null,
          }, tx);
          await emitEvent(deps, tx, row.accountId, 'smart_alert.raised', { alert_id: alertId, ...payload, alert: a });
          webhookEvents.push('smart_alert.raised');
        }
      }
      return { webhookEvents, anomalies };
    });
    if (!outcome) return skip('already notified');

    let mails = 0;
    const name = entity?.name ?? row.entityId;
    if (failed) {
      const what = row.state === 'failed' ? 'failed' : 'partially failed';
      const errors = row.errors.slice(0, 20);
      mails += await mailRecipients(deps, row.accountId, 'exceptions', {
        subject: `Backup ${what}: ${name}${task ? ` (${task.name})` : ''}`,
        heading: `Backup ${what}`,
        paragraphs: [
          `The backup of ${name}${task ? ` in task ${task.name}` : ''} ${what} at ${(row.finishedAt ?? deps.clock.now()).toISOString()}.`,
          row.state === 'failed'
            ? `Reason: ${row.error ?? 'unknown'}. Nothing from this run was kept; the next scheduled backup will try again.`
            : `${row.failedCount} item(s) could not be backed up; everything else was (${row.newCount} new, ${row.changedCount} changed, ${row.deletedCount} deleted). The next backup retries the failed items.`,
        ],
        table: errors.length ? { columns: ['Path', 'Error'], rows: errors.map((e) => [e.path, e.error]) } : undefined,
      });
    }
    for (const a of outcome.anomalies) {
      mails += await mailRecipients(deps, row.accountId, 'smart_alerts', {
        subject: `Smart alert: ${ALERT_LABEL[a.kind]} detected in ${name}`,
        heading: `Smart alert: ${ALERT_LABEL[a.kind]}`,
        paragraphs: [
          `The backup of ${name}${task ? ` in task ${task.name}` : ''} found ${a.count} of ${a.base} items (${a.share_percent}%) ${a.kind === 'mass_deletion' ? 'deleted' : 'modified'} since the previous backup. The entity's recent norm is ${a.norm_percent}%.`,
          'This can be a sign of ransomware or of a mass deletion. Earlier snapshots are intact: review the changes and restore from a snapshot taken before this backup if needed.',
        ],
        table: { columns: ['Signal', 'Items', 'Share', 'Threshold', 'Recent norm'], rows: [[ALERT_LABEL[a.kind], a.count, `${a.share_percent}%`, `${a.threshold_percent}%`, `${a.norm_percent}%`]] },
      });
    }
    return { notified: true, mails, webhookEvents: outcome.webhookEvents, anomalies: outcome.anomalies };
  });
}

const TERMINAL = ['succeeded', 'partially_succeeded', 'failed', 'canceled'];
const JOB_STATE_TEXT: Record<string, string> = {
  succeeded: 'completed successfully', partially_succeeded: 'completed with some failures', failed: 'failed', canceled: 'was canceled',
};

/**
 * A restore or export job changed state: webhook `job.state_changed` for every state passed in;
 * for a terminal state also a recovery mail. Idempotent per (job, state).
 */
export async function notifyJobFinished(deps: AppDeps, job: { id: string }): Promise<TriggerResult> {
  return guarded(deps, 'notifyJobFinished', async () => {
    const [row] = await deps.db.select().from(jobs).where(eq(jobs.id, job.id));
    if (!row) return skip('no such job');
    const [entity] = await deps.db.select({ name: entities.name }).from(entities).where(eq(entities.id, row.entityId));
    const [task] = await deps.db.select({ name: tasks.name }).from(tasks).where(eq(tasks.id, row.taskId));
    const claimed = await deps.db.transaction(async (tx) => {
      if (!(await claim(deps, tx, row.accountId, `job:${row.id}:${row.state}`))) return false;
      await emitEvent(deps, tx, row.accountId, 'job.state_changed', {
        job_id: row.id, type: row.type, state: row.state, task_id: row.taskId, task_name: task?.name ?? null, entity_id: row.entityId, entity_name: entity?.name ?? null,
        snapshot_id: row.snapshotId, items_total: row.itemsTotal, items_done: row.itemsDone, items_failed: row.itemsFailed, bytes_done: row.bytesDone,
        reason: row.reason, created_at: row.createdAt.toISOString(), finished_at: row.finishedAt?.toISOString() ?? null,
      });
      return true;
    });
    if (!claimed) return skip('already notified');
    if (!TERMINAL.includes(row.state)) return { notified: true, mails: 0, webhookEvents: ['job.state_changed'] };
    const kind = row.type === 'restore' ? 'Restore' : 'Export';
    const name = entity?.name ?? row.entityId;
    const errors = row.errors.slice(0, 20);
    const link = exportLink(deps, row);
    const message: Message = {
      subject: `${kind} ${JOB_STATE_TEXT[row.state]}: ${name}`,
      heading: `${kind} ${JOB_STATE_TEXT[row.state]}`,
      paragraphs: [
        `The ${kind.toLowerCase()} of ${name}${task ? ` (task ${task.name})` : ''} from the snapshot of ${row.snapshotAt.toISOString()} ${JOB_STATE_TEXT[row.state]}.`,
        `Items: ${row.itemsDone} done, ${row.itemsFailed} failed of ${row.itemsTotal}.${row.reason ? ` ${row.reason}` : ''}`,
        ...(row.initiatorEmail ? [`Requested by ${row.initiatorEmail}.`] : []),
        ...(link ? [`The archive can be downloaded from Coffer (job ${row.id}, GET /v1/jobs/${row.id}/download) until ${link.expiresAt.toISOString()} (UTC).`] : []),
      ],
      table: errors.length ? { columns: ['Path', 'Error'], rows: errors.map((e) => [e.path, e.error]) } : undefined,
    };
    // The initiator's own copy first; a recipient who is the initiator gets only that one.
    const initiator = await mailInitiator(deps, row, message);
    const mails = (initiator ? 1 : 0) + await mailRecipients(deps, row.accountId, 'recovery', message, initiator ? [initiator] : []);
    return { notified: true, mails, webhookEvents: ['job.state_changed'] };
  });
}

/** A task lost its Dropbox connection: webhook `task.disconnected` and an exceptions mail. Idempotent per task version. */
export async function notifyTaskDisconnected(deps: AppDeps, task: { id: string }): Promise<TriggerResult> {
  return guarded(deps, 'notifyTaskDisconnected', async () => {
    const [row] = await deps.db.select().from(tasks).where(eq(tasks.id, task.id));
    if (!row) return skip('no such task');
    if (row.connectionStatus !== 'disconnected') return skip('the task is not disconnected');
    const claimed = await deps.db.transaction(async (tx) => {
      if (!(await claim(deps, tx, row.accountId, `task-disconnected:${row.id}:${row.version}`))) return false;
      await emitEvent(deps, tx, row.accountId, 'task.disconnected', {
        task_id: row.id, task_name: row.name, dropbox_team_name: row.dropboxTeamName, error: row.connectionError, updated_at: row.updatedAt.toISOString(),
      });
      return true;
    });
    if (!claimed) return skip('already notified');
    const mails = await mailRecipients(deps, row.accountId, 'exceptions', {
      subject: `Backup task disconnected: ${row.name}`,
      heading: 'Backup task disconnected',
      paragraphs: [
        `Coffer can no longer reach Dropbox for the backup task ${row.name}${row.dropboxTeamName ? ` (team ${row.dropboxTeamName})` : ''}.`,
        `Reason: ${row.connectionError ?? 'the authorization was revoked or expired'}.`,
        `Backups of this task are paused until an administrator reconnects it: POST /v1/tasks/${row.id}/reconnect (or Reconnect in the portal), then open the authorize_url it answers.`,
      ],
    });
    return { notified: true, mails, webhookEvents: ['task.disconnected'] };
  });
}

/**
 * Discovery found new entities: webhook `entity.discovered` (one event listing them) and an
 * auto-discovery mail. Pass the discovery activity event (its `details.new_entity_ids`).
 */
export async function notifyDiscovery(deps: AppDeps, event: { id: string }): Promise<TriggerResult> {
  return guarded(deps, 'notifyDiscovery', async () => {
    const [row] = await deps.db.select().from(activityEvents).where(eq(activityEvents.id, event.id));
    if (!row || row.type !== 'discovery') return skip('no such discovery event');
    const ids = ((row.details as { new_entity_ids?: unknown } | null)?.new_entity_ids ?? []) as string[];
    if (!Array.isArray(ids) || ids.length === 0) return skip('no new entities');
    const found = await deps.db.select().from(entities).where(and(eq(entities.accountId, row.accountId), inArray(entities.id, ids))).orderBy(entities.name);
    if (!found.length) return skip('the new entities are gone');
    const list = found.map((e) => ({ entity_id: e.id, name: e.name, kind: e.kind, email: e.email, status: e.status, activated: e.status !== 'not_active' }));
    const claimed = await deps.db.transaction(async (tx) => {
      if (!(await claim(deps, tx, row.accountId, `discovery:${row.id}`))) return false;
      await emitEvent(deps, tx, row.accountId, 'entity.discovered', { task_id: row.taskId, task_name: row.taskName, discovery_event_id: row.id, entities: list.slice(0, 1000), count: list.length });
      return true;
    });
    if (!claimed) return skip('already notified');
    const activated = list.filter((e) => e.activated).length;
    const mails = await mailRecipients(deps, row.accountId, 'auto_discovery', {
      subject: `${list.length} new ${list.length === 1 ? 'entity' : 'entities'} found in ${row.taskName ?? 'your Dropbox team'}`,
      heading: 'New users and team folders found',
      paragraphs: [
        `Auto-discovery found ${list.length} new ${list.length === 1 ? 'entity' : 'entities'} in ${row.taskName ?? 'the backup task'}; ${activated} ${activated === 1 ? 'was' : 'were'} activated for backup.`,
        ...(activated < list.length ? ['Entities that are not active are not backed up until you activate them.'] : []),
      ],
      table: { columns: ['Name', 'Kind', 'Email', 'Backup'], rows: list.slice(0, 200).map((e) => [e.name, e.kind === 'member' ? 'user' : 'team folder', e.email, e.activated ? 'activated' : 'not active']) },
    });
    return { notified: true, mails, webhookEvents: ['entity.discovered'] };
  });
}

