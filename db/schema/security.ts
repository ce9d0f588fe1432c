// Administration and security: sessions, sign-in throttling, one-time tokens (email confirmation,
// password reset, forced password change), TOTP, the account's security policy and IP allowlist,
// and the hash-chained security audit log.

import { bigint, boolean, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { accounts, bytea, users } from './accounts.ts';

/** Session tokens (`cfs_…`) issued by sign-in; only the SHA-256 of the secret is stored. */
export const sessions = pgTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    secretHash: bytea('secret_hash').notNull(),
    ip: text('ip'),
    userAgent: text('user_agent'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('sessions_secret_hash_key').on(t.secretHash), index('sessions_user_idx').on(t.userId)],
);

/** Failed sign-ins per (lower-cased) email: the lockout state. A success deletes the row. */
export const loginThrottle = pgTable('login_throttle', {
  email: text('email').primaryKey(),
  failures: integer('failures').notNull().default(0),
  windowStartedAt: timestamp('window_started_at', { withTimezone: true }),
  lockedUntil: timestamp('locked_until', { withTimezone: true }),
  /** Lockouts so far (since the last success): each one lasts twice as long as the one before. */
  lockouts: integer('lockouts').notNull().default(0),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});

export type UserTokenPurpose = 'confirm' | 'reset' | 'password_change';

/** One-time links: email confirmation (24 h), password reset (1 h), forced change of an expired password. */
export const userTokens = pgTable(
  'user_tokens',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    purpose: text('purpose').$type<UserTokenPurpose>().notNull(),
    tokenHash: bytea('token_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('user_tokens_hash_key').on(t.tokenHash), index('user_tokens_user_idx').on(t.userId, t.purpose)],
);

export type TotpState = 'none' | 'pending' | 'enabled';

/** Per-user security state: TOTP (secret sealed with the master key) and password age. */
export const userSecurity = pgTable('user_security', {
  userId: text('user_id').primaryKey().references(() => users.id, { onDelete: 'cascade' }),
  accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
  totpState: text('totp_state').$type<TotpState>().notNull().default('none'),
  totpSecret: text('totp_secret'),
  /** The last TOTP time-step accepted: a code of that step or an earlier one is refused. */
  totpLastStep: bigint('totp_last_step', { mode: 'number' }),
  totpEnabledAt: timestamp('totp_enabled_at', { withTimezone: true }),
  passwordChangedAt: timestamp('password_changed_at', { withTimezone: true }),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});

/** The account's security policy and the IP allowlist switch (one row per account, created lazily). */
export const accountSecurity = pgTable('account_security', {
  accountId: text('account_id').primaryKey().references(() => accounts.id, { onDelete: 'cascade' }),
  enforce2fa: boolean('enforce_2fa').notNull().default(false),
  passwordExpirationDays: integer('password_expiration_days'),
  ipAllowlistEnabled: boolean('ip_allowlist_enabled').notNull().default(false),
  policyVersion: integer('policy_version').notNull().default(1),
  allowlistVersion: integer('allowlist_version').notNull().default(1),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export type IpRuleKind = 'addresses' | 'range' | 'cidr';

/** Trusted addresses: a list of addresses, an inclusive range, or a CIDR block (IPv4 or IPv6). */
export const ipRules = pgTable(
  'ip_rules',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    description: text('description'),
    kind: text('kind').$type<IpRuleKind>().notNull(),
    addresses: text('addresses').array(),
    rangeFrom: text('range_from'),
    rangeTo: text('range_to'),
    cidr: text('cidr'),
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('ip_rules_account_idx').on(t.accountId, t.id)],
);

/**
 * The security audit log: append-only, hash-chained per account. `hash` = SHA-256 of `prev_hash`
 * and the event's canonical JSON; `seq` orders the chain (ids are time-ordered but not gap-free).
 * No foreign key to accounts: the log outlives a purged account (workers/jobs/account-purge.ts
 * keeps it, ending in an `account_purged` tombstone, for AUDIT_RETENTION_AFTER_PURGE_DAYS).
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
    type: text('type').notNull(),
    service: text('service'),
    status: text('status').notNull(),
    task: text('task'),
    performedBy: text('performed_by'),
    performedByUserId: text('performed_by_user_id'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    description: text('description').notNull(),
    details: jsonb('details').$type<Record<string, unknown>>(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [
    uniqueIndex('audit_events_account_seq_key').on(t.accountId, t.seq),
    index('audit_events_account_id_idx').on(t.accountId, t.id),
    index('audit_events_account_type_idx').on(t.accountId, t.type, t.id),
  ],
);

/**
 * Where each account's audit chain ends: the last event's sequence number, id and hash, updated in
 * the same transaction as every append. Without it, removing the newest events leaves a shorter
 * chain that still verifies; with it, /v1/audit/verify sees that events up to `seq` are missing.
 * Kept with the events after the account is purged (no foreign key), so the kept chain still verifies.
 */
export const auditHeads = pgTable('audit_heads', {
  accountId: text('account_id').primaryKey(),
  seq: bigint('seq', { mode: 'number' }).notNull(),
  eventId: text('event_id').notNull(),
  hash: text('hash').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});
