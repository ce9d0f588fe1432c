// How an account pays (seed 6.1.1, 6.2): automatic card payment on or off, and the payment day of
// the month. Without a row: automatic payment on, no payment day.
import { boolean, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { accounts } from './accounts.ts';

export const billingPaymentSettings = pgTable('billing_payment_settings', {
  accountId: text('account_id').primaryKey().references(() => accounts.id, { onDelete: 'cascade' }),
  /** On: monthly invoices are charged to the default card. Off: they wait for a bank transfer or PayPal payment. */
  autoPay: boolean('auto_pay').notNull().default(true),
  /** Day of the month (1–28) monthly invoices are charged or due on; null: charged when issued, due after the terms. */
  paymentDay: integer('payment_day'),
  version: integer('version').notNull().default(1),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});
