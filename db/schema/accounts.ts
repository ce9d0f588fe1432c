import { sql } from 'drizzle-orm';
import type { Permission } from '../permissions.ts';
import { boolean, customType, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

export const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

const times = {
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
};

export type AccountState = 'trial' | 'active' | 'past_due' | 'suspended' | 'pending_deletion';
/** A partner (an MSP) manages customer accounts (db/schema/partners.ts) and may protect its own team too. */
export type AccountKind = 'standard' | 'partner';

/** The tenant. Every tenant table carries account_id; see api/plugins/auth.ts for how it is chosen. */
export const accounts = pgTable('accounts', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  email: text('email').notNull(),
  region: text('region').notNull(),
  state: text('state').$type<AccountState>().notNull(),
  kind: text('kind').$type<AccountKind>().notNull().default('standard'),
  trialEndsAt: timestamp('trial_ends_at', { withTimezone: true }),
  purgeAt: timestamp('purge_at', { withTimezone: true }),
  /** The account's data key, wrapped by the master key (envelope encryption). */
  dataKey: bytea('data_key'),
  version: integer('version').notNull().default(1),
  ...times,
});

export type UserRole = 'administrator' | 'custom';
export type UserState = 'active' | 'invited' | 'deactivated';

export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    name: text('name'),
    role: text('role').$type<UserRole>().notNull(),
    /** Operations granted to a custom role; an administrator has every permission. */
    permissions: text('permissions').array().notNull().default(sql`'{}'::text[]`),
    services: text('services').array().notNull().default(sql`'{}'::text[]`),
    /** In a partner account: the customer accounts this user may act for; null means all of them. */
    customerIds: text('customer_ids').array(),
    passwordHash: text('password_hash'),
    state: text('state').$type<UserState>().notNull(),
    emailConfirmedAt: timestamp('email_confirmed_at', { withTimezone: true }),
    version: integer('version').notNull().default(1),
    ...times,
  },
  (t) => [uniqueIndex('users_email_key').on(sql`lower(${t.email})`), index('users_account_idx').on(t.accountId, t.id)],
);

/**
 * A sign-up waiting for its email address to be proven: the account, its administrator and first
 * API key are created only when the emailed activation link is used (POST /v1/accounts/activate).
 * Several may wait for one address (someone else may have typed it); the first activated wins and
 * the others are removed. Only the SHA-256 of the token is stored, like every secret.
 */
export const pendingSignups = pgTable(
  'pending_signups',
  {
    id: text('id').primaryKey(),
    /** Lower-cased. */
    email: text('email').notNull(),
    accountName: text('account_name').notNull(),
    userName: text('user_name'),
    region: text('region').notNull(),
    /** The kind of account the activation creates (a partner signs up like anyone else). */
    kind: text('kind').$type<AccountKind>().notNull().default('standard'),
    passwordHash: text('password_hash').notNull(),
    tokenHash: bytea('token_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    /** Set when the link was used: a second use is told so (activation_used), not "invalid". */
    activatedAt: timestamp('activated_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('pending_signups_token_hash_key').on(t.tokenHash), index('pending_signups_email_idx').on(t.email)],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** The first characters of the secret, shown in lists so a user can tell keys apart. */
    prefix: text('prefix').notNull(),
    /** SHA-256 of the whole secret: keys are 190 random bits, so a fast hash is the right one. */
    secretHash: bytea('secret_hash').notNull(),
    /**
     * What the key may do, intersected with its user's permissions at each request. Always stored
     * since keys stopped inheriting whatever the user holds; null only on keys issued before.
     */
    scopes: text('scopes').array().$type<Permission[]>(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    lastUsedIp: text('last_used_ip'),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    version: integer('version').notNull().default(1),
    ...times,
  },
  (t) => [uniqueIndex('api_keys_secret_hash_key').on(t.secretHash), index('api_keys_account_idx').on(t.accountId, t.id)],
);

/** Stored responses of POST requests made with an Idempotency-Key, kept 24 hours. */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    /** `<account>/<user>/<credential>` of the caller, or `public:<ip>` while an unauthenticated POST runs. */
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    method: text('method').notNull(),
    path: text('path').notNull(),
    requestHash: text('request_hash').notNull(),
    completed: boolean('completed').notNull().default(false),
    responseStatus: integer('response_status'),
    responseHeaders: jsonb('response_headers').$type<Record<string, string>>(),
    responseBody: text('response_body'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key] }), index('idempotency_keys_expires_idx').on(t.expiresAt)],
);
