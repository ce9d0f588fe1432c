// Account lifecycle (seed 5.2.1–5.2.2): a pending change of the account's email address, waiting for
// the new address to confirm it, and a requested removal during its 7-day grace period.
import { pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { accounts, bytea, type AccountState } from './accounts.ts';

/** At most one pending email change per account; only the SHA-256 of the emailed token is stored. */
export const accountEmailChanges = pgTable('account_email_changes', {
  accountId: text('account_id').primaryKey().references(() => accounts.id, { onDelete: 'cascade' }),
  newEmail: text('new_email').notNull(),
  tokenHash: bytea('token_hash').notNull().unique('account_email_changes_token_key'),
  requestedByUserId: text('requested_by_user_id'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
});

/** A removal in its grace period: the state to go back to when it is undone. */
export const accountRemovals = pgTable('account_removals', {
  accountId: text('account_id').primaryKey().references(() => accounts.id, { onDelete: 'cascade' }),
  previousState: text('previous_state').$type<AccountState>().notNull(),
  requestedByUserId: text('requested_by_user_id'),
  requestedAt: timestamp('requested_at', { withTimezone: true }).notNull(),
  purgeAt: timestamp('purge_at', { withTimezone: true }).notNull(),
});
