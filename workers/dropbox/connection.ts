// A task's Dropbox connection: the client built from its sealed refresh token, and how to tell that
// Dropbox stopped honouring that token. Marking the task disconnected (a database write and a
// notification) is the caller's business (workers/jobs/discovery.ts): this adapter knows Dropbox,
// not the database.
import type { AppDeps } from '../../api/deps.ts';
import { DropboxTeam, type RetryPolicy } from './client.ts';
import { DropboxAuthError } from './oauth.ts';

export const REFRESH_TOKEN_CONTEXT = 'dropbox-refresh-token';

export class TaskNotConnectedError extends Error {
  constructor(taskId: string) {
    super(`task ${taskId} has no Dropbox connection`);
    this.name = 'TaskNotConnectedError';
  }
}

/** What the adapter needs of a task row. */
export interface TaskConnection {
  id: string;
  refreshToken: string | null;
  connectionStatus: string;
}

export function dropboxClient(deps: Pick<AppDeps, 'config' | 'keyring'> & { dropboxPolicy?: Partial<RetryPolicy> }, refreshToken: string): DropboxTeam {
  return new DropboxTeam({ config: deps.config.dropbox, refreshToken, policy: deps.dropboxPolicy });
}

export function clientForTask(deps: Pick<AppDeps, 'config' | 'keyring'> & { dropboxPolicy?: Partial<RetryPolicy> }, task: TaskConnection): DropboxTeam {
  if (!task.refreshToken || task.connectionStatus !== 'connected') throw new TaskNotConnectedError(task.id);
  return dropboxClient(deps, deps.keyring.openSecret(task.refreshToken, REFRESH_TOKEN_CONTEXT));
}

/** True when the error means the refresh token is no longer valid (revoked, app removed). */
export function isRevoked(err: unknown): boolean {
  return err instanceof DropboxAuthError && (err.code === 'invalid_grant' || err.code === 'invalid_client');
}
