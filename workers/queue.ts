// The job queue (pg-boss). Queue names and their payloads are declared here; each queue's handler
// lives in workers/jobs/<name>.ts. API processes only enqueue; worker processes also run handlers
// and the cron schedules.
import { PgBoss, fromDrizzle } from 'pg-boss';
import { sql } from 'drizzle-orm';
import type { Tx } from '../db/client.ts';
import type { AppDeps } from '../api/deps.ts';
import { maintenanceJob } from './jobs/maintenance.ts';
import { discoveryJob } from './jobs/discovery.ts';
import { purgeJob } from './jobs/purge.ts';
import { backupJob } from './jobs/backup.ts';
import { schedulerJob } from './jobs/scheduler.ts';
import { purgeEntityData, retentionJob } from './jobs/retention.ts';
import { billingJob, meteringJob } from './jobs/billing.ts';
import { exportJob, recoverySweepJob, restoreJob, searchIndexJob, RECOVERY_RETRIES } from './jobs/recovery.ts';
import { and, eq } from 'drizzle-orm';
import { tasks } from '../db/schema.ts';
import { webhooksJob } from './jobs/webhooks.ts';
import { reportsJob } from './jobs/reports.ts';
import { notificationsJob } from './jobs/notifications.ts';
import { accountPurgeJob } from './jobs/account-purge.ts';
import { repositoryCheckJob, verificationJob, VERIFICATION_RETRIES } from './jobs/verification.ts';

export const QUEUES = {
  /** Housekeeping: expired idempotency keys and other short-lived rows. */
  maintenance: 'maintenance',
  /** Lists a task's team (members, team folders, namespaces) and upserts its entities. */
  discovery: 'discovery',
  /** Backs up one entity (workers/jobs/backup.ts). */
  backup: 'backup',
  /** Erases tasks and entities whose grace period has ended. */
  purge: 'purge',
  /** Every minute: enqueues due backups and resumes backups whose worker died (workers/jobs/scheduler.ts). */
  scheduler: 'scheduler',
  /** Daily: applies task retention, removes unreferenced blocks and packs (workers/jobs/retention.ts). */
  retention: 'retention',
  /** One attempt of one webhook delivery (api/resources/webhooks/delivery.ts); retries are new jobs with startAfter. */
  webhooks: 'webhooks',
  /** Hourly: sends the summary reports that are due (api/resources/notifications/reports.ts). */
  reports: 'reports',
  /** Notification mail raised by the triggers (api/resources/notifications/triggers.ts). */
  notifications: 'notifications',
  /** Restores a snapshot (or items) into Dropbox (workers/recovery/restore.ts). */
  restore: 'restore',
  /** Exports a snapshot (or items) as a ZIP (workers/recovery/export.ts). */
  export: 'export',
  /** After a backup: adds the entity's new item versions to the search index. */
  searchIndex: 'search-index',
  /** Every minute: re-enqueues restores and exports whose worker died (workers/jobs/recovery.ts). */
  recoverySweep: 'recovery-sweep',
  /** Hourly: the billing cycle (subscriptions, invoices, charges and retries, overdue, trial expiry) (workers/jobs/billing.ts). */
  billing: 'billing',
  /** Daily: records each account's billable quantity (workers/billing/metering.ts). */
  metering: 'metering',
  /** Hourly: erases removed accounts whose 7-day grace period is over (workers/jobs/account-purge.ts). */
  accountPurge: 'account-purge',
  /** A restore drill of one entity's latest snapshot (workers/recovery/verify.ts); scheduled ones come from the scheduler tick. */
  verification: 'verification',
  /** Operators only (no public route): the whole-repository check of one account or of all (workers/recovery/repository-check.ts). */
  repositoryCheck: 'repository-check',
} as const;

export interface VerificationJob {
  accountId: string;
  verificationId: string;
}

