// Billing: one subscription and one set of billing details per account, the payment methods (a
// provider's token and the card's brand, last four digits and expiry only: never a card number),
// the daily usage the invoices are computed from, invoices and their lines, payments (receipts)
// and the billing notification messages. Money is always integer minor units with an ISO currency.
import { sql } from 'drizzle-orm';
import { bigint, boolean, doublePrecision, index, integer, jsonb, pgTable, primaryKey, serial, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { accounts } from './accounts.ts';

export type BillingPlan = 'monthly' | 'annual';
/** scheduled: starts when the trial ends; canceled: no longer renews (ended_at says when it stopped). */
export type SubscriptionState = 'scheduled' | 'active' | 'canceled';
export type InvoiceDelivery = 'link' | 'attachment';
export type InvoiceStatus = 'due' | 'paid' | 'overdue' | 'void';
export type PaymentStatus = 'succeeded' | 'failed';
export type BillingMessageKind = 'payment_due' | 'payment_overdue' | 'payment_failed' | 'trial_ended' | 'account_suspended';

const times = {
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
};

export const billingSubscriptions = pgTable('billing_subscriptions', {
  accountId: text('account_id').primaryKey().references(() => accounts.id, { onDelete: 'cascade' }),
  plan: text('plan').$type<BillingPlan>().notNull(),
  state: text('state').$type<SubscriptionState>().notNull(),
  purchaseOrderNumber: text('purchase_order_number'),
  startsAt: timestamp('starts_at', { withTimezone: true }).notNull(),
  /** The period being served now (set when the subscription starts). */
  currentPeriodStart: timestamp('current_period_start', { withTimezone: true }),
  currentPeriodEnd: timestamp('current_period_end', { withTimezone: true }),
  cancelAtPeriodEnd: boolean('cancel_at_period_end').notNull().default(false),
  canceledAt: timestamp('canceled_at', { withTimezone: true }),
  /** When service under this subscription stopped (cancellation took effect). */
  endedAt: timestamp('ended_at', { withTimezone: true }),
  version: integer('version').notNull().default(1),
  ...times,
});

export const billingDetails = pgTable('billing_details', {
  accountId: text('account_id').primaryKey().references(() => accounts.id, { onDelete: 'cascade' }),
  currency: text('currency').notNull(),
  title: text('title'),
  firstName: text('first_name').notNull(),
  lastName: text('last_name').notNull(),
  email: text('email').notNull(),
  companyName: text('company_name').notNull(),
  companyTaxId: text('company_tax_id'),
  addressLine1: text('address_line1').notNull(),
  addressLine2: text('address_line2'),
  addressLine3: text('address_line3'),
  country: text('country').notNull(),
  state: text('state'),
  city: text('city').notNull(),
  zip: text('zip').notNull(),
  phone: text('phone').notNull(),
  invoiceDelivery: text('invoice_delivery').$type<InvoiceDelivery>().notNull().default('attachment'),
  version: integer('version').notNull().default(1),
  ...times,
});

export const paymentMethods = pgTable(
  'payment_methods',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    provider: text('provider').notNull(),
    /** The provider's reference to the card; the card number itself never reaches the database. */
    providerToken: text('provider_token').notNull(),
    brand: text('brand').notNull(),
    last4: text('last4').notNull(),
    expMonth: integer('exp_month').notNull(),
    expYear: integer('exp_year').notNull(),
    holderName: text('holder_name').notNull(),
    isDefault: boolean('is_default').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('payment_methods_account_idx').on(t.accountId, t.id),
    uniqueIndex('payment_methods_default_key').on(t.accountId).where(sql`is_default`),
  ],
);

/** What the metering job saw on one UTC day: the billable quantity the invoices are built from. */
export const billingUsage = pgTable(
  'billing_usage',
  {
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    /** YYYY-MM-DD (UTC). */
    day: text('day').notNull(),
    activeEntities: integer('active_entities').notNull(),
    storedBytes: bigint('stored_bytes', { mode: 'number' }).notNull(),
    recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.day] })],
);

