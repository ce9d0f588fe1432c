// The summary report (seed 5.5): built from the period's backup runs and recovery jobs, as a CSV
// attached to the email or behind a signed download link (HMAC over the report id and the expiry,
// under a key derived from the master key; valid 7 days). The hourly `reports` job sends every
// account's report once its period (previous UTC day, ISO week or calendar month) has ended.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { and, eq, gte, inArray, lt, ne } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import { toCsv } from '../../csv.ts';
import { accounts, backupRuns, entities, jobs, notificationLog, notificationReports, notificationSettings, tasks, webhookDeliveries, type ReportFormat, type ReportFrequency } from '../../../db/schema.ts';
import { newId } from '../../../db/ids.ts';
import { forbidden, gone, notFound } from '../../errors.ts';
import { recipientsOf, settingsRow } from './service.ts';
import { render, type Message } from './templates.ts';
import { accountName } from './triggers.ts';
import type { SummaryReportSent } from './schemas.ts';
import { verifyAuditChain } from '../audit/service.ts';

export const REPORT_LINK_DAYS = 7;
const DAY = 86_400_000;

/** The last complete period before `now`: [start, end). */
export function lastPeriod(now: Date, frequency: ReportFrequency): { start: Date; end: Date } {
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  if (frequency === 'daily') return { start: new Date(midnight - DAY), end: new Date(midnight) };
  if (frequency === 'weekly') {
    const end = midnight - ((now.getUTCDay() + 6) % 7) * DAY; // Monday 00:00
    return { start: new Date(end - 7 * DAY), end: new Date(end) };
  }
  return { start: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)), end: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)) };
}

