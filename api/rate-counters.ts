// Fixed-window request counters in PostgreSQL (the UNLOGGED `rate_counters` table of
// db/schema/shared-state.ts), so that every API replica counts against the same limit. One atomic upsert
// per count: a window starts at a key's first request and the next request after it ends starts a
// new one. Both limiters count here: the throttle of api/plugins/throttle.ts and the
// per-credential request rate of api/plugins/rate-limit.ts.
import type postgres from 'postgres';
import type { CounterStore, CounterWindow } from './plugins/throttle.ts';

/** Ended windows are deleted this often (by whichever replica gets there). */
const SWEEP_MS = 60_000;

export class PgCounterStore implements CounterStore {
  readonly #sql: postgres.Sql;
  #nextSweep = 0;

  constructor(sql: postgres.Sql) {
    this.#sql = sql;
  }

  async increment(key: string, windowMs: number, now: number): Promise<CounterWindow> {
    this.#sweep(now);
    // Numbers travel as text (bigint parameters) and come back as float8 (exact below 2^53).
    const [row] = await this.#sql<{ count: number; reset_ms: number }[]>`
      insert into rate_counters as c (key, count, reset_ms) values (${key}, 1, ${now + windowMs})
      on conflict (key) do update set
        count = case when c.reset_ms <= ${now} then 1 else c.count + 1 end,
        reset_ms = case when c.reset_ms <= ${now} then excluded.reset_ms else c.reset_ms end
      returning c.count, c.reset_ms::float8 as reset_ms`;
    return { count: row!.count, resetAt: row!.reset_ms };
  }

  async get(key: string, now: number): Promise<CounterWindow | undefined> {
    const [row] = await this.#sql<{ count: number; reset_ms: number }[]>`
      select count, reset_ms::float8 as reset_ms from rate_counters where key = ${key} and reset_ms > ${now}`;
    return row ? { count: row.count, resetAt: row.reset_ms } : undefined;
  }

  async incrementUnlessGated(gateKey: string, gateMax: number, key: string, windowMs: number, now: number, accountId: string) {
    this.#sweep(now);
    const [row] = await this.#sql<{ gate_count: number | null; gate_reset_ms: number | null; count: number | null; reset_ms: number | null; version: string }[]>`
      with gate as (
        select count, reset_ms from rate_counters where key = ${gateKey} and reset_ms > ${now}
      ), counted as (
        insert into rate_counters as c (key, count, reset_ms)
        select ${key}, 1, ${now + windowMs} where coalesce((select count from gate), 0) < ${gateMax}
        on conflict (key) do update set
          count = case when c.reset_ms <= ${now} then 1 else c.count + 1 end,
          reset_ms = case when c.reset_ms <= ${now} then excluded.reset_ms else c.reset_ms end
        returning c.count, c.reset_ms
      )
      select (select count from gate) as gate_count, (select reset_ms::float8 from gate) as gate_reset_ms,
        (select count from counted) as count, (select reset_ms::float8 from counted) as reset_ms,
        case when exists (select 1 from accounts where id = ${accountId})
          then coalesce((select version from credential_versions where account_id = ${accountId}), 0)::text
          else 'gone' end as version`;
    return {
      credentialsVersion: row!.version,
      gate: row!.gate_count === null ? undefined : { count: row!.gate_count, resetAt: row!.gate_reset_ms! },
      counted: row!.count === null ? undefined : { count: row!.count, resetAt: row!.reset_ms! },
    };
  }

  #sweep(now: number) {
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + SWEEP_MS;
    this.#sql`delete from rate_counters where reset_ms <= ${now}`.catch(() => {
      // the next sweep tries again; an ended window is ignored by increment and get meanwhile
    });
  }
}
