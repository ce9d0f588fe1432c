// Billing operations that act on an account by id: used by the billing service (with the
// caller's ctx.accountId) and by the billing jobs (workers/jobs/billing). Invoices, charges through the
// payment provider, messages, mail and the account state transitions of dunning and trial expiry.
import { and, asc, desc, eq, gte, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { Tx } from '../../../db/client.ts';
import type { BillingConfig } from '../../config.ts';
import { newId } from '../../../db/ids.ts';
import { accountRemovals, accounts, entities, partnerCustomers, type AccountState } from '../../../db/schema.ts';
import {
  billingDetails, billingMessages, billingSubscriptions, billingUsage, invoiceLines, invoices, paymentMethods, payments,
  type BillingMessageKind, type BillingPlan, type BuyerSnapshot,
} from '../../../db/schema/billing.ts';
import { conflict, notFound, ApiError } from '../../errors.ts';
import { addDays, billingOf, DELETION_GRACE_DAYS, formatInvoiceNumber, formatMoney, formatReceiptNumber, priceLines, type Quantities } from './plans.ts';
import { paymentProvider, type DeclineCode } from './provider.ts';
import { emitBillingEvent } from './events.ts';
import { renderInvoicePdf, type InvoiceDocument } from './pdf.ts';
import type { Invoice, Payment } from './schemas.ts';

export type InvoiceRow = typeof invoices.$inferSelect;
export type LineRow = typeof invoiceLines.$inferSelect;
export type PaymentRow = typeof payments.$inferSelect;
type DetailsRow = typeof billingDetails.$inferSelect;

/** Entity statuses that are not protected (not billed): not activated, or backed up by another task, or archived. */
export const UNPROTECTED_STATUSES = ['not_active', 'backed_up_in_another_task', 'archived'] as const;

export function dayOf(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** Protected entities and stored bytes right now (what the metering job records each day). */
export async function liveQuantities(db: Tx, accountId: string): Promise<Quantities> {
  return (await liveQuantitiesOf(db, [accountId])).get(accountId)!;
}

/** liveQuantities of many accounts in one query (every account given has an entry, zero when it has no entity). */
export async function liveQuantitiesOf(db: Tx, accountIds: string[]): Promise<Map<string, Quantities>> {
  const out = new Map<string, Quantities>(accountIds.map((id) => [id, { entities: 0, storedBytes: 0 }]));
  if (!accountIds.length) return out;
  const rows = await db
    .select({
      accountId: entities.accountId,
      entities: sql<number>`count(*) filter (where ${entities.status} not in ('not_active', 'backed_up_in_another_task', 'archived'))::int`,
      storedBytes: sql<string>`coalesce(sum(${entities.sizeBytes}), 0)::text`,
    })
    .from(entities)
    .where(and(inArray(entities.accountId, accountIds), eq(entities.state, 'active')))
    .groupBy(entities.accountId);
  for (const r of rows) out.set(r.accountId, { entities: r.entities, storedBytes: Number(r.storedBytes) });
  return out;
}

/** The peak of the recorded daily usage in [from, to); the live numbers when no day was recorded. */
export async function periodQuantities(db: Tx, accountId: string, from: Date, to: Date): Promise<Quantities> {
  return (await periodQuantitiesOf(db, [accountId], from, to)).get(accountId)!;
}

/** periodQuantities of many accounts in two queries at most. */
export async function periodQuantitiesOf(db: Tx, accountIds: string[], from: Date, to: Date): Promise<Map<string, Quantities>> {
  const out = new Map<string, Quantities>();
  if (!accountIds.length) return out;
  const rows = await db
    .select({
      accountId: billingUsage.accountId,
      entities: sql<number>`coalesce(max(${billingUsage.activeEntities}), 0)::int`,
      storedBytes: sql<string>`coalesce(max(${billingUsage.storedBytes}), 0)::text`,
    })
    .from(billingUsage)
    .where(and(inArray(billingUsage.accountId, accountIds), gte(billingUsage.day, dayOf(from)), lt(billingUsage.day, dayOf(to))))
    .groupBy(billingUsage.accountId);
  for (const r of rows) out.set(r.accountId, { entities: r.entities, storedBytes: Number(r.storedBytes) });
  const unrecorded = accountIds.filter((id) => !out.has(id));
  for (const [id, q] of await liveQuantitiesOf(db, unrecorded)) out.set(id, q);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Partners: customers whose billing is 'partner' are invoiced to their partner, a line each.

export interface CustomerQuantities {
  accountId: string;
  name: string;
  quantities: Quantities;
}

/** The customers a partner pays for now: billing 'partner' and access not revoked, by account id. */
export async function partnerBilledCustomers(db: Tx, partnerId: string): Promise<{ id: string; name: string }[]> {
  return db.select({ id: accounts.id, name: accounts.name }).from(partnerCustomers)
    .innerJoin(accounts, eq(accounts.id, partnerCustomers.customerAccountId))
    .where(and(eq(partnerCustomers.partnerAccountId, partnerId), eq(partnerCustomers.billing, 'partner'), isNull(partnerCustomers.revokedAt)))
    .orderBy(asc(accounts.id));
}

/** Whether the account's partner pays for it (then it is never invoiced itself, and its trial does not run out). */
export async function billedByPartner(db: Tx, accountId: string): Promise<boolean> {
  const [row] = await db.select({ id: partnerCustomers.customerAccountId }).from(partnerCustomers)
    .where(and(eq(partnerCustomers.customerAccountId, accountId), eq(partnerCustomers.billing, 'partner'), isNull(partnerCustomers.revokedAt)));
  return !!row;
}

/**
 * The quantities of each customer a partner pays for: the period's recorded peaks (monthly, in
 * arrears) or the live figures (annual, in advance), as the partner's own are counted.
 */
export async function customerQuantities(db: Tx, partnerId: string, period: { from: Date; to: Date } | 'live'): Promise<CustomerQuantities[]> {
  const customers = await partnerBilledCustomers(db, partnerId);
  const ids = customers.map((c) => c.id);
  const q = period === 'live' ? await liveQuantitiesOf(db, ids) : await periodQuantitiesOf(db, ids, period.from, period.to);
  return customers.map((c) => ({ accountId: c.id, name: c.name, quantities: q.get(c.id)! }));
}

/**
 * An invoice's lines: the account's own, then each customer's (priced alone, its own plan minimum
 * included, named in the line). A partner's own line is left out when it protects nothing itself
 * and has customers on the invoice, so the minimum is not charged for an empty partner account.
 */
export function invoiceLinesFor(billing: BillingConfig, plan: BillingPlan, own: Quantities, customers: CustomerQuantities[] = []) {
  const ownLines = customers.length && own.entities === 0 && own.storedBytes === 0 ? [] : priceLines(billing, plan, own);
  return [
    ...ownLines,
    ...customers.flatMap((c) => priceLines(billing, plan, c.quantities).map((l) => ({
      ...l, service: `${l.service} for ${c.name}`, description: `Customer ${c.name} (${c.accountId}). ${l.description}`,
    }))),
  ];
}

export async function recordUsage(db: Tx, accountId: string, now: Date): Promise<Quantities> {
  const q = await liveQuantities(db, accountId);
  await db
    .insert(billingUsage)
    .values({ accountId, day: dayOf(now), activeEntities: q.entities, storedBytes: q.storedBytes, recordedAt: now })
    .onConflictDoUpdate({
      target: [billingUsage.accountId, billingUsage.day],
      set: {
        activeEntities: sql`greatest(${billingUsage.activeEntities}, excluded.active_entities)`,
        storedBytes: sql`greatest(${billingUsage.storedBytes}, excluded.stored_bytes)`,
        recordedAt: now,
      },
    });
  return q;
}

// ---------------------------------------------------------------------------------------------
// Serialization

export function serializeInvoice(row: InvoiceRow, lines: LineRow[]): Invoice {
  return {
    id: row.id,
    number: formatInvoiceNumber(row.number),
    status: row.status,
    plan: row.plan,
    currency: row.currency,
    period_start: row.periodStart.toISOString(),
    period_end: row.periodEnd.toISOString(),
    issued_at: row.issuedAt.toISOString(),
    due_at: row.dueAt.toISOString(),
    paid_at: row.paidAt?.toISOString() ?? null,
    purchase_order_number: row.purchaseOrderNumber,
    buyer: row.buyer,
    lines: lines.sort((a, b) => a.position - b.position).map((l) => ({
      service: l.service, description: l.description, unit: l.unit, total_quantity: l.quantity,
      billable_quantity: l.billableQuantity, unit_price: l.unitPrice, total: l.total,
    })),
    subtotal: row.subtotal,
    tax_rate_percent: row.taxRateBp / 100,
    tax: row.tax,
    total: row.total,
    amount_due: row.status === 'paid' || row.status === 'void' ? 0 : row.total,
    automatic_charge: row.autoCharge,
    charge_attempts: row.chargeAttempts,
    next_attempt_at: row.nextAttemptAt?.toISOString() ?? null,
    pdf_url: `/v1/billing/invoices/${row.id}/pdf`,
  };
}

export function serializePayment(row: PaymentRow, invoiceNumber: number): Payment {
  return {
    id: row.id,
    receipt_number: row.status === 'succeeded' ? formatReceiptNumber(row.receiptNumber) : null,
    invoice_id: row.invoiceId,
    invoice_number: formatInvoiceNumber(invoiceNumber),
    amount: row.amount,
    currency: row.currency,
    status: row.status,
    failure_code: row.failureCode,
    failure_message: row.failureMessage,
    method: row.methodDescription,
    provider_reference: row.providerReference,
    trigger: row.trigger,
    created_at: row.createdAt.toISOString(),
  };
}

export async function linesOf(db: Tx, invoiceIds: string[]): Promise<Map<string, LineRow[]>> {
  const map = new Map<string, LineRow[]>();
  if (!invoiceIds.length) return map;
  const rows = await db.select().from(invoiceLines).where(inArray(invoiceLines.invoiceId, invoiceIds));
  for (const r of rows) map.set(r.invoiceId, [...(map.get(r.invoiceId) ?? []), r]);
  return map;
}

export async function loadInvoice(db: Tx, accountId: string, id: string): Promise<{ row: InvoiceRow; invoice: Invoice }> {
  const [row] = await db.select().from(invoices).where(and(eq(invoices.accountId, accountId), eq(invoices.id, id)));
  if (!row) throw notFound('Invoice', id);
  const lines = await linesOf(db, [row.id]);
  return { row, invoice: serializeInvoice(row, lines.get(row.id) ?? []) };
}

// ---------------------------------------------------------------------------------------------
// Buyer, messages, mail

export function buyerOf(details: DetailsRow | undefined, account: { name: string; email: string }): BuyerSnapshot {
  if (!details) return { company_name: account.name, name: account.name, email: account.email, address: [], tax_id: null };
  const cityLine = [details.zip, details.city, details.state].filter(Boolean).join(' ');
  return {
    company_name: details.companyName,
    name: [details.title, details.firstName, details.lastName].filter(Boolean).join(' '),
    email: details.email,
    address: [details.addressLine1, details.addressLine2, details.addressLine3, cityLine, details.country].filter((x): x is string => !!x),
    tax_id: details.companyTaxId,
  };
}

async function accountAndDetails(db: Tx, accountId: string) {
  const [row] = await db
    .select({ account: accounts, details: billingDetails })
    .from(accounts)
    .leftJoin(billingDetails, eq(billingDetails.accountId, accounts.id))
    .where(eq(accounts.id, accountId));
  if (!row) throw notFound('Account', accountId);
  return { account: row.account, details: row.details ?? undefined };
}

/** Where billing mail goes: the billing email of the details, else the account's email. */
export async function billingEmail(db: Tx, accountId: string): Promise<{ to: string; delivery: 'link' | 'attachment' }> {
  const { account, details } = await accountAndDetails(db, accountId);
  return { to: details?.email ?? account.email, delivery: details?.invoiceDelivery ?? 'attachment' };
}

export async function addMessage(db: Tx, accountId: string, kind: BillingMessageKind, message: string, now: Date, invoiceId: string | null = null) {
  // One open message per kind and invoice: a retry that fails again does not pile up banners.
  const open = await db
    .select({ id: billingMessages.id })
    .from(billingMessages)
    .where(and(
      eq(billingMessages.accountId, accountId), eq(billingMessages.kind, kind), isNull(billingMessages.resolvedAt),
      invoiceId ? eq(billingMessages.invoiceId, invoiceId) : isNull(billingMessages.invoiceId),
    ));
  if (open.length) {
    await db.update(billingMessages).set({ message, createdAt: now }).where(eq(billingMessages.id, open[0]!.id));
    return;
  }
  await db.insert(billingMessages).values({ id: newId('bmsg'), accountId, kind, invoiceId, message, createdAt: now });
}

export async function resolveMessages(db: Tx, accountId: string, now: Date, where: { invoiceId?: string; kinds?: BillingMessageKind[] }) {
  await db
    .update(billingMessages)
    .set({ resolvedAt: now })
    .where(and(
      eq(billingMessages.accountId, accountId), isNull(billingMessages.resolvedAt),
      where.invoiceId ? eq(billingMessages.invoiceId, where.invoiceId) : undefined,
      where.kinds ? inArray(billingMessages.kind, where.kinds) : undefined,
    ));
}

export async function invoiceDocument(deps: Pick<AppDeps, 'db' | 'config'>, row: InvoiceRow): Promise<InvoiceDocument> {
  const lines = (await linesOf(deps.db, [row.id])).get(row.id) ?? [];
  const paid = await deps.db.select().from(payments)
    .where(and(eq(payments.invoiceId, row.id), eq(payments.status, 'succeeded'))).orderBy(asc(payments.id));
  return {
    number: formatInvoiceNumber(row.number),
    status: row.status,
    issuedAt: row.issuedAt,
    dueAt: row.dueAt,
    periodStart: row.periodStart,
    periodEnd: row.periodEnd,
    plan: row.plan,
    currency: row.currency,
    purchaseOrderNumber: row.purchaseOrderNumber,
    seller: billingOf(deps.config).seller,
    buyer: row.buyer,
    accountId: row.accountId,
    lines: lines.sort((a, b) => a.position - b.position),
    subtotal: row.subtotal,
    taxRateBp: row.taxRateBp,
    tax: row.tax,
    total: row.total,
    payments: paid.map((p) => ({
      receiptNumber: formatReceiptNumber(p.receiptNumber), date: p.createdAt, method: p.methodDescription, reference: p.providerReference, amount: p.amount,
    })),
  };
}

export async function invoicePdf(deps: Pick<AppDeps, 'db' | 'config'>, row: InvoiceRow, opts: { compress?: boolean } = {}): Promise<Buffer> {
  return renderInvoicePdf(await invoiceDocument(deps, row), opts);
}

export const LINK_DAYS = 30;
const LINK_CONTEXT = 'invoice-link';

/**
 * A download link for the PDF that works for 30 days without credentials: the token is the
 * invoice id and the expiry, sealed (AES-GCM) under the master key, so nothing is stored, every
 * emailed link keeps working until it expires, and a token cannot be forged or pointed elsewhere.
 */
export function newInvoiceLink(deps: Pick<AppDeps, 'keyring' | 'config'>, invoiceId: string, now: Date): { url: string; expiresAt: Date } {
  const expiresAt = addDays(now, LINK_DAYS);
  const sealed = deps.keyring.sealSecret(JSON.stringify({ i: invoiceId, e: expiresAt.getTime() }), LINK_CONTEXT);
  return { url: `${deps.config.publicUrl}/v1/billing/invoice-document?token=cfi_${sealed.slice(3)}`, expiresAt };
}

/** The invoice a link token names, or why not. */
export function openInvoiceLink(deps: Pick<AppDeps, 'keyring'>, token: string, now: Date): { invoiceId: string } | 'invalid' | 'expired' {
  try {
    const { i, e } = JSON.parse(deps.keyring.openSecret(`s1.${token.slice(4)}`, LINK_CONTEXT)) as { i: string; e: number };
    if (typeof i !== 'string' || typeof e !== 'number') return 'invalid';
    return e <= now.getTime() ? 'expired' : { invoiceId: i };
  } catch {
    return 'invalid';
  }
}

/**
 * Mails an invoice (or, once paid, the invoice / receipt) to the billing email, with the PDF
 * attached or linked as the billing details choose. `intro` is the first paragraph.
 */
export async function mailInvoice(deps: AppDeps, row: InvoiceRow, subject: string, intro: string) {
  const { to, delivery } = await billingEmail(deps.db, row.accountId);
  const now = deps.clock.now();
  const number = formatInvoiceNumber(row.number);
  const money = (n: number) => formatMoney(n, row.currency);
  const body = [
    intro,
    '',
    `Invoice:        ${number}`,
    `Issued:         ${dayOf(row.issuedAt)}`,
    `Due:            ${dayOf(row.dueAt)}`,
    `Service period: ${dayOf(row.periodStart)} to ${dayOf(addDays(row.periodEnd, -1))}`,
    ...(row.purchaseOrderNumber ? [`Purchase order: ${row.purchaseOrderNumber}`] : []),
    `Total:          ${money(row.total)}`,
    `Status:         ${row.status}`,
    '',
  ];
  let linkExpiresAt: Date | null = null;
  const attachments = [];
  if (delivery === 'link') {
    const link = newInvoiceLink(deps, row.id, now);
    linkExpiresAt = link.expiresAt;
    body.push(`Download the PDF (the link works for ${LINK_DAYS} days):`, link.url, '');
  } else {
    attachments.push({ filename: `${number}.pdf`, content: await invoicePdf(deps, row), contentType: 'application/pdf' });
    body.push(`The invoice is attached as ${number}.pdf.`, '');
  }
  body.push(`Billing status: ${deps.config.publicUrl}/v1/billing/status`, '', `— ${billingOf(deps.config).seller.name}`);
  await deps.mailer.send({ to, subject, text: body.join('\n'), attachments });
  return { sent_to: to, delivery, link_expires_at: linkExpiresAt?.toISOString() ?? null };
}

async function mailNotice(deps: AppDeps, accountId: string, subject: string, lines: string[]) {
  const { to } = await billingEmail(deps.db, accountId);
  await deps.mailer.send({
    to, subject,
    text: [...lines, '', `Billing status: ${deps.config.publicUrl}/v1/billing/status`, '', `— ${billingOf(deps.config).seller.name}`].join('\n'),
  });
}

// ---------------------------------------------------------------------------------------------
// Account state

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

// ---------------------------------------------------------------------------------------------
// Invoices

export interface IssueRequest {
  accountId: string;
  plan: BillingPlan;
  periodStart: Date;
  periodEnd: Date;
  quantities: Quantities;
  /** A partner's customers billed to it: a line each. */
  customers?: CustomerQuantities[];
  purchaseOrderNumber: string | null;
  /** Monthly: Coffer charges the default card (at `firstAttemptAt`, then per the retry schedule). */
  autoCharge: boolean;
  /** When the first automatic charge runs (the payment day); default: at issue. */
  firstAttemptAt?: Date | null;
  dueAt: Date;
}

/** Issues an invoice once per (account, plan, period start); returns null when it already exists. */
export async function issueInvoice(deps: AppDeps, req: IssueRequest): Promise<InvoiceRow | null> {
  const now = deps.clock.now();
  const billing = billingOf(deps.config);
  // A customer its partner pays for is on the partner's invoice, never on one of its own.
  if (await billedByPartner(deps.db, req.accountId)) return null;
  const row = await deps.db.transaction(async (tx) => {
    const { account, details } = await accountAndDetails(tx, req.accountId);
    const lines = invoiceLinesFor(billing, req.plan, req.quantities, req.customers);
    const subtotal = lines.reduce((s, l) => s + l.total, 0);
    const taxRateBp = 0;
    const tax = Math.round((subtotal * taxRateBp) / 10_000);
    const [inv] = await tx
      .insert(invoices)
      .values({
        id: newId('inv'), accountId: req.accountId, plan: req.plan, currency: details?.currency ?? billing.currency,
        periodStart: req.periodStart, periodEnd: req.periodEnd, issuedAt: now, dueAt: req.dueAt,
        subtotal, taxRateBp, tax, total: subtotal + tax, status: subtotal + tax === 0 ? 'paid' : 'due', paidAt: subtotal + tax === 0 ? now : null,
        purchaseOrderNumber: req.purchaseOrderNumber, buyer: buyerOf(details, account),
        autoCharge: req.autoCharge, nextAttemptAt: req.autoCharge && subtotal + tax > 0 ? (req.firstAttemptAt && req.firstAttemptAt > now ? req.firstAttemptAt : now) : null,
        createdAt: now, updatedAt: now,
      })
      .onConflictDoNothing()
      .returning();
    if (!inv) return null;
    await tx.insert(invoiceLines).values(lines.map((l, i) => ({
      invoiceId: inv.id, position: i + 1, service: l.service, description: l.description, unit: l.unit,
      quantity: l.quantity, billableQuantity: l.billableQuantity, unitPrice: l.unitPrice, total: l.total,
    })));
    if (inv.status === 'due' && !req.autoCharge) {
      await addMessage(tx, req.accountId, 'payment_due',
        `Invoice ${formatInvoiceNumber(inv.number)} for ${formatMoney(inv.total, inv.currency)} is due on ${dayOf(inv.dueAt)}.`, now, inv.id);
    }
    return inv;
  });
  if (!row) return null;
  const { invoice } = await loadInvoice(deps.db, row.accountId, row.id);
  await emitBillingEvent(deps, { type: 'invoice.created', accountId: row.accountId, data: { invoice }, occurredAt: now });
  if (!row.autoCharge && row.status === 'due') {
    await mailInvoice(deps, row, `Invoice ${formatInvoiceNumber(row.number)} from ${billingOf(deps.config).seller.name}`,
      `Your ${row.plan} Coffer invoice is ready, payable by ${dayOf(row.dueAt)}.`);
  }
  return row;
}

function describeCard(pm: { brand: string; last4: string; expMonth: number; expYear: number }): string {
  return `${pm.brand} •••• ${pm.last4} (${String(pm.expMonth).padStart(2, '0')}/${pm.expYear})`;
}

/**
 * The invoice is paid already (another charge got there first). A domain error, not an HTTP one:
 * the billing cycle, which runs this in a worker, skips such an invoice; payInvoice answers it with
 * 409 invoice_paid.
 */
export class InvoiceAlreadyPaid extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvoiceAlreadyPaid';
  }
}

export interface ChargeOutcome {
  invoice: Invoice;
  payment: Payment;
  declined: { code: DeclineCode | 'no_payment_method'; message: string } | null;
}

/**
 * Charges an unpaid invoice to the account's default card. The invoice row is locked for the
 * attempt (no two charges of one invoice run at once) and the provider gets an idempotency key
 * per attempt, so a retried request never charges twice.
 */
export async function chargeInvoice(deps: AppDeps, accountId: string, invoiceId: string, trigger: 'manual' | 'automatic'): Promise<ChargeOutcome> {
  const now = deps.clock.now();
  const billing = billingOf(deps.config);
  const provider = paymentProvider(deps);
  const result = await deps.db.transaction(async (tx) => {
    const [inv] = await tx.select().from(invoices).where(and(eq(invoices.accountId, accountId), eq(invoices.id, invoiceId))).for('update');
    if (!inv) throw notFound('Invoice', invoiceId);
    if (inv.status === 'paid') throw new InvoiceAlreadyPaid(`Invoice ${formatInvoiceNumber(inv.number)} is already paid.`);
    if (inv.status === 'void') throw conflict('invoice_void', `Invoice ${formatInvoiceNumber(inv.number)} is void.`);
    const [pm] = await tx.select().from(paymentMethods).where(and(eq(paymentMethods.accountId, accountId), eq(paymentMethods.isDefault, true)));
    if (!pm && trigger === 'manual') {
      throw conflict('payment_method_required', 'Add a card (POST /v1/billing/payment-methods) before paying an invoice.');
    }
    const [{ n }] = (await tx.select({ n: sql<number>`count(*)::int` }).from(payments).where(eq(payments.invoiceId, inv.id))) as [{ n: number }];
    let outcome: { ok: true; reference: string } | { ok: false; code: DeclineCode | 'no_payment_method'; message: string; reference: string | null };
    if (!pm) {
      outcome = { ok: false, code: 'no_payment_method', message: 'No card is on file.', reference: null };
    } else {
      const charged = await provider.charge({
        token: pm.providerToken, amount: inv.total, currency: inv.currency, idempotencyKey: `${inv.id}:${n + 1}`,
        description: `Coffer invoice ${formatInvoiceNumber(inv.number)}`,
      }, now);
      outcome = charged.status === 'succeeded' ? { ok: true, reference: charged.reference } : { ok: false, code: charged.code, message: charged.message, reference: charged.reference };
    }
    const [payment] = await tx.insert(payments).values({
      id: newId('pay'), accountId, invoiceId: inv.id, paymentMethodId: pm?.id ?? null, methodDescription: pm ? describeCard(pm) : 'none',
      amount: inv.total, currency: inv.currency, status: outcome.ok ? 'succeeded' : 'failed',
      failureCode: outcome.ok ? null : outcome.code, failureMessage: outcome.ok ? null : outcome.message,
      providerReference: outcome.reference, trigger, createdAt: now,
    }).returning();
    let updated: InvoiceRow;
    if (outcome.ok) {
      [updated] = (await tx.update(invoices)
        .set({ status: 'paid', paidAt: now, nextAttemptAt: null, chargeAttempts: inv.chargeAttempts + 1, updatedAt: now, version: inv.version + 1 })
        .where(eq(invoices.id, inv.id)).returning()) as [InvoiceRow];
      await resolveMessages(tx, accountId, now, { invoiceId: inv.id });
    } else {
      const firstFailedAt = inv.firstFailedAt ?? now;
      const failures = (await tx.select({ n: sql<number>`count(*)::int` }).from(payments)
        .where(and(eq(payments.invoiceId, inv.id), eq(payments.status, 'failed'), eq(payments.trigger, 'automatic'))))[0]!.n;
      // Retries follow the schedule from the first failure: 1st failure → retryDays[0], 2nd → retryDays[1], … then none.
      let nextAttemptAt = inv.nextAttemptAt;
      if (inv.autoCharge && trigger === 'automatic') {
        const wait = billing.retryDays[failures - 1];
        nextAttemptAt = wait === undefined ? null : addDays(firstFailedAt, wait);
      }
      [updated] = (await tx.update(invoices)
        .set({ chargeAttempts: inv.chargeAttempts + 1, firstFailedAt, nextAttemptAt, updatedAt: now, version: inv.version + 1 })
        .where(eq(invoices.id, inv.id)).returning()) as [InvoiceRow];
      await addMessage(tx, accountId, 'payment_failed',
        `Payment failed: unable to charge your card for invoice ${formatInvoiceNumber(inv.number)} (${outcome.message}) Update your card details.`, now, inv.id);
    }
    await settleAccountState(tx, accountId, now);
    return { inv: updated, payment: payment!, outcome };
  });
  const lines = (await linesOf(deps.db, [result.inv.id])).get(result.inv.id) ?? [];
  const invoice = serializeInvoice(result.inv, lines);
  const payment = serializePayment(result.payment, result.inv.number);
  const number = formatInvoiceNumber(result.inv.number);
  if (result.outcome.ok) {
    await mailInvoice(deps, result.inv, `Receipt for invoice ${number}`,
      `Thank you: ${formatMoney(result.inv.total, result.inv.currency)} was charged to ${result.payment.methodDescription} (receipt ${payment.receipt_number}).`);
    await emitBillingEvent(deps, { type: 'invoice.paid', accountId, data: { invoice, payment }, occurredAt: now });
    return { invoice, payment, declined: null };
  }
  const retry = result.inv.nextAttemptAt ? ` We will try again on ${dayOf(result.inv.nextAttemptAt)}.` : '';
  await mailNotice(deps, accountId, `Payment failed for invoice ${number}`, [
    `We were unable to charge your card for invoice ${number} (${formatMoney(result.inv.total, result.inv.currency)}): ${result.outcome.message}${retry}`,
    'Please update your card details (POST /v1/billing/payment-methods, then activate it) or pay the invoice.',
  ]);
  await emitBillingEvent(deps, { type: 'invoice.payment_failed', accountId, data: { invoice, payment }, occurredAt: now });
  return { invoice, payment, declined: { code: result.outcome.code, message: result.outcome.message } };
}

/** The charge was declined: a 402 problem naming the reason and the recorded payment. */
export function paymentDeclined(outcome: ChargeOutcome): ApiError {
  return new ApiError(402, outcome.declined!.code, 'Payment Required', outcome.declined!.message, {
    extra: { payment_id: outcome.payment.id, invoice_id: outcome.invoice.id },
  });
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

export async function openInvoices(db: Tx, accountId: string): Promise<InvoiceRow[]> {
  return db.select().from(invoices)
    .where(and(eq(invoices.accountId, accountId), inArray(invoices.status, ['due', 'overdue'])))
    .orderBy(desc(invoices.id));
}

export async function subscriptionOf(db: Tx, accountId: string) {
  const [row] = await db.select().from(billingSubscriptions).where(eq(billingSubscriptions.accountId, accountId));
  return row;
}

