// Discovery: list the team's members, team folders and namespaces and bring the task's entities
// in line. New ones are activated when the task says so (or marked backed_up_in_another_task when
// another task of the account already backs them up); members who left, and team folders that
// are gone or archived, become `archived`. One activity event records what changed, which the
// auto-discovery notification reads.
import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import type { AppDeps } from '../../api/deps.ts';
import { activityEvents, entities, tasks, type EntityKind, type EntityStatus } from '../../db/schema.ts';
import { newId } from '../../db/ids.ts';
import { clientForTask, isRevoked, TaskNotConnectedError } from '../dropbox/connection.ts';
import { getCurrentAccount, listMembers, listNamespaces, listTeamFolders } from '../dropbox/team.ts';
import { ACTIVE_STATUSES } from '../../api/resources/entities/service.ts';
import { nextBackupAt } from '../../db/schedule.ts';
import type { DiscoveryJob } from '../queue.ts';
import { notifyDiscovery, notifyTaskDisconnected } from '../../api/resources/notifications/triggers.ts';

interface Seen {
  kind: EntityKind;
  dropboxId: string;
  name: string;
  email: string | null;
  namespaceId: string | null;
  dropboxStatus: string;
  /** Gone from the team (removed member, archived or vanished team folder). */
  gone: boolean;
}

export interface DiscoveryResult {
  discovered: number;
  created: number;
  activated: number;
  archived: number;
  updated: number;
}

