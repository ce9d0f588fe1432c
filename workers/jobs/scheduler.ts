// Every minute: enqueue backups that are due, resume runs whose worker died, and enqueue the
// restore drills (verifications) that are due (workers/jobs/verification.ts).
// Due = entity active (not deleted, not paused / not_active / archived / elsewhere), task active and
// connected, account not suspended or pending deletion (billing: trial over without a subscription),
// next_backup_at ≤ now (or never scheduled yet while `scheduled`). At most MAX_PER_ACCOUNT backups
// per account are running or enqueued by one tick; next_backup_at moves to the following slot in
// the same transaction as the enqueue, so a tick never enqueues twice.
import type { AppDeps } from '../../api/deps.ts';
import { entityLockFree } from '../backup/locks.ts';
import { requestBackup } from '../backup/request.ts';
import { nextBackupAt } from '../../db/schedule.ts';
import { NOT_BACKED_UP_STATUSES } from '../../db/schema/tasks.ts';
import { eq } from 'drizzle-orm';
import { entities, type Frequency } from '../../db/schema/tasks.ts';
import { enqueueDueVerifications } from './verification.ts';

export const MAX_PER_ACCOUNT = 4;

export async function schedulerJob(deps: AppDeps): Promise<{ enqueued: number; resumed: number; verifications: number }> {
  const { sql } = deps;
  const now = deps.clock.now();
  let enqueued = 0;
  let resumed = 0;

  // Orphaned runs: `running` but nobody holds the entity's lock (its worker died).
  const running = await sql<{ id: string; account_id: string; entity_id: string }[]>`
    select id, account_id, entity_id from backup_runs where state = 'running'`;
  for (const run of running) {
    if (!(await entityLockFree(sql, run.entity_id))) continue;
    const id = await deps.db.transaction((tx) => requestBackup(deps, tx, { accountId: run.account_id, entityId: run.entity_id, reason: 'scheduled' }));
    if (id) resumed++;
  }

  const due = await sql<{ id: string; account_id: string; frequency: Frequency; backup_hour: number }[]>`
    select e.id, e.account_id, t.frequency, t.backup_hour
    from entities e join tasks t on t.id = e.task_id
    where e.state = 'active' and t.state = 'active' and t.connection_status = 'connected' and t.paused_at is null
      and e.status not in ${sql([...NOT_BACKED_UP_STATUSES, 'in_process'])}
      and not exists (select 1 from accounts a where a.id = e.account_id and a.state in ('suspended', 'pending_deletion'))
      and (e.next_backup_at <= ${now.toISOString()} or (e.next_backup_at is null and e.status = 'scheduled'))
    order by e.next_backup_at nulls first, e.id
    limit 5000`;
  const busy = new Map<string, number>();
  const runningPerAccount = await sql<{ account_id: string; n: number }[]>`
    select account_id, count(*)::int as n from backup_runs where state = 'running' group by account_id`;
  for (const r of runningPerAccount) busy.set(r.account_id, r.n);
  for (const e of due) {
    const n = busy.get(e.account_id) ?? 0;
    if (n >= MAX_PER_ACCOUNT) continue;
    // The run being enqueued counts as the previous run for the slot after it.
    const next = nextBackupAt(e.frequency, e.backup_hour, now, now);
    const id = await deps.db.transaction(async (tx) => {
      await tx.update(entities).set({ nextBackupAt: next }).where(eq(entities.id, e.id));
      return requestBackup(deps, tx, { accountId: e.account_id, entityId: e.id, reason: 'scheduled' });
    });
    if (id) {
      enqueued++;
      busy.set(e.account_id, n + 1);
    }
  }
  // Restore drills that are due (tasks with a verification_frequency).
  const verifications = await enqueueDueVerifications(deps);
  return { enqueued, resumed, verifications };
}
