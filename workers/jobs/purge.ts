// Erases what was deleted once its 7-day grace period is over: tasks (with every entity under
// them) and single entities. Rows go with their foreign keys; backed-up data goes through
// `eraseEntityData`, which the backup engine provides. Each erasure is a `backups_purged` event in
// the account's audit log (performed by Coffer: nobody is signed in), written with the delete.
import { and, eq, lte } from 'drizzle-orm';
import type { AppDeps } from '../../api/deps.ts';
import { entities, tasks } from '../../db/schema.ts';
import { audit, type Transaction } from '../../api/resources/audit/service.ts';

export type EraseEntityData = (deps: AppDeps, accountId: string, entityId: string) => Promise<void>;

export async function purgeJob(deps: AppDeps, eraseEntityData?: EraseEntityData): Promise<{ tasks: number; entities: number }> {
  const now = deps.clock.now();
  const dueEntities = await deps.db
    .select({ id: entities.id, accountId: entities.accountId, name: entities.name, deletedAt: entities.deletedAt })
    .from(entities)
    .where(and(eq(entities.state, 'deleted'), lte(entities.purgeAt, now)));
  const dueTasks = await deps.db
    .select({ id: tasks.id, accountId: tasks.accountId, name: tasks.name, deletedAt: tasks.deletedAt })
    .from(tasks)
    .where(and(eq(tasks.state, 'deleted'), lte(tasks.purgeAt, now)));
  for (const task of dueTasks) {
    if (eraseEntityData) {
      const under = await deps.db.select({ id: entities.id }).from(entities).where(eq(entities.taskId, task.id));
      for (const e of under) await eraseEntityData(deps, task.accountId, e.id);
    }
    // Re-check under the row's condition: an undelete that raced us wins.
    await deps.db.transaction(async (tx) => {
      const gone = await tx.delete(tasks).where(and(eq(tasks.id, task.id), eq(tasks.state, 'deleted'), lte(tasks.purgeAt, now))).returning({ id: tasks.id });
      if (gone.length) await auditPurge(deps, task.accountId, tx, { task_id: task.id }, task);
    });
  }
  for (const e of dueEntities) {
    if (eraseEntityData) await eraseEntityData(deps, e.accountId, e.id);
    await deps.db.transaction(async (tx) => {
      const gone = await tx.delete(entities).where(and(eq(entities.id, e.id), eq(entities.state, 'deleted'), lte(entities.purgeAt, now))).returning({ id: entities.id });
      if (gone.length) await auditPurge(deps, e.accountId, tx, { entity_id: e.id }, e);
    });
  }
  return { tasks: dueTasks.length, entities: dueEntities.length };
}

function auditPurge(deps: AppDeps, accountId: string, tx: Transaction, ids: Record<string, string>, row: { name: string; deletedAt: Date | null }) {
  const what = 'task_id' in ids ? `Task ${row.name}` : row.name;
  return audit(deps, accountId, {
    type: 'backups_purged', task: row.name, performedBy: null, ip: null, userAgent: null,
    description: `${what}: the grace period after its deletion ended; its backups were erased`,
    details: { ...ids, before: { state: 'deleted', deleted_at: row.deletedAt?.toISOString() ?? null }, after: null },
  }, tx);
}