export async function discoveryJob(deps: AppDeps, job: DiscoveryJob, opts: { pageSize?: number } = {}): Promise<DiscoveryResult | { skipped: string }> {
  const [task] = await deps.db.select().from(tasks).where(and(eq(tasks.id, job.taskId), eq(tasks.accountId, job.accountId)));
  if (!task || task.state !== 'active') return { skipped: 'task deleted' };
  const started = deps.clock.now();
  let seen: Seen[];
  try {
    const client = clientForTask(deps, task);
    if (task.plan === 'professional') {
      // An individual account is one entity: itself, its home namespace (no team, no team folders).
      const me = await getCurrentAccount(client);
      seen = [{ kind: 'member' as const, dropboxId: me.accountId, name: me.name, email: me.email, namespaceId: me.homeNamespaceId, dropboxStatus: 'active', gone: false }];
    } else {
      const [members, folders, namespaces] = await Promise.all([
        listMembers(client, opts.pageSize),
        listTeamFolders(client, opts.pageSize),
        listNamespaces(client, opts.pageSize),
      ]);
      const folderNamespace = new Map(namespaces.filter((n) => n.type === 'team_folder').map((n) => [n.namespaceId, n.namespaceId]));
      seen = [
        ...members.map((m) => ({
          kind: 'member' as const, dropboxId: m.teamMemberId, name: m.displayName, email: m.email,
          namespaceId: m.homeNamespaceId, dropboxStatus: m.status, gone: m.status === 'removed',
        })),
        ...folders.map((f) => ({
          kind: 'team_folder' as const, dropboxId: f.teamFolderId, name: f.name, email: null,
          // A team folder's id is its namespace id; the namespace listing confirms it.
          namespaceId: folderNamespace.get(f.teamFolderId) ?? f.teamFolderId, dropboxStatus: f.status, gone: f.status === 'archived',
        })),
        // A shared folder is its own namespace, mounted in the home of every member it is shared with;
        // member backups leave mounted folders out, so it is backed up once, here (the namespace list
        // may repeat a namespace: docs/dropbox.md §1.3).
        ...[...new Map(namespaces.filter((n) => n.type === 'shared_folder').map((n) => [n.namespaceId, n])).values()].map((n) => ({
          kind: 'shared_folder' as const, dropboxId: n.namespaceId, name: n.name, email: null, namespaceId: n.namespaceId, dropboxStatus: 'active', gone: false,
        })),
      ];
    }
  } catch (err) {
    if (err instanceof TaskNotConnectedError) return { skipped: 'task not connected' };
    if (isRevoked(err)) {
      await markDisconnected(deps, task.id, 'Dropbox no longer accepts this connection; reconnect the task.');
      return { skipped: 'task disconnected' };
    }
    throw err;
  }

  const now = deps.clock.now();
  const eventId = newId('evt');
  const outcome = await deps.db.transaction(async (tx) => {
    const existing = await tx.select().from(entities).where(eq(entities.taskId, task.id));
    const key = (kind: string, id: string) => `${kind}:${id}`;
    const byKey = new Map(existing.map((e) => [key(e.kind, e.dropboxId), e]));
    const seenKeys = new Set(seen.map((s) => key(s.kind, s.dropboxId)));

    // Entities some other task of this account already backs up.
    const others = await tx
      .select({ kind: entities.kind, dropboxId: entities.dropboxId, status: entities.status })
      .from(entities)
      .innerJoin(tasks, eq(tasks.id, entities.taskId))
      .where(and(eq(entities.accountId, task.accountId), ne(entities.taskId, task.id), eq(tasks.state, 'active'), eq(entities.state, 'active'), inArray(entities.status, [...ACTIVE_STATUSES])));
    const elsewhere = new Set(others.map((o) => key(o.kind, o.dropboxId)));

    const result: DiscoveryResult = { discovered: seen.length, created: 0, activated: 0, archived: 0, updated: 0 };
    const createdIds: string[] = [];
    const fresh: (typeof entities.$inferInsert)[] = [];
    for (const s of seen) {
      const current = byKey.get(key(s.kind, s.dropboxId));
      if (!current) {
        let status: EntityStatus = 'not_active';
        if (s.gone) status = 'archived';
        else if (elsewhere.has(key(s.kind, s.dropboxId))) status = 'backed_up_in_another_task';
        else if (task.autoActivate) status = 'scheduled';
        const id = newId('ent');
        fresh.push({
          id, accountId: task.accountId, taskId: task.id, kind: s.kind, dropboxId: s.dropboxId, name: s.name, email: s.email,
          namespaceId: s.namespaceId, dropboxStatus: s.dropboxStatus, status,
          archivedAt: status === 'archived' ? now : null,
          nextBackupAt: status === 'scheduled' ? nextBackupAt(task.frequency, task.backupHour, now) : null,
          createdAt: now, updatedAt: now,
        });
        createdIds.push(id);
        result.created++;
        if (status === 'scheduled') result.activated++;
        continue;
      }
      const changes: Partial<typeof entities.$inferInsert> = {};
      if (current.name !== s.name) changes.name = s.name;
      if (current.email !== s.email) changes.email = s.email;
      if (current.namespaceId !== s.namespaceId) changes.namespaceId = s.namespaceId;
      if (current.dropboxStatus !== s.dropboxStatus) changes.dropboxStatus = s.dropboxStatus;
      if (s.gone && current.status !== 'archived') {
        Object.assign(changes, { status: 'archived', archivedAt: now, nextBackupAt: null });
        result.archived++;
      }
      if (Object.keys(changes).length) {
        await tx.update(entities).set({ ...changes, version: current.version + 1, updatedAt: now }).where(eq(entities.id, current.id));
        result.updated++;
      }
    }
    // Left the team without a trace in the listing (members are listed as removed; folders vanish).
    for (const e of existing) {
      if (!seenKeys.has(key(e.kind, e.dropboxId)) && e.status !== 'archived') {
        await tx.update(entities).set({ status: 'archived', archivedAt: now, nextBackupAt: null, version: e.version + 1, updatedAt: now }).where(eq(entities.id, e.id));
        result.archived++;
      }
    }
    for (let i = 0; i < fresh.length; i += 500) await tx.insert(entities).values(fresh.slice(i, i + 500));
    await tx.update(tasks).set({ lastDiscoveryAt: now }).where(eq(tasks.id, task.id));
    await tx.insert(activityEvents).values({
      id: eventId, accountId: task.accountId, type: 'discovery', status: 'succeeded', taskId: task.id, taskName: task.name,
      description: `Discovered ${result.discovered} users and team folders: ${result.created} new (${result.activated} activated), ${result.archived} archived.`,
      durationMs: now.getTime() - started.getTime(),
      counts: { ...result },
      details: { new_entity_ids: createdIds },
      occurredAt: now,
    });
    return result;
  });
  // After the commit: the notification reads the event it describes.
  if (outcome.created > 0) await notifyDiscovery(deps, { id: eventId });
  return outcome;
}

/** Marks the task disconnected and, the first time, tells the account (exceptions mail, webhook). */
export async function markDisconnected(deps: AppDeps, taskId: string, reason: string): Promise<void> {
  const changed = await deps.db
    .update(tasks)
    .set({ connectionStatus: 'disconnected', connectionError: reason, version: sql`${tasks.version} + 1`, updatedAt: deps.clock.now() })
    .where(and(eq(tasks.id, taskId), ne(tasks.connectionStatus, 'disconnected')))
    .returning({ id: tasks.id });
  if (changed.length) await notifyTaskDisconnected(deps, { id: taskId });
}
