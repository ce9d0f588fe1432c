// The job queue's port (pg-boss): the queue names, the payload each one carries, the queues'
// policies, and `enqueue`. API processes only enqueue; worker processes also run the handlers,
// which workers/jobs/index.ts (the registry) starts. This module imports no handler: whatever
// enqueues (a service, an engine, a handler) depends on this port only, never on every handler.
import { PgBoss, fromDrizzle } from 'pg-boss';
import { sql } from 'drizzle-orm';
import type { Tx } from '../db/client.ts';
import type { NotificationType } from '../db/schema.ts';
import type { Message } from '../api/resources/notifications/templates.ts';

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
  /** Daily: records each account's billable quantity (workers/jobs/billing/metering.ts). */
  metering: 'metering',
  /** Hourly: erases removed accounts whose 7-day grace period is over (workers/jobs/account-purge.ts). */
  accountPurge: 'account-purge',
  /** A restore drill of one entity's latest snapshot (workers/recovery/verify.ts); scheduled ones come from the scheduler tick. */
  verification: 'verification',
  /** Operators only (no public route): the whole-repository check of one account or of all (workers/recovery/repository-check.ts). */
  repositoryCheck: 'repository-check',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

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

export interface WebhookJob {
  deliveryId: string;
  /** 1 for the first attempt; a job whose attempt was already made does nothing (at-least-once queue). */
  attempt: number;
}

/** A `notifications` job: one message for the recipients of one type. */
export interface MailJob {
  accountId: string;
  type: NotificationType;
  message: Message;
  /** Lower-cased addresses that got their own copy already (the person who started a job). */
  exclude?: string[];
}

/** Cron-only queues carry nothing. */
type Tick = Record<string, never>;

/** What each queue's jobs carry: `enqueue` accepts, and the registry's handlers receive, exactly this. */
export interface QueuePayloads {
  [QUEUES.maintenance]: Tick;
  [QUEUES.discovery]: DiscoveryJob;
  [QUEUES.backup]: BackupJob;
  [QUEUES.purge]: Tick;
  [QUEUES.scheduler]: Tick;
  [QUEUES.retention]: Tick;
  [QUEUES.webhooks]: WebhookJob;
  [QUEUES.reports]: Tick;
  [QUEUES.notifications]: MailJob;
  [QUEUES.restore]: RecoveryJob;
  [QUEUES.export]: RecoveryJob;
  [QUEUES.searchIndex]: SearchIndexJob;
  [QUEUES.recoverySweep]: Tick;
  [QUEUES.billing]: Tick;
  [QUEUES.metering]: Tick;
  [QUEUES.accountPurge]: Tick;
  [QUEUES.verification]: VerificationJob;
  [QUEUES.repositoryCheck]: RepositoryCheckJob;
}

/** Retries of a restore or export before it is marked failed (resumable by the user). */
export const RECOVERY_RETRIES = 3;
/** Retries of a restore drill before it fails, saying why. */
export const VERIFICATION_RETRIES = 2;

/** Long jobs' heartbeat (see startQueue); pg-boss refreshes it every half of this while the handler runs. */
export const HEARTBEAT_SECONDS = 30;

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
  // Long jobs beat a heartbeat: when their worker dies (SIGKILL, out of memory, a lost machine) the
  // supervisor of a live worker fails the job within about two minutes and it is retried, resuming
  // from its checkpoint. Without it, a job picked up just before its worker died (before the run or
  // the job's row recorded it) waited out expireInSeconds, hours, before anything ran it.
  // updateQueue, because createQueue leaves an existing queue as it is.
  for (const q of [QUEUES.backup, QUEUES.restore, QUEUES.export, QUEUES.verification]) await boss.updateQueue(q, { heartbeatSeconds: HEARTBEAT_SECONDS });
  return boss;
}

export interface EnqueueOptions {
  singletonKey?: string;
  startAfter?: number | Date;
  retryLimit?: number;
}

/**
 * Enqueues a job. With a transaction, in the caller's transaction, so that the row asking for the
 * work and the job doing it commit (or vanish) together; with `null`, at once (work that follows
 * something already committed, such as a finished backup). Without a queue (an API-only test) it
 * does nothing and resolves with null.
 */
export async function enqueue<Q extends QueueName>(
  deps: { boss?: PgBoss },
  tx: Tx | null,
  queue: Q,
  payload: QueuePayloads[Q],
  options: EnqueueOptions = {},
): Promise<string | null> {
  if (!deps.boss) return null;
  if (!tx) return deps.boss.send(queue, payload, options);
  return deps.boss.send(queue, payload, { ...options, db: fromDrizzle(tx as never, sql) });
}

/** The queues whose payload names an account (`accountId`): the work of one account. */
export const ACCOUNT_QUEUES = [
  QUEUES.discovery, QUEUES.backup, QUEUES.restore, QUEUES.export, QUEUES.searchIndex, QUEUES.notifications,
  QUEUES.verification, QUEUES.repositoryCheck,
] as const satisfies readonly QueueName[];

const PAGE = 1000;

export interface AccountJobs {
  /** Jobs that were waiting (created, or waiting for a retry) and are now cancelled. */
  cancelled: number;
  /** Jobs a worker is running now: `queue:id`. */
  active: string[];
}

/**
 * Cancels every waiting job of an account, and names those running. With a transaction, in it
 * (see `enqueue`). Without a queue (an API-only test) there is nothing to cancel.
 */
export async function cancelAccountJobs(deps: { boss?: PgBoss }, tx: Tx | null, accountId: string): Promise<AccountJobs> {
  const out: AccountJobs = { cancelled: 0, active: [] };
  if (!deps.boss) return out;
  const db = tx ? { db: fromDrizzle(tx as never, sql) } : {};
  for (const queue of ACCOUNT_QUEUES) {
    for (;;) {
      const queued = await deps.boss.findJobs(queue, { data: { accountId }, queued: true, limit: PAGE, ...db });
      if (queued.length) await deps.boss.cancel(queue, queued.map((j) => j.id), db);
      out.cancelled += queued.length;
      if (queued.length < PAGE) break;
    }
    // What is left of the account in this queue has ended, or is running.
    let after: string | undefined;
    for (;;) {
      const page = await deps.boss.findJobs(queue, { data: { accountId }, limit: PAGE, ...(after ? { after } : {}), ...db });
      out.active.push(...page.filter((j) => j.state === 'active').map((j) => `${queue}:${j.id}`));
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.id;
    }
  }
  return out;
}
