// A task's Dropbox connection: the client built from its sealed refresh token, and what happens
// when Dropbox stops honouring that token (the task is marked disconnected and must reconnect).
import { and, eq, ne, sql } from 'drizzle-orm';
import { notifyTaskDisconnected } from '../../api/resources/notifications/triggers.ts';
import type { AppDeps } from '../../api/deps.ts';
import { tasks } from '../../db/schema.ts';
import { DropboxTeam, type RetryPolicy } from './client.ts';
import { DropboxAuthError } from './oauth.ts';

export const REFRESH_TOKEN_CONTEXT = 'dropbox-refresh-token';

export class TaskNotConnectedError extends Error {
  constructor(taskId: string) {
    super(`task ${taskId} has no Dropbox connection`);
    this.name = 'TaskNotConnectedError';
  }
}

type TaskRow = typeof tasks.$inferSelect;

export function dropboxClient(deps: Pick<AppDeps, 'config' | 'keyring'> & { dropboxPolicy?: Partial<RetryPolicy> }, refreshToken: string): DropboxTeam {
  return new DropboxTeam({ config: deps.config.dropbox, refreshToken, policy: deps.dropboxPolicy });
}

export function clientForTask(deps: Pick<AppDeps, 'config' | 'keyring'> & { dropboxPolicy?: Partial<RetryPolicy> }, task: TaskRow): DropboxTeam {
  if (!task.refreshToken || task.connectionStatus !== 'connected') throw new TaskNotConnectedError(task.id);
  return dropboxClient(deps, deps.keyring.openSecret(task.refreshToken, REFRESH_TOKEN_CONTEXT));
}

/** True when the error means the refresh token is no longer valid (revoked, app removed). */
export function isRevoked(err: unknown): boolean {
  return err instanceof DropboxAuthError && (err.code === 'invalid_grant' || err.code === 'invalid_client');
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
