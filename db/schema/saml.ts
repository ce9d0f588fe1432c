// SAML single sign-on (seed 5.4.3): the account's identity provider, the AuthnRequests Coffer sent
// (InResponseTo must name one of them, once) and the assertions it accepted (each only once).
import { boolean, index, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { accounts } from './accounts.ts';

/** One row per account that configured SAML; `enabled` turns password sign-in off. */
export const samlConfigs = pgTable('saml_configs', {
  accountId: text('account_id').primaryKey().references(() => accounts.id, { onDelete: 'cascade' }),
  provider: text('provider').notNull().default('okta'),
  /** Where the metadata came from: its URL, or null when it was uploaded. */
  metadataUrl: text('metadata_url'),
  metadataXml: text('metadata_xml').notNull(),
  idpEntityId: text('idp_entity_id').notNull(),
  idpSsoUrl: text('idp_sso_url').notNull(),
  /** PEM bodies (base64 DER, no armour) of the IdP's signing certificates. */
  idpCertificates: text('idp_certificates').array().notNull(),
  enabled: boolean('enabled').notNull().default(false),
  /**
   * The identity provider performs multi-factor authentication itself: SAML sign-in then skips
   * Coffer's TOTP. Off by default, so a user with TOTP still enters a code after SAML.
   */
  idpPerformsMfa: boolean('idp_performs_mfa').notNull().default(false),
  activatedAt: timestamp('activated_at', { withTimezone: true }),
  version: integer('version').notNull().default(1),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});

/** AuthnRequest ids Coffer issued (SP-initiated login); a response must answer one, once. */
export const samlRequests = pgTable(
  'saml_requests',
  {
    id: text('id').notNull(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.id] }), index('saml_requests_expires_idx').on(t.expiresAt)],
);

/** Assertion ids already accepted: a replayed assertion is refused until it would have expired anyway. */
export const samlAssertions = pgTable(
  'saml_assertions',
  {
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    assertionId: text('assertion_id').notNull(),
    acceptedAt: timestamp('accepted_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.assertionId] }), index('saml_assertions_expires_idx').on(t.expiresAt)],
);