export interface BuyerSnapshot {
  company_name: string;
  name: string;
  email: string;
  address: string[];
  tax_id: string | null;
}

export const invoices = pgTable(
  'invoices',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    /** Sequential across the installation: what a finance team quotes. */
    number: serial('number').notNull(),
    plan: text('plan').$type<BillingPlan>().notNull(),
    currency: text('currency').notNull(),
    periodStart: timestamp('period_start', { withTimezone: true }).notNull(),
    periodEnd: timestamp('period_end', { withTimezone: true }).notNull(),
    issuedAt: timestamp('issued_at', { withTimezone: true }).notNull(),
    dueAt: timestamp('due_at', { withTimezone: true }).notNull(),
    subtotal: bigint('subtotal', { mode: 'number' }).notNull(),
    /** Basis points (0 = 0 %). */
    taxRateBp: integer('tax_rate_bp').notNull().default(0),
    tax: bigint('tax', { mode: 'number' }).notNull(),
    total: bigint('total', { mode: 'number' }).notNull(),
    status: text('status').$type<InvoiceStatus>().notNull(),
    paidAt: timestamp('paid_at', { withTimezone: true }),
    purchaseOrderNumber: text('purchase_order_number'),
    /** The billing details as they were when the invoice was issued. */
    buyer: jsonb('buyer').$type<BuyerSnapshot>().notNull(),
    /** Automatic charges (monthly): attempts made, and when the next one is due (null: none). */
    chargeAttempts: integer('charge_attempts').notNull().default(0),
    firstFailedAt: timestamp('first_failed_at', { withTimezone: true }),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    autoCharge: boolean('auto_charge').notNull().default(false),
    version: integer('version').notNull().default(1),
    ...times,
  },
  (t) => [
    index('invoices_account_idx').on(t.accountId, t.id),
    uniqueIndex('invoices_period_key').on(t.accountId, t.plan, t.periodStart),
    uniqueIndex('invoices_number_key').on(t.number),
    index('invoices_open_idx').on(t.status).where(sql`status in ('due', 'overdue')`),
  ],
);

export const invoiceLines = pgTable(
  'invoice_lines',
  {
    invoiceId: text('invoice_id').notNull().references(() => invoices.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
    service: text('service').notNull(),
    description: text('description').notNull(),
    unit: text('unit').notNull(),
    quantity: doublePrecision('quantity').notNull(),
    billableQuantity: integer('billable_quantity').notNull(),
    unitPrice: bigint('unit_price', { mode: 'number' }).notNull(),
    total: bigint('total', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.invoiceId, t.position] })],
);

export const payments = pgTable(
  'payments',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    /** Receipt numbers of successful payments, sequential across the installation. */
    receiptNumber: serial('receipt_number').notNull(),
    invoiceId: text('invoice_id').notNull().references(() => invoices.id, { onDelete: 'cascade' }),
    paymentMethodId: text('payment_method_id'),
    /** e.g. "Visa •••• 4242 (12/2030)": kept so a receipt survives the card's deletion. */
    methodDescription: text('method_description').notNull(),
    amount: bigint('amount', { mode: 'number' }).notNull(),
    currency: text('currency').notNull(),
    status: text('status').$type<PaymentStatus>().notNull(),
    failureCode: text('failure_code'),
    failureMessage: text('failure_message'),
    providerReference: text('provider_reference'),
    trigger: text('trigger').$type<'manual' | 'automatic'>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('payments_account_idx').on(t.accountId, t.id), index('payments_invoice_idx').on(t.invoiceId)],
);

export const billingMessages = pgTable(
  'billing_messages',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<BillingMessageKind>().notNull(),
    invoiceId: text('invoice_id'),
    message: text('message').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    /** Set when the cause went away (the invoice was paid, a subscription started). */
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
  },
  (t) => [index('billing_messages_account_idx').on(t.accountId, t.id)],
);
