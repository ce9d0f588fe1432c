// Sign-in with an external OpenID Connect provider (Google, Microsoft): the identities users linked
// to themselves, and the authorization requests Coffer started (state, nonce, PKCE verifier), each
// answerable once.
import { index, integer, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { accounts, users } from './accounts.ts';

/**
 * An external identity (issuer + subject) linked to one Coffer user. Sign-in with a provider finds
 * the user only through this row, never by the email the provider reports. An identity belongs to
 * one user of one account: the same Google account cannot open two Coffer users.
 */
export const userIdentities = pgTable(
  'user_identities',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    provider: text('provider').notNull(),
    issuer: text('issuer').notNull(),
    subject: text('subject').notNull(),
    /** The email the provider reported when the identity was linked (for display only). */
    email: text('email'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('user_identities_issuer_subject_idx').on(t.issuer, t.subject), index('user_identities_user_idx').on(t.accountId, t.userId)],
);

/**
 * An authorization request sent to a provider: `state` names it; the callback must answer it once
 * and before it expires. `purpose` is `sign_in` (no user yet) or `link` (for `user_id`).
 */
export const oidcRequests = pgTable(
  'oidc_requests',
  {
    id: text('id').primaryKey(),
    /** SHA-256 (hex) of the `state` sent to the provider. */
    stateHash: text('state_hash').notNull(),
    provider: text('provider').notNull(),
    purpose: text('purpose').notNull(),
    accountId: text('account_id').references(() => accounts.id, { onDelete: 'cascade' }),
    userId: text('user_id').references(() => users.id, { onDelete: 'cascade' }),
    /** The PKCE code verifier and the nonce, sealed with the master key. */
    sealedSecrets: text('sealed_secrets').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    /** When the callback consumed it; a second answer is refused. */
    usedAt: timestamp('used_at', { withTimezone: true }),
    /** TOTP attempts after a sign-in that needed the second factor, and when its session was issued. */
    secondFactorAttempts: integer('second_factor_attempts').notNull().default(0),
    sessionIssuedAt: timestamp('session_issued_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('oidc_requests_state_idx').on(t.stateHash), index('oidc_requests_expires_idx').on(t.expiresAt)],
);
