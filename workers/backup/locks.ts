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
