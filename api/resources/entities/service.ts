import { and, desc, eq, ilike, inArray, lt, or, sql, type SQL } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import { toCsv } from '../../csv.ts';
import type { RequestContext } from '../../context.ts';
import { entities, entityTags, tags, tasks, type EntityStatus } from '../../../db/schema.ts';
import { conflict, forbidden, gone, invalidField, notFound } from '../../errors.ts';
import { toPage, type PageRequest } from '../../pagination.ts';
import { requestBackup } from '../../../workers/backup/request.ts';
import { GRACE_PERIOD_MS } from '../tasks/service.ts';
import { ACTIVE_STATUSES, nextBackupAt } from '../../../db/schedule.ts';
import type { Entity, EntityActionRequest, EntityActionResult, EntityListQuery } from './schemas.ts';
import { audit } from '../audit/service.ts';
import { containsPattern } from '../../../db/like.ts';

type EntityRow = typeof entities.$inferSelect;

export { ACTIVE_STATUSES };

export function serializeEntity(row: EntityRow, entityTagList: { id: string; name: string }[]): Entity {
  return {
    id: row.id,
    task_id: row.taskId,
    kind: row.kind,
    name: row.name,
    email: row.email,
    status: row.status,
    dropbox: { id: row.dropboxId, namespace_id: row.namespaceId, status: row.dropboxStatus },
    size_bytes: row.sizeBytes,
    item_count: row.itemCount,
    first_backup_at: row.firstBackupAt?.toISOString() ?? null,
    last_backup_at: row.lastBackupAt?.toISOString() ?? null,
    next_backup_at: row.nextBackupAt?.toISOString() ?? null,
    archived_at: row.archivedAt?.toISOString() ?? null,
    tags: entityTagList,
    state: row.state,
    purge_time: row.purgeAt?.toISOString() ?? null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

async function tagsOf(deps: AppDeps, accountId: string, entityIds: string[]): Promise<Map<string, { id: string; name: string }[]>> {
  const out = new Map<string, { id: string; name: string }[]>();
  if (!entityIds.length) return out;
  const rows = await deps.db
    .select({ entityId: entityTags.entityId, id: tags.id, name: tags.name })
    .from(entityTags)
    .innerJoin(tags, eq(tags.id, entityTags.tagId))
    .where(and(eq(entityTags.accountId, accountId), inArray(entityTags.entityId, entityIds)))
    .orderBy(tags.name);
  for (const r of rows) {
    const list = out.get(r.entityId) ?? [];
    list.push({ id: r.id, name: r.name });
    out.set(r.entityId, list);
  }
  return out;
}

/** A status filter's statuses: a comma-separated list in which `active` stands for the scheduled ones. */
function statusesOf(filter: string): EntityStatus[] {
  const out = new Set<EntityStatus>();
  for (const s of filter.split(',')) {
    if (s === 'active') for (const a of ACTIVE_STATUSES) out.add(a);
    else out.add(s as EntityStatus);
  }
  return [...out];
}

function filters(ctx: RequestContext, q: Omit<EntityListQuery, 'limit' | 'cursor'>): SQL[] {
  const out: SQL[] = [eq(entities.accountId, ctx.accountId), eq(entities.state, q.state ?? 'active')];
  if (q.task_id) out.push(eq(entities.taskId, q.task_id));
  if (q.kind) out.push(eq(entities.kind, q.kind));
  if (q.status) out.push(inArray(entities.status, statusesOf(q.status)));
  if (q.q) {
    const like = containsPattern(q.q);
    out.push(or(ilike(entities.name, like), ilike(entities.email, like))!);
  }
  if (q.tag) {
    out.push(sql`exists (select 1 from ${entityTags} where ${entityTags.entityId} = ${entities.id} and ${entityTags.tagId} = ${q.tag})`);
  }
  return out;
}

export async function listEntities(deps: AppDeps, ctx: RequestContext, page: PageRequest, q: EntityListQuery) {
  const conditions = filters(ctx, q);
  if (page.after) conditions.push(lt(entities.id, page.after));
  const rows = await deps.db.select().from(entities).where(and(...conditions)).orderBy(desc(entities.id)).limit(page.limit + 1);
  const tagMap = await tagsOf(deps, ctx.accountId, rows.slice(0, page.limit).map((r) => r.id));
  return toPage(rows, page.limit, (r) => serializeEntity(r, tagMap.get(r.id) ?? []));
}

/** The seed's usage report: every matching entity (not one page) as CSV. */
export async function entitiesCsv(deps: AppDeps, ctx: RequestContext, q: EntityListQuery): Promise<string> {
  const rows = await deps.db
    .select({ entity: entities, task: tasks.name })
    .from(entities)
    .innerJoin(tasks, eq(tasks.id, entities.taskId))
    .where(and(...filters(ctx, q)))
    .orderBy(entities.name, entities.id);
  const usage = (s: EntityStatus) => (s === 'archived' ? 'archived' : ACTIVE_STATUSES.includes(s) ? 'active' : 'inactive');
  return toCsv(
    rows.map(({ entity: e, task }) => [e.name, e.email ?? '', e.kind, usage(e.status), e.status, e.sizeBytes, e.itemCount, e.lastBackupAt?.toISOString() ?? '', task, e.id]),
    { columns: ['entity', 'email', 'kind', 'usage_status', 'status', 'size_bytes', 'item_count', 'last_backup', 'task', 'entity_id'] },
  );
}

async function find(deps: AppDeps, ctx: RequestContext, id: string): Promise<EntityRow> {
  const [row] = await deps.db.select().from(entities).where(and(eq(entities.accountId, ctx.accountId), eq(entities.id, id)));
  if (!row) throw notFound('Entity', id);
  return row;
}

export async function getEntity(deps: AppDeps, ctx: RequestContext, id: string) {
  const row = await find(deps, ctx, id);
  const tagMap = await tagsOf(deps, ctx.accountId, [id]);
  return { entity: serializeEntity(row, tagMap.get(id) ?? []), version: row.version };
}

interface Outcome {
  ok: boolean;
  status: EntityStatus | null;
  error: { code: string; detail: string } | null;
}

const fail = (code: string, detail: string, status: EntityStatus | null = null): Outcome => ({ ok: false, status, error: { code, detail } });

/**
 * Applies one action to many entities; each entity gets its own result, so one that cannot take
 * the action does not stop the others. All changes commit together.
 */
export async function applyAction(deps: AppDeps, ctx: RequestContext, req: EntityActionRequest): Promise<EntityActionResult> {
  if (req.action === 'delete' && !ctx.permissions.has('tasks:delete')) {
    throw forbidden('permission_denied', 'Deleting entities needs the `tasks:delete` permission.');
  }
  const needsTag = req.action === 'add_tag' || req.action === 'remove_tag';
  if (needsTag && !req.tag_id) throw invalidField('/body/tag_id', `is required by ${req.action}`);
  if (needsTag) {
    const [tag] = await deps.db.select({ id: tags.id }).from(tags).where(and(eq(tags.accountId, ctx.accountId), eq(tags.id, req.tag_id!)));
    if (!tag) throw invalidField('/body/tag_id', `tag ${req.tag_id} does not exist`);
  }
  const now = deps.clock.now();
  const outcomes = await deps.db.transaction(async (tx) => {
    const rows = await tx
      .select({ entity: entities, task: tasks })
      .from(entities)
      .innerJoin(tasks, eq(tasks.id, entities.taskId))
      .where(and(eq(entities.accountId, ctx.accountId), inArray(entities.id, req.entity_ids)))
      .for('update', { of: entities });
    const byId = new Map(rows.map((r) => [r.entity.id, r]));
    const results = new Map<string, Outcome>();
    const changed: { entity_id: string; name: string; before: Record<string, unknown>; after: Record<string, unknown> }[] = [];
    const record = (e: EntityRow, before: Record<string, unknown>, after: Record<string, unknown>) => changed.push({ entity_id: e.id, name: e.name, before, after });
    for (const id of req.entity_ids) {
      const found = byId.get(id);
      if (!found) {
        results.set(id, fail('not_found', `Entity ${id} does not exist.`));
        continue;
      }
      const { entity: e, task } = found;
      const set = (changes: Partial<EntityRow>) => {
        record(e, { state: e.state, status: e.status }, { state: changes.state ?? e.state, status: changes.status ?? e.status });
        return tx.update(entities).set({ ...changes, version: e.version + 1, updatedAt: now }).where(eq(entities.id, e.id));
      };
      if (e.state === 'deleted' && req.action !== 'delete') {
        results.set(id, fail('entity_deleted', 'The entity is deleted; undelete it first.', e.status));
        continue;
      }
      switch (req.action) {
        case 'activate': {
          if (e.status === 'archived') results.set(id, fail('entity_archived', 'An archived entity cannot be activated.', e.status));
          else if (e.status === 'backed_up_in_another_task') results.set(id, fail('backed_up_in_another_task', 'Another task already backs up this entity.', e.status));
          else if (ACTIVE_STATUSES.includes(e.status)) results.set(id, { ok: true, status: e.status, error: null });
          else {
            await set({ status: 'scheduled', nextBackupAt: nextBackupAt(task.frequency, task.backupHour, now, e.lastBackupAt) });
            results.set(id, { ok: true, status: 'scheduled', error: null });
          }
          break;
        }
        case 'pause': {
          if (e.status === 'paused') results.set(id, { ok: true, status: 'paused', error: null });
          else if (!ACTIVE_STATUSES.includes(e.status)) results.set(id, fail('not_active', `Only an active entity can be paused (it is ${e.status}).`, e.status));
          else {
            await set({ status: 'paused', nextBackupAt: null });
            results.set(id, { ok: true, status: 'paused', error: null });
          }
          break;
        }
        case 'deactivate': {
          // Releases the entity (what `coffer iac destroy` does to a coffer_entity): no more scheduled backups, snapshots kept.
          if (e.status === 'not_active') results.set(id, { ok: true, status: 'not_active', error: null });
          else if (!ACTIVE_STATUSES.includes(e.status) && e.status !== 'paused') results.set(id, fail('not_active', `Only an active or paused entity can be deactivated (it is ${e.status}).`, e.status));
          else {
            await set({ status: 'not_active', nextBackupAt: null });
            results.set(id, { ok: true, status: 'not_active', error: null });
          }
          break;
        }
        case 'backup_now': {
          if (!ACTIVE_STATUSES.includes(e.status)) results.set(id, fail('not_active', `Activate the entity first (it is ${e.status}).`, e.status));
          else if (task.connectionStatus !== 'connected' || task.state !== 'active') results.set(id, fail('task_not_connected', 'The task is not connected to Dropbox.', e.status));
          else if (task.pausedAt) results.set(id, fail('task_paused', 'The task is paused; resume it first (POST /v1/tasks/{id}/resume).', e.status));
          else {
            await requestBackup(deps, tx, { accountId: ctx.accountId, entityId: e.id, reason: 'manual' });
            record(e, { backup_requested: false }, { backup_requested: true });
            results.set(id, { ok: true, status: e.status, error: null });
          }
          break;
        }
        case 'delete': {
          if (e.state !== 'deleted') await set({ state: 'deleted', deletedAt: now, purgeAt: new Date(now.getTime() + GRACE_PERIOD_MS), nextBackupAt: null });
          results.set(id, { ok: true, status: e.status, error: null });
          break;
        }
        case 'add_tag': {
          await tx.insert(entityTags).values({ entityId: e.id, tagId: req.tag_id!, accountId: ctx.accountId }).onConflictDoNothing();
          record(e, {}, { tag_added: req.tag_id });
          results.set(id, { ok: true, status: e.status, error: null });
          break;
        }
        case 'remove_tag': {
          await tx.delete(entityTags).where(and(eq(entityTags.entityId, e.id), eq(entityTags.tagId, req.tag_id!)));
          record(e, { tag_removed: req.tag_id }, {});
          results.set(id, { ok: true, status: e.status, error: null });
          break;
        }
      }
    }
    if (changed.length) {
      await audit(deps, ctx, {
        type: 'entity_action',
        description: `${ENTITY_ACTION_TEXT[req.action]}: ${changed.map((c) => c.name).slice(0, 10).join(', ')}${changed.length > 10 ? ` and ${changed.length - 10} more` : ''}`,
        details: { action: req.action, ...(req.tag_id ? { tag_id: req.tag_id } : {}), entities: changed },
      }, tx);
    }
    return results;
  });
  const results = req.entity_ids.map((id) => ({ entity_id: id, ...outcomes.get(id)! }));
  const succeeded = results.filter((r) => r.ok).length;
  return { action: req.action, succeeded, failed: results.length - succeeded, results };
}

const ENTITY_ACTION_TEXT: Record<EntityActionRequest['action'], string> = {
  activate: 'Backups activated', pause: 'Backups paused', deactivate: 'Backups deactivated', backup_now: 'Backup requested', delete: 'Deleted (backups erased after the grace period)',
  add_tag: 'Tag added', remove_tag: 'Tag removed',
};

export async function undeleteEntity(deps: AppDeps, ctx: RequestContext, id: string) {
  const current = await find(deps, ctx, id);
  if (current.state !== 'deleted') throw conflict('not_deleted', `Entity ${id} is not deleted.`);
  if (current.purgeAt && current.purgeAt <= deps.clock.now()) throw gone('grace_period_over', 'The grace period is over; the entity is being erased.');
  const [task] = await deps.db.select().from(tasks).where(eq(tasks.id, current.taskId));
  const now = deps.clock.now();
  const next = ACTIVE_STATUSES.includes(current.status) && task ? nextBackupAt(task.frequency, task.backupHour, now, current.lastBackupAt) : null;
  await deps.db.transaction(async (tx) => {
    await tx
      .update(entities)
      .set({ state: 'active', deletedAt: null, purgeAt: null, nextBackupAt: next, version: current.version + 1, updatedAt: now })
      .where(and(eq(entities.accountId, ctx.accountId), eq(entities.id, id)));
    await audit(deps, ctx, {
      type: 'entity_undeleted', description: `${current.name} undeleted`,
      details: { entity_id: id, before: { state: current.state, purge_time: current.purgeAt?.toISOString() ?? null }, after: { state: 'active', purge_time: null } },
    }, tx);
  });
  return getEntity(deps, ctx, id);
}

