// PostgreSQL advisory locks named by text keys (hashed with hashtextextended). A session lock is
// taken on a reserved connection, so a worker that dies releases it with its connection; whether
// anyone holds one is asked with a transaction-scoped try, which takes nothing that outlives it.
import type postgres from 'postgres';

/**
 * Runs `fn` holding `key`'s session lock on a reserved connection (passed to `fn` for further
 * locks); null without running `fn` when another session holds it.
 */
export async function withSessionLock<T>(sql: postgres.Sql, key: string, fn: (conn: postgres.ReservedSql) => Promise<T>): Promise<T | null> {
  const conn = await sql.reserve();
  try {
    const [lock] = await conn<{ ok: boolean }[]>`select pg_try_advisory_lock(hashtextextended(${key}, 0)) as ok`;
    if (!lock?.ok) return null;
    try {
      return await fn(conn);
    } finally {
      await conn`select pg_advisory_unlock(hashtextextended(${key}, 0))`.catch(() => {});
    }
  } finally {
    conn.release();
  }
}

/** Runs `fn` holding `key` in shared mode on `conn` (waiting while someone holds it exclusively). */
export async function withSharedLock<T>(conn: postgres.ReservedSql, key: string, fn: () => Promise<T>): Promise<T> {
  await conn`select pg_advisory_lock_shared(hashtextextended(${key}, 0))`;
  try {
    return await fn();
  } finally {
    await conn`select pg_advisory_unlock_shared(hashtextextended(${key}, 0))`.catch(() => {});
  }
}

/** Whether no session holds `key`'s lock now. */
export async function sessionLockFree(sql: postgres.Sql, key: string): Promise<boolean> {
  return sql.begin(async (tx) => {
    const [row] = await tx<{ ok: boolean }[]>`select pg_try_advisory_xact_lock(hashtextextended(${key}, 0)) as ok`;
    return row?.ok ?? false;
  });
}