export interface RepositoryCheckJob {
  /** Unset: every account that has packs. */
  accountId?: string;
  /** Also decrypt every block (slow: reads the whole repository). */
  readData?: boolean;
}

export interface RecoveryJob {
  accountId: string;
  jobId: string;
}

export interface SearchIndexJob {
  accountId: string;
  entityId: string;
}

export interface DiscoveryJob {
  accountId: string;
  taskId: string;
}

export interface BackupJob {
  accountId: string;
  entityId: string;
  reason: 'scheduled' | 'manual';
}

/** Cron trigger that fans out one discovery job per connected task. */
const DISCOVERY_DAILY = 'discovery-daily';

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export interface QueueOptions {
  connectionString: string;
  /** Worker processes supervise (maintenance of pg-boss's own tables) and run schedules. */
  runsWorkers: boolean;
  onError: (err: Error) => void;
  /** Tests poll faster. */
  pollingIntervalSeconds?: number;
}

export async function startQueue(opts: QueueOptions): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: opts.connectionString,
    schema: 'pgboss',
    application_name: 'coffer-queue',
    max: 5,
    supervise: opts.runsWorkers,
    schedule: opts.runsWorkers,
  });
  boss.on('error', opts.onError);
  await boss.start();
  // Backups: at most one queued job per entity (singletonKey); long runs; retries resume the run.
  await boss.createQueue(QUEUES.backup, { policy: 'short', expireInSeconds: 12 * 3600, retryLimit: 5, retryDelay: 30, retryBackoff: true });
  // Recovery jobs: long; a worker that dies mid-job leaves it to expire and be retried, resuming from its checkpoint.
  for (const q of [QUEUES.restore, QUEUES.export]) await boss.createQueue(q, { expireInSeconds: 6 * 3600, retryLimit: RECOVERY_RETRIES, retryDelay: 10, retryBackoff: true });
  // Restore drills: a retry starts the verification over; when retries run out it fails, saying why.
  await boss.createQueue(QUEUES.verification, { expireInSeconds: 6 * 3600, retryLimit: VERIFICATION_RETRIES, retryDelay: 30, retryBackoff: true });
  for (const name of Object.values(QUEUES)) await boss.createQueue(name);
  return boss;
}

export interface Workers {
  stop(): Promise<void>;
}

