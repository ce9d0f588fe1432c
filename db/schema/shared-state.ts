// State every API process shares, written by one atomic statement at a time and never by the
// services' query builder (raw SQL in api/rate-counters.ts and the triggers of db/shared-state.ts).
import { bigint, index, integer, pgTable, text } from 'drizzle-orm/pg-core';

/**
 * Fixed-window request counters (api/rate-counters.ts): every replica counts here, so N replicas
 * allow a limit once, not N times. `reset_ms` is when the window ends, in ms since the epoch.
 * UNLOGGED (its migration says so; drizzle-kit cannot): counters are worth no WAL, and a crash
 * merely resets them.
 */
export const rateCounters = pgTable(
  'rate_counters',
  {
    key: text('key').primaryKey(),
    count: integer('count').notNull(),
    resetMs: bigint('reset_ms', { mode: 'number' }).notNull(),
  },
  (t) => [index('rate_counters_reset_ms_idx').on(t.resetMs)],
);

/**
 * One row per account whose credentials changed at least once: bumped by the triggers of
 * db/shared-state.ts, read by the auth plugin in the snapshot of the credential it checks. No
 * foreign key: an account's deletion deletes its row through the same trigger function.
 */
export const credentialVersions = pgTable('credential_versions', {
  accountId: text('account_id').primaryKey(),
  version: bigint('version', { mode: 'number' }).notNull(),
});
