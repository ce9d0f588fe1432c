// The billing cycle, run by the billing job (hourly) on the injected clock, so tests drive it by
// advancing a ManualClock and calling runBillingCycle. Every step is idempotent:
//   1. scheduled subscriptions whose start has come become active (the account leaves its trial);
//   2. monthly periods that ended are invoiced from their usage (in arrears, charged to the card),
//      a partner's with a line per customer it pays for (who get no invoice of their own);
//      annual renewals are invoiced `annualTermsDays` before the period ends (in advance); a
//      subscription canceled at period end stops, and the account is suspended;
//   3. automatic charges that are due run (the first at issue or on the payment day, then the
//      retry schedule); with automatic payment off, monthly invoices wait for a bank transfer;
//   4. unpaid invoices past their due date become overdue (account past_due, message, mail);
//   5. trials that ended without a subscription suspend the account (backups stop), unless a
//      partner pays for it;
//   6. accounts suspended for `suspensionDays` move to pending_deletion with a purge time.
import { and, eq, inArray, isNotNull, lte, sql } from 'drizzle-orm';
import type { AppDeps } from '../../../api/deps.ts';
import { accounts } from '../../../db/schema.ts';
import { billingSubscriptions, invoices } from '../../../db/schema/billing.ts';
import { addDays, billingOf, periodEnd } from '../../../api/resources/billing/plans.ts';
import { customerQuantities, liveQuantities, periodQuantities } from '../../../api/resources/billing/quantities.ts';
import { issueInvoice } from '../../../api/resources/billing/invoice-issuing.ts';
import { chargeInvoice, InvoiceAlreadyPaid } from '../../../api/resources/billing/invoice-charging.ts';
import { markOverdue, scheduleAccountDeletion, suspendAccount } from '../../../api/resources/billing/dunning.ts';
import { activateAccount } from '../../../api/resources/billing/subscription-service.ts';
import { monthlySchedule, paymentOptionsOf } from '../../../api/resources/billing/payment-settings.ts';

export interface CycleResult {
  started: number;
  invoiced: number;
  charged: number;
  failed: number;
  overdue: number;
  suspended: number;
  pendingDeletion: number;
}