export async function startWorkers(boss: PgBoss, deps: AppDeps, opts: { pollingIntervalSeconds?: number } = {}): Promise<Workers> {
  const polling = { pollingIntervalSeconds: opts.pollingIntervalSeconds ?? 2 };
  await boss.work(QUEUES.maintenance, polling, async () => maintenanceJob(deps));
  await boss.schedule(QUEUES.maintenance, '17 * * * *', {}, { tz: 'UTC' });

  await boss.work<DiscoveryJob>(QUEUES.discovery, { ...polling, localConcurrency: 2 }, async ([job]) => discoveryJob(deps, job!.data));
  // Daily: rediscover every connected task (new members, members who left).
  await boss.createQueue(DISCOVERY_DAILY);
  await boss.work(DISCOVERY_DAILY, polling, async () => {
    const connected = await deps.db.select({ id: tasks.id, accountId: tasks.accountId }).from(tasks).where(and(eq(tasks.state, 'active'), eq(tasks.connectionStatus, 'connected')));
    for (const t of connected) await boss.send(QUEUES.discovery, { accountId: t.accountId, taskId: t.id }, { singletonKey: `discovery:${t.id}` });
    return { queued: connected.length };
  });
  await boss.schedule(DISCOVERY_DAILY, '5 1 * * *', {}, { tz: 'UTC' });

  await boss.work(QUEUES.purge, polling, async () => purgeJob(deps, (d, accountId, entityId) => purgeEntityData(d, accountId, entityId).then(() => undefined)));
  await boss.schedule(QUEUES.purge, '23 * * * *', {}, { tz: 'UTC' });

  await boss.work<BackupJob>(QUEUES.backup, { ...polling, localConcurrency: 4 }, async (jobs) => backupJob(deps, jobs));
  await boss.work(QUEUES.scheduler, polling, async () => schedulerJob(deps));
  await boss.schedule(QUEUES.scheduler, '* * * * *', {}, { tz: 'UTC' });
  await boss.work(QUEUES.retention, polling, async () => retentionJob(deps));
  await boss.schedule(QUEUES.retention, '41 2 * * *', {}, { tz: 'UTC' });

  // Webhook deliveries in batches (test/bench/README.md, gotcha 2: work() sleeps the polling interval after every fetch).
  await boss.work(QUEUES.webhooks, { ...polling, batchSize: 20, localConcurrency: 2 }, async (jobs) => webhooksJob(deps, jobs as never));
  await boss.work(QUEUES.reports, polling, async () => reportsJob(deps));
  await boss.schedule(QUEUES.reports, '7 * * * *', {}, { tz: 'UTC' });
  await boss.work(QUEUES.notifications, { ...polling, batchSize: 10 }, async (jobs) => notificationsJob(deps, jobs as never));

  await boss.work<RecoveryJob>(QUEUES.restore, { ...polling, localConcurrency: 2 }, async (jobs) => restoreJob(deps, jobs));
  await boss.work<RecoveryJob>(QUEUES.export, { ...polling, localConcurrency: 2 }, async (jobs) => exportJob(deps, jobs));
  await boss.work<SearchIndexJob>(QUEUES.searchIndex, polling, async (jobs) => searchIndexJob(deps, jobs));
  await boss.work(QUEUES.recoverySweep, polling, async () => recoverySweepJob(deps));
  await boss.schedule(QUEUES.recoverySweep, '* * * * *', {}, { tz: 'UTC' });

  await boss.work(QUEUES.metering, polling, async () => meteringJob(deps));
  await boss.schedule(QUEUES.metering, '50 23 * * *', {}, { tz: 'UTC' });
  await boss.work(QUEUES.billing, polling, async () => billingJob(deps));
  await boss.schedule(QUEUES.billing, '3 * * * *', {}, { tz: 'UTC' });

  const queues = [QUEUES.maintenance, QUEUES.discovery, DISCOVERY_DAILY, QUEUES.purge, QUEUES.backup, QUEUES.scheduler, QUEUES.retention, QUEUES.webhooks, QUEUES.reports,
    QUEUES.restore, QUEUES.export, QUEUES.searchIndex, QUEUES.recoverySweep];
  queues.push(QUEUES.metering, QUEUES.billing);

  await boss.work(QUEUES.accountPurge, polling, async () => accountPurgeJob(deps));
  await boss.schedule(QUEUES.accountPurge, '31 * * * *', {}, { tz: 'UTC' });
  queues.push(QUEUES.accountPurge);

  await boss.work<VerificationJob>(QUEUES.verification, { ...polling, localConcurrency: 2 }, async (jobs) => verificationJob(deps, jobs));
  await boss.work<RepositoryCheckJob>(QUEUES.repositoryCheck, polling, async ([job]) => repositoryCheckJob(deps, job!.data));
  queues.push(QUEUES.verification, QUEUES.repositoryCheck);
  return {
    stop: async () => {
      for (const q of queues) await boss.offWork(q);
    },
  };
}

/**
 * Enqueues a job in the caller's transaction, so that the row asking for the work and the job
 * doing it commit (or vanish) together. Without a queue (an API-only test) it does nothing.
 */
export async function enqueue<Q extends QueueName>(
  deps: Pick<AppDeps, 'boss'>,
  tx: Tx,
  queue: Q,
  data: object,
  options: { singletonKey?: string; startAfter?: number | Date; retryLimit?: number } = {},
): Promise<string | null> {
  if (!deps.boss) return null;
  return deps.boss.send(queue, data, { ...options, db: fromDrizzle(tx as never, sql) });
}
