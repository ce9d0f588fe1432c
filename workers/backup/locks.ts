// The backup's advisory locks. A run holds its entity's lock (one run per entity at a time) on a
// reserved connection, so a worker that dies releases it with its connection; and its account's
// lock in shared mode, which garbage collection (workers/jobs/retention.ts) takes exclusively.
import type postgres from 'postgres';
import { sessionLockFree, withSessionLock, withSharedLock } from '../../db/advisory-locks.ts';

export function entityLockKey(entityId: string): string {
  return `backup:${entityId}`;
}

export function accountLockKey(accountId: string): string {
  return `account:${accountId}`; // backups hold it shared, garbage collection (jobs/retention.ts) exclusive
}

/** Whether some live worker holds the entity's lock (for the scheduler's orphan sweep). */
export function entityLockFree(sql: postgres.Sql, entityId: string): Promise<boolean> {
  return sessionLockFree(sql, entityLockKey(entityId));
}

/**
 * Runs `fn` holding the entity's lock and, shared, its account's lock, on one reserved connection.
 * Resolves to null without running `fn` when another run holds the entity's lock.
 */
export function withBackupLocks<T>(sql: postgres.Sql, entity: { id: string; accountId: string }, fn: () => Promise<T>): Promise<T | null> {
  // Shared with other backups of the account, exclusive with its garbage collection (retention.ts).
  return withSessionLock(sql, entityLockKey(entity.id), (conn) => withSharedLock(conn, accountLockKey(entity.accountId), fn));
}