export interface Report {
  columns: string[];
  rows: (string | number | null)[][];
  csv: string;
  filename: string;
  stats: { runs: number; succeeded: number; partial: number; failed: number; entities: number; jobs: number; jobsFailed: number };
  failures: { at: string; task: string; entity: string; state: string; error: string }[];
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** The period's restore drills (verifications), as one sentence; nothing when there were none. */
async function drillsLine(deps: Pick<AppDeps, 'sql'>, accountId: string, start: Date, end: Date): Promise<string[]> {
  const [row] = await deps.sql<{ n: number; failed: number }[]>`
    select count(*)::int as n, count(*) filter (where state = 'failed')::int as failed from verifications
    where account_id = ${accountId} and finished_at >= ${start.toISOString()} and finished_at < ${end.toISOString()}`;
  if (!row?.n) return [];
  return [`Restore drills: ${row.n} verification${row.n === 1 ? '' : 's'} finished, ${row.failed === 0 ? 'every one proved its snapshot restores' : `${row.failed} failed (see GET /v1/verifications?state=failed)`}.`];
}

export async function buildReport(deps: Pick<AppDeps, 'db'>, accountId: string, format: ReportFormat, start: Date, end: Date): Promise<Report> {
  const runs = await deps.db
    .select({ run: backupRuns, entityName: entities.name, taskName: tasks.name })
    .from(backupRuns)
    .leftJoin(entities, eq(entities.id, backupRuns.entityId))
    .leftJoin(tasks, eq(tasks.id, backupRuns.taskId))
    .where(and(eq(backupRuns.accountId, accountId), ne(backupRuns.state, 'running'), gte(backupRuns.finishedAt, start), lt(backupRuns.finishedAt, end)))
    .orderBy(backupRuns.id);
  const jobRows = await deps.db
    .select({ job: jobs, entityName: entities.name, taskName: tasks.name })
    .from(jobs)
    .leftJoin(entities, eq(entities.id, jobs.entityId))
    .leftJoin(tasks, eq(tasks.id, jobs.taskId))
    .where(and(eq(jobs.accountId, accountId), inArray(jobs.state, ['succeeded', 'partially_succeeded', 'failed', 'canceled']), gte(jobs.finishedAt, start), lt(jobs.finishedAt, end)))
    .orderBy(jobs.id);

  const stats = {
    runs: runs.length,
    succeeded: runs.filter((r) => r.run.state === 'succeeded').length,
    partial: runs.filter((r) => r.run.state === 'partial').length,
    failed: runs.filter((r) => r.run.state === 'failed').length,
    entities: 0,
    jobs: jobRows.length,
    jobsFailed: jobRows.filter((j) => j.job.state === 'failed' || j.job.state === 'partially_succeeded').length,
  };
  const failures: Report['failures'] = [
    ...runs.filter((r) => r.run.state !== 'succeeded').map((r) => ({
      at: iso(r.run.finishedAt)!, task: r.taskName ?? r.run.taskId, entity: r.entityName ?? r.run.entityId, state: r.run.state,
      error: r.run.state === 'failed' ? (r.run.error ?? 'unknown error') : `${r.run.failedCount} item(s) failed: ${r.run.errors.slice(0, 3).map((e) => `${e.path} (${e.error})`).join('; ')}`,
    })),
    ...jobRows.filter((j) => j.job.state === 'failed' || j.job.state === 'partially_succeeded').map((j) => ({
      at: iso(j.job.finishedAt)!, task: j.taskName ?? j.job.taskId, entity: j.entityName ?? j.job.entityId, state: `${j.job.type} ${j.job.state}`,
      error: j.job.reason ?? `${j.job.itemsFailed} item(s) failed`,
    })),
  ];

  let columns: string[];
  let rows: (string | number | null)[][];
  if (format === 'backup_tasks_overview') {
    columns = ['type', 'task', 'entity', 'status', 'runs', 'succeeded', 'partial', 'failed', 'new', 'changed', 'deleted', 'items', 'size_bytes', 'last_finished_at', 'details'];
    const active = await deps.db
      .select({ id: entities.id, name: entities.name, status: entities.status, itemCount: entities.itemCount, sizeBytes: entities.sizeBytes, taskName: tasks.name })
      .from(entities).innerJoin(tasks, eq(tasks.id, entities.taskId))
      .where(and(eq(entities.accountId, accountId), eq(entities.state, 'active'), ne(entities.status, 'not_active')))
      .orderBy(tasks.name, entities.name);
    const byEntity = new Map<string, typeof runs>();
    for (const r of runs) byEntity.set(r.run.entityId, [...(byEntity.get(r.run.entityId) ?? []), r]);
    const seen = new Set<string>();
    rows = [];
    const entityRow = (taskName: string, name: string, status: string, list: typeof runs, items: number | null, size: number | null) => {
      const last = list[list.length - 1]?.run;
      const sum = (f: (r: (typeof runs)[number]['run']) => number) => list.reduce((s, r) => s + f(r.run), 0);
      rows.push(['backup', taskName, name, status, list.length, list.filter((r) => r.run.state === 'succeeded').length, list.filter((r) => r.run.state === 'partial').length,
        list.filter((r) => r.run.state === 'failed').length, sum((r) => r.newCount), sum((r) => r.changedCount), sum((r) => r.deletedCount),
        last?.totalItems ?? items, last?.totalSize ?? size, iso(last?.finishedAt), list.length === 0 ? 'no backup in this period' : (last?.state === 'failed' ? last.error : null)]);
    };
    for (const e of active) {
      seen.add(e.id);
      entityRow(e.taskName, e.name, e.status, byEntity.get(e.id) ?? [], e.itemCount, e.sizeBytes);
    }
    for (const [entityId, list] of byEntity) {
      if (!seen.has(entityId)) entityRow(list[0]!.taskName ?? list[0]!.run.taskId, list[0]!.entityName ?? entityId, list[list.length - 1]!.run.state, list, null, null);
    }
    stats.entities = rows.length;
    for (const j of jobRows) {
      rows.push([j.job.type, j.taskName ?? j.job.taskId, j.entityName ?? j.job.entityId, j.job.state, null, null, null, null, null, null, null,
        j.job.itemsDone, j.job.bytesDone, iso(j.job.finishedAt), j.job.reason]);
    }
  } else {
    columns = ['finished_at', 'task', 'entity', 'status', 'error'];
    rows = failures.map((f) => [f.at, f.task, f.entity, f.state, f.error]);
    stats.entities = new Set(runs.map((r) => r.run.entityId)).size;
  }
  const csv = toCsv([columns, ...rows.map((r) => r.map((v) => (v === null ? '' : v)))]);
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const filename = `coffer-${format === 'backup_tasks_overview' ? 'overview' : 'failures'}-${day(start)}-to-${day(new Date(end.getTime() - 1))}.csv`;
  return { columns, rows, csv, filename, stats, failures };
}

function linkKey(master: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'coffer report download links', 32));
}

function signWith(master: Buffer, id: string, expires: number): string {
  return createHmac('sha256', linkKey(master)).update(`${id}.${expires}`).digest('hex');
}

export function reportSignature(deps: Pick<AppDeps, 'keyring'>, id: string, expires: number): string {
  return signWith(deps.keyring.current.key, id, expires);
}