export async function runBillingCycle(deps: AppDeps): Promise<CycleResult> {
  const now = deps.clock.now();
  const billing = billingOf(deps.config);
  const result: CycleResult = { started: 0, invoiced: 0, charged: 0, failed: 0, overdue: 0, suspended: 0, pendingDeletion: 0 };

  // 1. Scheduled subscriptions that start now.
  const starting = await deps.db.select().from(billingSubscriptions)
    .where(and(eq(billingSubscriptions.state, 'scheduled'), lte(billingSubscriptions.startsAt, now)));
  for (const sub of starting) {
    await deps.db.transaction(async (tx) => {
      const [row] = await tx.update(billingSubscriptions)
        .set({ state: 'active', currentPeriodStart: sub.startsAt, currentPeriodEnd: periodEnd(sub.plan, sub.startsAt), updatedAt: now, version: sql`${billingSubscriptions.version} + 1` })
        .where(and(eq(billingSubscriptions.accountId, sub.accountId), eq(billingSubscriptions.state, 'scheduled')))
        .returning();
      if (row) await activateAccount(tx, sub.accountId, now);
    });
    result.started++;
  }

  // 2. Periods: invoice what ended (monthly), renew ahead (annual), stop what was canceled.
  const active = await deps.db.select().from(billingSubscriptions).where(eq(billingSubscriptions.state, 'active'));
  for (let sub of active) {
    for (let guard = 0; guard < 120; guard++) {
      const start = sub.currentPeriodStart!;
      const end = sub.currentPeriodEnd!;
      if (sub.plan === 'annual' && !sub.cancelAtPeriodEnd && now >= addDays(end, -billing.annualTermsDays)) {
        const issued = await issueInvoice(deps, {
          accountId: sub.accountId, plan: 'annual', periodStart: end, periodEnd: periodEnd('annual', end),
          quantities: await liveQuantities(deps.db, sub.accountId), customers: await customerQuantities(deps.db, sub.accountId, 'live'),
          purchaseOrderNumber: sub.purchaseOrderNumber, autoCharge: false,
          dueAt: end > now ? end : addDays(now, billing.annualTermsDays),
        });
        if (issued) result.invoiced++;
      }
      if (end > now) break;
      if (sub.plan === 'monthly') {
        // Automatic card payment (or not) and the payment day decide when it is charged and due.
        const schedule = monthlySchedule(billing, await paymentOptionsOf(deps.db, sub.accountId), end);
        const issued = await issueInvoice(deps, {
          accountId: sub.accountId, plan: 'monthly', periodStart: start, periodEnd: end,
          quantities: await periodQuantities(deps.db, sub.accountId, start, end),
          customers: await customerQuantities(deps.db, sub.accountId, { from: start, to: end }),
          purchaseOrderNumber: sub.purchaseOrderNumber,
          autoCharge: schedule.autoCharge, firstAttemptAt: schedule.firstAttemptAt, dueAt: schedule.dueAt,
        });
        if (issued) result.invoiced++;
      }
      if (sub.cancelAtPeriodEnd) {
        await deps.db.update(billingSubscriptions)
          .set({ state: 'canceled', endedAt: end, updatedAt: now, version: sql`${billingSubscriptions.version} + 1` })
          .where(eq(billingSubscriptions.accountId, sub.accountId));
        if (await suspendAccount(deps, sub.accountId, 'subscription_ended', now)) result.suspended++;
        break;
      }
      const [next] = await deps.db.update(billingSubscriptions)
        .set({ currentPeriodStart: end, currentPeriodEnd: periodEnd(sub.plan, end), updatedAt: now, version: sql`${billingSubscriptions.version} + 1` })
        .where(and(eq(billingSubscriptions.accountId, sub.accountId), eq(billingSubscriptions.currentPeriodEnd, end)))
        .returning();
      if (!next) break;
      sub = next;
    }
  }

  // 3. Automatic charges that are due.
  const dueCharges = await deps.db.select({ id: invoices.id, accountId: invoices.accountId }).from(invoices)
    .where(and(inArray(invoices.status, ['due', 'overdue']), eq(invoices.autoCharge, true), isNotNull(invoices.nextAttemptAt), lte(invoices.nextAttemptAt, now)));
  for (const inv of dueCharges) {
    try {
      const outcome = await chargeInvoice(deps, inv.accountId, inv.id, 'automatic');
      if (outcome.declined) result.failed++;
      else result.charged++;
    } catch (err) {
      if (!(err instanceof InvoiceAlreadyPaid)) throw err;
    }
  }

  // 4. Overdue invoices.
  result.overdue = await markOverdue(deps, now);

  // 5. Trials that ended without a subscription that serves.
  const expired = await deps.db.select({ id: accounts.id }).from(accounts)
    .leftJoin(billingSubscriptions, eq(billingSubscriptions.accountId, accounts.id))
    .where(and(
      eq(accounts.state, 'trial'), lte(accounts.trialEndsAt, now),
      sql`(${billingSubscriptions.state} is null or ${billingSubscriptions.state} = 'canceled')`,
      // A customer its partner pays for needs no subscription of its own.
      sql`not exists (select 1 from partner_customers pc where pc.customer_account_id = ${accounts.id} and pc.billing = 'partner' and pc.revoked_at is null)`,
    ));
  for (const a of expired) if (await suspendAccount(deps, a.id, 'trial_ended', now)) result.suspended++;

  // 6. Suspended long enough: deletion is scheduled (the purge itself is account lifecycle's).
  const cutoff = addDays(now, -billing.suspensionDays);
  const stale = await deps.db.select({ id: accounts.id }).from(accounts)
    .leftJoin(billingSubscriptions, eq(billingSubscriptions.accountId, accounts.id))
    .where(and(
      eq(accounts.state, 'suspended'),
      sql`coalesce(${billingSubscriptions.endedAt}, ${accounts.trialEndsAt}) <= ${cutoff.toISOString()}`,
    ));
  for (const a of stale) if (await scheduleAccountDeletion(deps, a.id, now)) result.pendingDeletion++;

  return result;
}
