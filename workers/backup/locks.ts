// The backup's advisory locks. A run holds its entity's lock (one run per entity at a time) on a
// reserved connection, so a worker that dies releases it with its connection; and its account's
// lock in shared mode, which garbage collection (workers/jobs/retention.ts) takes exclusively.
import type postgres from 'postgres';

export function entityLockKey(entityId: string): string {
  return `backup:${entityId}`;
}

export function accountLockKey(accountId: string): string {
  return `account:${accountId}`; // backups hold it shared, garbage collection (jobs/retention.ts) exclusive
}

/** Whether some live worker holds the entity's lock (for the scheduler's orphan sweep). */
export async function entityLockFree(sql: postgres.Sql, entityId: string): Promise<boolean> {
  return sql.begin(async (tx) => {
    const [row] = await tx<{ ok: boolean }[]>`select pg_try_advisory_xact_lock(hashtextextended(${entityLockKey(entityId)}, 0)) as ok`;
    return row?.ok ?? false;
  });
}

/**
 * Runs `fn` holding the entity's lock and, shared, its account's lock, on one reserved connection.
 * Resolves to null without running `fn` when another run holds the entity's lock.
 */
export async function withBackupLocks<T>(sql: postgres.Sql, entity: { id: string; accountId: string }, fn: () => Promise<T>): Promise<T | null> {
  const conn = await sql.reserve();
  try {
    const [lock] = await conn<{ ok: boolean }[]>`select pg_try_advisory_lock(hashtextextended(${entityLockKey(entity.id)}, 0)) as ok`;
    if (!lock?.ok) return null;
    try {
      // Shared with other backups of the account, exclusive with its garbage collection (retention.ts).
      await conn`select pg_advisory_lock_shared(hashtextextended(${accountLockKey(entity.accountId)}, 0))`;
      try {
        return await fn();
      } finally {
        await conn`select pg_advisory_unlock_shared(hashtextextended(${accountLockKey(entity.accountId)}, 0))`.catch(() => {});
      }
    } finally {
      await conn`select pg_advisory_unlock(hashtextextended(${entityLockKey(entity.id)}, 0))`.catch(() => {});
    }
  } finally {
    conn.release();
  }
}