export function reportLink(deps: Pick<AppDeps, 'keyring' | 'config'>, id: string, expires: number): string {
  return `${deps.config.publicUrl}/v1/notifications/reports/${id}/download?expires=${expires}&signature=${reportSignature(deps, id, expires)}`;
}

/** The CSV behind a download link (public: the signature is the credential). */
export async function downloadReport(deps: AppDeps, id: string, expires: number, signature: string) {
  const given = Buffer.from(/^[0-9a-f]{64}$/i.test(signature) ? signature : '', 'hex');
  // Links mailed before a master-key rotation were signed under the previous key, still loaded while it runs.
  const valid = deps.keyring.all.some(({ key }) => {
    const expected = Buffer.from(signWith(key, id, expires), 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!valid) throw forbidden('invalid_signature', 'This download link is not valid.');
  if (expires * 1000 <= deps.clock.now().getTime()) throw gone('link_expired', 'This download link has expired.');
  const [row] = await deps.db.select().from(notificationReports).where(eq(notificationReports.id, id));
  if (!row) throw notFound('Report', id);
  return { filename: row.filename, csv: row.csv };
}

/** The CSV the report would carry for the last complete period (nothing is stored or sent). */
export async function previewReport(deps: AppDeps, accountId: string, format?: ReportFormat) {
  const settings = await settingsRow(deps, deps.db, accountId);
  const { start, end } = lastPeriod(deps.clock.now(), settings.frequency);
  const report = await buildReport(deps, accountId, format ?? settings.format, start, end);
  return { filename: report.filename, csv: report.csv };
}

const FREQ_LABEL: Record<ReportFrequency, string> = { daily: 'Daily', weekly: 'Weekly', monthly: 'Monthly' };

/**
 * The audit log's state, and its signed checkpoint for the customer to keep: the report reaches
 * people outside Coffer's database, so a later truncation of the log can be proven against it.
 */
async function auditCheckpointParagraphs(deps: AppDeps, accountId: string): Promise<string[]> {
  const v = await verifyAuditChain(deps, accountId);
  if (!v.checkpoint) return [`Security audit log: NOT intact (${v.reason}). See GET /v1/audit/verify.`];
  return [
    `Security audit log: intact, ${v.checkpoint.events} event${v.checkpoint.events === 1 ? '' : 's'}. Keep this signed checkpoint: a later log that does not contain event ${v.checkpoint.head_event_id ?? '(none yet)'} with this hash at position ${v.checkpoint.events} was tampered with (check the Ed25519 signature of payload with public_key).`,
    `Audit checkpoint: ${JSON.stringify(v.checkpoint)}`,
  ];
}

/** Builds and mails the account's summary report for a period (regardless of whether it was sent before). */
export async function sendSummaryReport(deps: AppDeps, accountId: string, period?: { start: Date; end: Date }): Promise<SummaryReportSent> {
  const settings = await settingsRow(deps, deps.db, accountId);
  const { start, end } = period ?? lastPeriod(deps.clock.now(), settings.frequency);
  const result = (sent: boolean, recipients: number, rows: number, reason: string | null): SummaryReportSent =>
    ({ period_start: start.toISOString(), period_end: end.toISOString(), sent, recipients, rows, reason });
  const report = await buildReport(deps, accountId, settings.format, start, end);
  if (settings.onlyOnFailure && report.failures.length === 0) return result(false, 0, report.rows.length, 'only_on_failure is set and nothing failed in the period');
  const recipients = await recipientsOf(deps.db, accountId, 'summary_report');
  if (!recipients.length) return result(false, 0, report.rows.length, 'no summary_report recipients');

  const name = await accountName(deps, accountId);
  const s = report.stats;
  const periodText = settings.frequency === 'daily'
    ? start.toISOString().slice(0, 10)
    : `${start.toISOString().slice(0, 10)} to ${new Date(end.getTime() - 1).toISOString().slice(0, 10)}`;
  const message: Message = {
    subject: `${FREQ_LABEL[settings.frequency]} backup summary for ${name}: ${periodText}${report.failures.length ? ` (${report.failures.length} failure${report.failures.length === 1 ? '' : 's'})` : ''}`,
    heading: `${FREQ_LABEL[settings.frequency]} backup summary`,
    paragraphs: [
      `Backups of ${name} from ${start.toISOString()} to ${end.toISOString()}: ${s.runs} backup run${s.runs === 1 ? '' : 's'} (${s.succeeded} succeeded, ${s.partial} partial, ${s.failed} failed) over ${s.entities} entit${s.entities === 1 ? 'y' : 'ies'}; ${s.jobs} restore/export job${s.jobs === 1 ? '' : 's'} finished (${s.jobsFailed} with failures).`,
      ...(await drillsLine(deps, accountId, start, end)),
      report.failures.length ? `${report.failures.length} failure(s) need attention:` : 'Every backup in the period succeeded.',
    ],
    table: report.failures.length
      ? { columns: ['Finished', 'Task', 'Entity', 'Status', 'Error'], rows: report.failures.slice(0, 10).map((f) => [f.at, f.task, f.entity, f.state, f.error]) }
      : undefined,
  };
  message.paragraphs.push(...(await auditCheckpointParagraphs(deps, accountId)));
  if (settings.delivery === 'csv_attachment') {
    message.paragraphs.push(`The full report (${settings.format === 'backup_tasks_overview' ? 'backup tasks overview' : 'backup failure details'}) is attached as ${report.filename}.`);
    message.attachments = [{ filename: report.filename, content: report.csv, contentType: 'text/csv; charset=utf-8' }];
  } else {
    const now = deps.clock.now();
    const id = newId('rpt');
    const expiresAt = new Date(now.getTime() + REPORT_LINK_DAYS * DAY);
    await deps.db.insert(notificationReports).values({ id, accountId, filename: report.filename, csv: report.csv, periodStart: start, periodEnd: end, createdAt: now, expiresAt });
    message.link = { label: `Download the full report (CSV, valid for ${REPORT_LINK_DAYS} days)`, url: reportLink(deps, id, Math.floor(expiresAt.getTime() / 1000)) };
  }
  for (const r of recipients) await deps.mailer.send(render(message, { email: r.email, displayName: r.displayName }));
  return result(true, recipients.length, report.rows.length, null);
}

export const LOG_RETENTION_DAYS = 35;
export const DELIVERY_RETENTION_DAYS = 30;

/** Housekeeping: expired report links, old idempotency keys, settled webhook deliveries older than 30 days. */
export async function pruneNotifications(deps: Pick<AppDeps, 'db' | 'clock'>) {
  const now = deps.clock.now().getTime();
  const reports = await deps.db.delete(notificationReports).where(lt(notificationReports.expiresAt, new Date(now))).returning({ id: notificationReports.id });
  const keys = await deps.db.delete(notificationLog).where(lt(notificationLog.createdAt, new Date(now - LOG_RETENTION_DAYS * DAY))).returning({ key: notificationLog.key });
  const deliveries = await deps.db.delete(webhookDeliveries)
    .where(and(ne(webhookDeliveries.state, 'pending'), lt(webhookDeliveries.createdAt, new Date(now - DELIVERY_RETENTION_DAYS * DAY))))
    .returning({ id: webhookDeliveries.id });
  return { reports: reports.length, keys: keys.length, deliveries: deliveries.length };
}

/** The `reports` job: every account whose report period ended since its last report gets it, once. */
export async function sendDueReports(deps: AppDeps): Promise<{ sent: number; checked: number }> {
  const now = deps.clock.now();
  const rows = await deps.db
    .select({ id: accounts.id, createdAt: accounts.createdAt, enabled: notificationSettings.summaryEnabled })
    .from(accounts).leftJoin(notificationSettings, eq(notificationSettings.accountId, accounts.id))
    .where(ne(accounts.state, 'pending_deletion'));
  let sent = 0;
  for (const a of rows) {
    if (a.enabled === false) continue;
    try {
      const settings = await settingsRow(deps, deps.db, a.id);
      const period = lastPeriod(now, settings.frequency);
      if (a.createdAt >= period.end) continue;
      if (settings.lastReportPeriodEnd && settings.lastReportPeriodEnd >= period.end) continue;
      const claimed = await deps.db.transaction(async (tx) => {
        const got = await tx.insert(notificationLog).values({ accountId: a.id, key: `report:${settings.frequency}:${period.end.toISOString()}`, createdAt: now })
          .onConflictDoNothing().returning({ key: notificationLog.key });
        await tx.update(notificationSettings).set({ lastReportPeriodEnd: period.end }).where(eq(notificationSettings.accountId, a.id));
        return got.length > 0;
      });
      if (!claimed) continue;
      const r = await sendSummaryReport(deps, a.id, period);
      if (r.sent) sent++;
    } catch (err) {
      deps.log.error({ err, accountId: a.id }, 'notifications: summary report failed');
    }
  }
  return { sent, checked: rows.length };
}
