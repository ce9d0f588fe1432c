// Partners (MSPs) and the customer accounts they manage. A customer belongs to at most one partner;
// the link is kept after the customer's administrator revokes it, so the partner is told
// `access_revoked` instead of "not found" and the history stays readable.
import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { accounts, users } from './accounts.ts';

/** Who pays for a customer: the partner (one invoice with a line per customer) or the customer itself. */
export type PartnerBilling = 'partner' | 'direct';

export const partnerCustomers = pgTable(
  'partner_customers',
  {
    /** One partner per customer: the customer's id is the key. */
    customerAccountId: text('customer_account_id').primaryKey().references(() => accounts.id, { onDelete: 'cascade' }),
    partnerAccountId: text('partner_account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    billing: text('billing').$type<PartnerBilling>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** Set when the customer's administrator withdrew the partner's access (DELETE /v1/account/partner). */
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    revokedBy: text('revoked_by').references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [index('partner_customers_partner_idx').on(t.partnerAccountId, t.customerAccountId)],
);

export type PartnerInvitationState = 'pending' | 'accepted' | 'declined' | 'cancelled';

/** A partner's request to manage an existing standard account; only that account's administrator can accept it. */
export const partnerInvitations = pgTable(
  'partner_invitations',
  {
    id: text('id').primaryKey(),
    partnerAccountId: text('partner_account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    customerAccountId: text('customer_account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    billing: text('billing').$type<PartnerBilling>().notNull(),
    state: text('state').$type<PartnerInvitationState>().notNull(),
    invitedBy: text('invited_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    decidedBy: text('decided_by').references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [
    index('partner_invitations_customer_idx').on(t.customerAccountId, t.state),
    index('partner_invitations_partner_idx').on(t.partnerAccountId, t.id),
  ],
);
