// Erases what was deleted once its 7-day grace period is over: tasks (with every entity under
// them) and single entities. Rows go with their foreign keys; backed-up data goes through
// `eraseEntityData`, which the backup engine provides.
import { and, eq, lte } from 'drizzle-orm';
import type { AppDeps } from '../../api/deps.ts';
import { entities, tasks } from '../../db/schema.ts';

export type EraseEntityData = (deps: AppDeps, accountId: string, entityId: string) => Promise<void>;

export async function purgeJob(deps: AppDeps, eraseEntityData?: EraseEntityData): Promise<{ tasks: number; entities: number }> {
  const now = deps.clock.now();
  const dueEntities = await deps.db
    .select({ id: entities.id, accountId: entities.accountId })
    .from(entities)
    .where(and(eq(entities.state, 'deleted'), lte(entities.purgeAt, now)));
  const dueTasks = await deps.db
    .select({ id: tasks.id, accountId: tasks.accountId })
    .from(tasks)
    .where(and(eq(tasks.state, 'deleted'), lte(tasks.purgeAt, now)));
  for (const task of dueTasks) {
    if (eraseEntityData) {
      const under = await deps.db.select({ id: entities.id }).from(entities).where(eq(entities.taskId, task.id));
      for (const e of under) await eraseEntityData(deps, task.accountId, e.id);
    }
    // Re-check under the row's condition: an undelete that raced us wins.
    await deps.db.delete(tasks).where(and(eq(tasks.id, task.id), eq(tasks.state, 'deleted'), lte(tasks.purgeAt, now)));
  }
  for (const e of dueEntities) {
    if (eraseEntityData) await eraseEntityData(deps, e.accountId, e.id);
    await deps.db.delete(entities).where(and(eq(entities.id, e.id), eq(entities.state, 'deleted'), lte(entities.purgeAt, now)));
  }
  return { tasks: dueTasks.length, entities: dueEntities.length };
}
