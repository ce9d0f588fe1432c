// The account state transitions of billing: overdue invoices and past_due, suspension when a
// trial or subscription ends, and the scheduled deletion after it.
import { and, eq, inArray, lt, sql } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { Tx } from '../../../db/client.ts';
import { accountRemovals, accounts, type AccountState } from '../../../db/schema.ts';
import { invoices } from '../../../db/schema/billing.ts';
import { addDays, billingOf, DELETION_GRACE_DAYS, formatInvoiceNumber, formatMoney } from './plans.ts';
import { emitBillingEvent } from './events.ts';
import { dayOf } from './quantities.ts';
import { addMessage } from './messages.ts';
import { mailInvoice, mailNotice } from './mail.ts';
import { loadInvoice } from './records.ts';

/** pending_deletion: the exposed transition (the purge itself belongs to account lifecycle). */
export async function scheduleAccountDeletion(deps: AppDeps, accountId: string, now: Date = deps.clock.now()) {
  const purgeAt = addDays(now, DELETION_GRACE_DAYS);
  const row = await deps.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(accounts)
      .set({ state: 'pending_deletion', purgeAt, updatedAt: now, version: sql`${accounts.version} + 1` })
      .where(and(eq(accounts.id, accountId), eq(accounts.state, 'suspended')))
      .returning();
    if (!updated) return null;
    // The same record a user's removal request leaves (account lifecycle): no requesting user means
    // billing asked, and a subscription (or DELETE /v1/account/removal) takes the account back.
    await tx.insert(accountRemovals)
      .values({ accountId, previousState: 'suspended', requestedByUserId: null, requestedAt: now, purgeAt })
      .onConflictDoUpdate({ target: accountRemovals.accountId, set: { previousState: 'suspended', requestedByUserId: null, requestedAt: now, purgeAt } });
    return updated;
  });
  if (!row) return null;
  await addMessage(deps.db, accountId, 'account_suspended',
    `Your backups are scheduled for deletion on ${dayOf(purgeAt)}. Subscribe before then to keep them.`, now);
  await mailNotice(deps, accountId, 'Your Coffer backups will be deleted', [
    `No subscription is active for ${row.name}, so its backed-up data will be deleted on ${dayOf(purgeAt)}.`,
    'Subscribe before then to keep it: POST /v1/billing/subscription.',
  ]);
  await emitBillingEvent(deps, { type: 'account.pending_deletion', accountId, data: { purge_time: purgeAt.toISOString() }, occurredAt: now });
  return row;
}

export async function suspendAccount(deps: AppDeps, accountId: string, reason: 'trial_ended' | 'subscription_ended', now: Date = deps.clock.now()) {
  const [row] = await deps.db
    .update(accounts)
    .set({ state: 'suspended', updatedAt: now, version: sql`${accounts.version} + 1` })
    .where(and(eq(accounts.id, accountId), inArray(accounts.state, ['trial', 'active', 'past_due'])))
    .returning();
  if (!row) return null;
  const days = billingOf(deps.config).suspensionDays;
  const deleteFrom = addDays(now, days);
  const text = reason === 'trial_ended'
    ? `Your free trial has ended and backups are suspended. Subscribe by ${dayOf(deleteFrom)} or your backed-up data will be deleted.`
    : `Your subscription has ended and backups are suspended. Subscribe by ${dayOf(deleteFrom)} or your backed-up data will be deleted.`;
  await addMessage(deps.db, accountId, reason === 'trial_ended' ? 'trial_ended' : 'account_suspended', text, now);
  await mailNotice(deps, accountId, reason === 'trial_ended' ? 'Your Coffer trial has ended' : 'Your Coffer subscription has ended', [text]);
  await emitBillingEvent(deps, { type: 'account.suspended', accountId, data: { reason }, occurredAt: now });
  return row;
}

/**
 * After a payment or a failure: past_due while an unpaid invoice is overdue or its last charge
 * failed; back to active (if it was past_due) when nothing is.
 */
export async function settleAccountState(db: Tx, accountId: string, now: Date): Promise<AccountState | null> {
  const open = await db
    .select({ status: invoices.status, attempts: invoices.chargeAttempts, failed: invoices.firstFailedAt })
    .from(invoices)
    .where(and(eq(invoices.accountId, accountId), inArray(invoices.status, ['due', 'overdue'])));
  const troubled = open.some((i) => i.status === 'overdue' || i.failed !== null);
  const [account] = await db.select({ state: accounts.state }).from(accounts).where(eq(accounts.id, accountId));
  if (!account) return null;
  let next: AccountState = account.state;
  if (troubled && (account.state === 'active' || account.state === 'trial')) next = 'past_due';
  if (!troubled && account.state === 'past_due') next = 'active';
  if (next !== account.state) {
    await db.update(accounts).set({ state: next, updatedAt: now, version: sql`${accounts.version} + 1` }).where(eq(accounts.id, accountId));
  }
  return next;
}

/** Invoices past their due date become overdue; their account becomes past_due. */
export async function markOverdue(deps: AppDeps, now: Date): Promise<number> {
  const rows = await deps.db.update(invoices)
    .set({ status: 'overdue', updatedAt: now, version: sql`${invoices.version} + 1` })
    .where(and(eq(invoices.status, 'due'), lt(invoices.dueAt, now)))
    .returning();
  for (const row of rows) {
    const number = formatInvoiceNumber(row.number);
    await addMessage(deps.db, row.accountId, 'payment_overdue',
      `Invoice ${number} for ${formatMoney(row.total, row.currency)} was due on ${dayOf(row.dueAt)} and is overdue.`, now, row.id);
    await settleAccountState(deps.db, row.accountId, now);
    await mailInvoice(deps, row, `Overdue: invoice ${number}`, `Invoice ${number} was due on ${dayOf(row.dueAt)} and has not been paid. Please pay it now.`);
    const { invoice } = await loadInvoice(deps.db, row.accountId, row.id);
    await emitBillingEvent(deps, { type: 'invoice.overdue', accountId: row.accountId, data: { invoice }, occurredAt: now });
  }
  return rows.length;
}
