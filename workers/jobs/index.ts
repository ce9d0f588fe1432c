// The registry: starts every queue's handler and the cron schedules in a worker process. Only the
// entry point (api/server.ts), the test helpers and scripts import it; everything else enqueues
// through the port, workers/queue.ts, and so never loads the handlers.
import type { PgBoss } from 'pg-boss';
import { and, eq } from 'drizzle-orm';
import type { AppDeps } from '../../api/deps.ts';
import { tasks } from '../../db/schema.ts';
import { enqueue, QUEUES, type QueuePayloads } from '../queue.ts';
import { maintenanceJob } from './maintenance.ts';
import { discoveryJob } from './discovery.ts';
import { purgeJob } from './purge.ts';
import { backupJob } from './backup.ts';
import { schedulerJob } from './scheduler.ts';
import { purgeEntityData, retentionJob } from './retention.ts';
import { billingJob, meteringJob } from './billing.ts';
import { exportJob, recoverySweepJob, restoreJob, searchIndexJob } from './recovery.ts';
import { webhooksJob } from './webhooks.ts';
import { reportsJob } from './reports.ts';
import { notificationsJob } from './notifications.ts';
import { accountPurgeJob } from './account-purge.ts';
import { repositoryCheckJob, verificationJob } from './verification.ts';

/** Cron trigger that fans out one discovery job per connected task. */
const DISCOVERY_DAILY = 'discovery-daily';

type P = QueuePayloads;

export interface Workers {
  stop(): Promise<void>;
}

export async function startWorkers(boss: PgBoss, deps: AppDeps, opts: { pollingIntervalSeconds?: number } = {}): Promise<Workers> {
  const polling = { pollingIntervalSeconds: opts.pollingIntervalSeconds ?? 2 };
  await boss.work(QUEUES.maintenance, polling, async () => maintenanceJob(deps));
  await boss.schedule(QUEUES.maintenance, '17 * * * *', {}, { tz: 'UTC' });

  await boss.work<P['discovery']>(QUEUES.discovery, { ...polling, localConcurrency: 2 }, async ([job]) => discoveryJob(deps, job!.data));
  // Daily: rediscover every connected task (new members, members who left).
  await boss.createQueue(DISCOVERY_DAILY);
  await boss.work(DISCOVERY_DAILY, polling, async () => {
    const connected = await deps.db.select({ id: tasks.id, accountId: tasks.accountId }).from(tasks).where(and(eq(tasks.state, 'active'), eq(tasks.connectionStatus, 'connected')));
    for (const t of connected) await enqueue({ boss }, null, QUEUES.discovery, { accountId: t.accountId, taskId: t.id }, { singletonKey: `discovery:${t.id}` });
    return { queued: connected.length };
  });
  await boss.schedule(DISCOVERY_DAILY, '5 1 * * *', {}, { tz: 'UTC' });

  await boss.work(QUEUES.purge, polling, async () => purgeJob(deps, (d, accountId, entityId) => purgeEntityData(d, accountId, entityId).then(() => undefined)));
  await boss.schedule(QUEUES.purge, '23 * * * *', {}, { tz: 'UTC' });

  await boss.work<P['backup']>(QUEUES.backup, { ...polling, localConcurrency: 4 }, async (jobs) => backupJob(deps, jobs));
  await boss.work(QUEUES.scheduler, polling, async () => schedulerJob(deps));
  await boss.schedule(QUEUES.scheduler, '* * * * *', {}, { tz: 'UTC' });
  await boss.work(QUEUES.retention, polling, async () => retentionJob(deps));
  await boss.schedule(QUEUES.retention, '41 2 * * *', {}, { tz: 'UTC' });

  // Webhook deliveries in batches (test/bench/README.md, gotcha 2: work() sleeps the polling interval after every fetch).
  await boss.work<P['webhooks']>(QUEUES.webhooks, { ...polling, batchSize: 20, localConcurrency: 2 }, async (jobs) => webhooksJob(deps, jobs));
  await boss.work(QUEUES.reports, polling, async () => reportsJob(deps));
  await boss.schedule(QUEUES.reports, '7 * * * *', {}, { tz: 'UTC' });
  await boss.work<P['notifications']>(QUEUES.notifications, { ...polling, batchSize: 10 }, async (jobs) => notificationsJob(deps, jobs));

  await boss.work<P['restore']>(QUEUES.restore, { ...polling, localConcurrency: 2 }, async (jobs) => restoreJob(deps, jobs));
  await boss.work<P['export']>(QUEUES.export, { ...polling, localConcurrency: 2 }, async (jobs) => exportJob(deps, jobs));
  await boss.work<P['search-index']>(QUEUES.searchIndex, polling, async (jobs) => searchIndexJob(deps, jobs));
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

  await boss.work<P['verification']>(QUEUES.verification, { ...polling, localConcurrency: 2 }, async (jobs) => verificationJob(deps, jobs));
  await boss.work<P['repository-check']>(QUEUES.repositoryCheck, polling, async ([job]) => repositoryCheckJob(deps, job!.data));
  queues.push(QUEUES.verification, QUEUES.repositoryCheck);
  return {
    stop: async () => {
      for (const q of queues) await boss.offWork(q);
    },
  };
}

