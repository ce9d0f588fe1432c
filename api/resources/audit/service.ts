// The security audit log (seed 5.1.2). Append-only and hash-chained per account: every event
// stores the previous event's hash and its own, SHA-256(prev_hash ‖ canonical JSON of the event),
// so changing or removing any row breaks the chain from that row on, which /v1/audit/verify finds.
// The newest rows have no successor to break, so a head record (audit_heads: last seq, id and hash)
// is moved in the same transaction as every append, and verify checks that the chain reaches it;
// verify also returns a signed checkpoint (checkpoint.ts) the customer can keep against an attacker
// who rewrites the head too. Inserts for one account are serialised with a transaction-scoped
// advisory lock, so the chain never forks under concurrency.
import { createHash } from 'node:crypto';
import { and, asc, desc, eq, gt, gte, lt, sql, type SQL } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import { toCsv } from '../../csv.ts';
import type { RequestContext } from '../../context.ts';
import type { Db } from '../../../db/client.ts';
import { auditEvents, auditHeads, users } from '../../../db/schema.ts';
import { newId } from '../../../db/ids.ts';
import { badRequest, notFound } from '../../errors.ts';
import { encodeCursor, type PageRequest } from '../../pagination.ts';
import type { AuditEvent, AuditVerification } from './schemas.ts';
import { signCheckpoint } from './checkpoint.ts';

export type Transaction = Parameters<Parameters<Db['transaction']>[0]>[0];
type Row = typeof auditEvents.$inferSelect;

/** The event types Coffer writes; other modules may add their own (the column is free text). */
export const AUDIT_TYPES = [
  'sign_in', 'sign_in_failed', 'sign_out', 'user_invited', 'user_confirmed', 'user_updated', 'permissions_changed',
  'user_deactivated', 'user_reactivated', 'user_deleted', 'password_changed', 'password_reset_requested', 'password_reset',
  'settings_changed', 'api_key_created', 'api_key_revoked', 'ip_allowlist_changed', '2fa_enabled', '2fa_disabled',
  'backup_deleted', 'notification', 'step_up_failed', 'account_removal_requested', 'account_removal_undone',
  'api_key_updated', 'task_created', 'task_updated', 'task_deleted', 'task_undeleted', 'task_paused', 'task_resumed',
  'task_reconnect_started', 'task_connected', 'entity_action', 'entity_undeleted', 'backups_purged', 'notification_settings_changed',
  'notification_recipient_added', 'notification_recipient_updated', 'notification_recipient_removed', 'webhook_created',
  'webhook_updated', 'webhook_deleted', 'webhook_secret_rotated', 'restore_started', 'export_started', 'job_canceled',
  'restore_resumed', 'export_download_revoked', 'subscription_created', 'subscription_canceled', 'billing_details_updated',
  'payment_method_added', 'payment_method_activated', 'payment_method_deleted', 'invoice_emailed', 'payment_succeeded',
  'payment_failed', 'account_purged', 'identity_linked', 'identity_unlinked', 'payment_settings_changed', 'payment_recorded',
  'customer_created', 'customer_updated', 'partner_invited', 'partner_invitation_cancelled',
  'partner_invitation_accepted', 'partner_invitation_declined', 'partner_access_revoked',
  'iac_state_written', 'iac_state_deleted', 'iac_state_locked', 'iac_state_unlocked',
  'iac_state_force_unlocked',
] as const;
export type AuditType = (typeof AUDIT_TYPES)[number];

export interface AuditInput {
  type: AuditType | (string & {});
  description: string;
  status?: 'completed' | 'failed';
  service?: string | null;
  task?: string | null;
  details?: Record<string, unknown>;
  /** Who did it, when the caller is not a request context (sign-in, password reset, workers). */
  performedBy?: { userId: string | null; email: string | null } | null;
  ip?: string | null;
  userAgent?: string | null;
}

export const GENESIS_HASH = '0'.repeat(64);
const AUDIT_LOCK = 0x41554454; // "AUDT"

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** What the hash covers: every column except the hashes themselves. */
export function eventHash(prevHash: string, row: Omit<Row, 'prevHash' | 'hash'>): string {
  const body = JSON.stringify(canonical({
    id: row.id, account_id: row.accountId, seq: row.seq, occurred_at: row.occurredAt, type: row.type, service: row.service,
    status: row.status, task: row.task, performed_by: row.performedBy, performed_by_user_id: row.performedByUserId,
    ip: row.ip, user_agent: row.userAgent, description: row.description, details: row.details ?? null,
  }));
  return createHash('sha256').update(prevHash).update('\n').update(body).digest('hex');
}

function isContext(who: RequestContext | string): who is RequestContext {
  return typeof who === 'object';
}

/**
 * Appends one event to the account's audit log. `who` is the request context (the actor, address
 * and user agent come from it) or an account id (then `event.performedBy`, `ip`, `userAgent` say
 * who). Pass `tx` to write the event in the same transaction as the change it records.
 */
export async function audit(deps: Pick<AppDeps, 'db' | 'clock'>, who: RequestContext | string, event: AuditInput, tx?: Transaction): Promise<AuditEvent> {
  const accountId = isContext(who) ? who.accountId : who;
  // A partner acting for its customer: the event names the partner in the customer's log, and a
  // copy goes to the partner's own log (same transaction), so each side can answer for it.
  const partnerAccountId = isContext(who) && who.partnerAccountId && who.partnerAccountId !== accountId ? who.partnerAccountId : null;
  if (partnerAccountId) {
    const actor = { user_id: (who as RequestContext).userId, account_id: partnerAccountId, partner_account_id: partnerAccountId };
    const inCustomer = { ...event, details: { ...event.details, actor } };
    const inPartner = { ...event, description: `For customer ${accountId}: ${event.description}`, details: { ...event.details, actor, customer_account_id: accountId } };
    const both = async (t: Transaction) => {
      const written = await append(deps, who, accountId, inCustomer, t);
      await append(deps, { ...(who as RequestContext), accountId: partnerAccountId, partnerAccountId: undefined }, partnerAccountId, inPartner, t);
      return written;
    };
    return tx ? both(tx) : deps.db.transaction(both);
  }
  return tx ? append(deps, who, accountId, event, tx) : deps.db.transaction((t) => append(deps, who, accountId, event, t));
}

async function append(deps: Pick<AppDeps, 'db' | 'clock'>, who: RequestContext | string, accountId: string, event: AuditInput, tx: Transaction): Promise<AuditEvent> {
  const run = async (t: Transaction) => {
    await t.execute(sql`select pg_advisory_xact_lock(${AUDIT_LOCK}, hashtext(${accountId}))`);
    let performedBy = event.performedBy ?? null;
    if (!performedBy && isContext(who)) {
      const [user] = await t.select({ email: users.email }).from(users).where(eq(users.id, who.userId));
      performedBy = { userId: who.userId, email: user?.email ?? null };
    }
    // The head, not the newest surviving row, says where the chain goes on: after a truncation the
    // next event then leaves a gap that verify reports, instead of papering over it. Only a log
    // written before heads existed (or whose head was removed) falls back to its newest row.
    const [head] = await t.select({ seq: auditHeads.seq, hash: auditHeads.hash }).from(auditHeads).where(eq(auditHeads.accountId, accountId));
    const [last] = head ? [head] : await t
      .select({ seq: auditEvents.seq, hash: auditEvents.hash })
      .from(auditEvents)
      .where(eq(auditEvents.accountId, accountId))
      .orderBy(desc(auditEvents.seq))
      .limit(1);
    const prevHash = last?.hash ?? GENESIS_HASH;
    const row = {
      id: newId('aud'),
      accountId,
      seq: (last?.seq ?? 0) + 1,
      occurredAt: deps.clock.now(),
      type: event.type,
      service: event.service ?? null,
      status: event.status ?? 'completed',
      task: event.task ?? null,
      performedBy: performedBy?.email ?? null,
      performedByUserId: performedBy?.userId ?? null,
      ip: event.ip !== undefined ? event.ip : isContext(who) ? who.ip : null,
      userAgent: (event.userAgent !== undefined ? event.userAgent : isContext(who) ? who.userAgent : null) ?? null,
      description: event.description,
      details: event.details ?? null,
    };
    const hash = eventHash(prevHash, row);
    const [inserted] = await t.insert(auditEvents).values({ ...row, prevHash, hash }).returning();
    const moved = { seq: row.seq, eventId: row.id, hash, updatedAt: row.occurredAt };
    await t.insert(auditHeads).values({ accountId, ...moved }).onConflictDoUpdate({ target: auditHeads.accountId, set: moved });
    return serializeAuditEvent(inserted!);
  };
  return run(tx);
}

/** Recorded in `details.actor` when a partner acted; otherwise a user of the account itself (or nobody). */
function actorOf(row: Row): AuditEvent['actor'] {
  const recorded = row.details?.actor as AuditEvent['actor'] | undefined;
  if (recorded && typeof recorded === 'object' && typeof recorded.account_id === 'string') {
    return { user_id: recorded.user_id ?? null, account_id: recorded.account_id, partner_account_id: recorded.partner_account_id ?? null };
  }
  return { user_id: row.performedByUserId, account_id: row.accountId, partner_account_id: null };
}

export function serializeAuditEvent(row: Row): AuditEvent {
  return {
    id: row.id,
    seq: row.seq,
    date: row.occurredAt.toISOString(),
    type: row.type,
    service: row.service,
    status: row.status as AuditEvent['status'],
    task: row.task,
    performed_by: row.performedBy,
    performed_by_user_id: row.performedByUserId,
    actor: actorOf(row),
    ip: row.ip,
    user_agent: row.userAgent,
    description: row.description,
    details: row.details ?? null,
    prev_hash: row.prevHash,
    hash: row.hash,
  };
}

export interface AuditFilter {
  from?: string;
  to?: string;
  type?: string;
  performed_by?: string;
}

function conditions(ctx: RequestContext, filter: AuditFilter): (SQL | undefined)[] {
  const where: (SQL | undefined)[] = [eq(auditEvents.accountId, ctx.accountId)];
  if (filter.from) where.push(gte(auditEvents.occurredAt, new Date(filter.from)));
  if (filter.to) where.push(lt(auditEvents.occurredAt, new Date(filter.to)));
  if (filter.from && filter.to && new Date(filter.from) > new Date(filter.to)) {
    throw badRequest('validation_failed', '`from` is after `to`.', [{ pointer: '/query/from', detail: 'must not be after `to`' }]);
  }
  if (filter.type) where.push(eq(auditEvents.type, filter.type));
  if (filter.performed_by) {
    where.push(filter.performed_by.startsWith('usr_')
      ? eq(auditEvents.performedByUserId, filter.performed_by)
      : sql`lower(${auditEvents.performedBy}) = ${filter.performed_by.toLowerCase()}`);
  }
  return where;
}

/** Newest first; the cursor is the last event's sequence number. */
export async function listAuditEvents(deps: AppDeps, ctx: RequestContext, page: PageRequest, filter: AuditFilter) {
  const where = conditions(ctx, filter);
  if (page.after !== undefined) {
    if (!/^\d{1,15}$/.test(page.after)) throw badRequest('invalid_cursor', 'The cursor is not one this API returned.');
    where.push(lt(auditEvents.seq, Number(page.after)));
  }
  const rows = await deps.db.select().from(auditEvents).where(and(...where)).orderBy(desc(auditEvents.seq)).limit(page.limit + 1);
  const more = rows.length > page.limit;
  const data = (more ? rows.slice(0, page.limit) : rows).map(serializeAuditEvent);
  return { data, next_cursor: more ? encodeCursor(String(data[data.length - 1]!.seq)) : null };
}

export const CSV_MAX_ROWS = 100_000;
const CSV_COLUMNS = ['date', 'type', 'service', 'status', 'task', 'performed_by', 'ip', 'description', 'id', 'hash'] as const;

/** Every event matching the filter (newest first, at most CSV_MAX_ROWS), as CSV with a header row. */
export async function exportAuditCsv(deps: AppDeps, ctx: RequestContext, filter: AuditFilter): Promise<string> {
  const rows = await deps.db.select().from(auditEvents).where(and(...conditions(ctx, filter))).orderBy(desc(auditEvents.seq)).limit(CSV_MAX_ROWS);
  const records = rows.map((r) => {
    const e = serializeAuditEvent(r);
    return CSV_COLUMNS.map((c) => e[c] ?? '');
  });
  return toCsv(records, { columns: [...CSV_COLUMNS] });
}

export async function getAuditEvent(deps: AppDeps, ctx: RequestContext, id: string) {
  const [row] = await deps.db.select().from(auditEvents).where(and(eq(auditEvents.accountId, ctx.accountId), eq(auditEvents.id, id)));
  if (!row) throw notFound('Audit event', id);
  return serializeAuditEvent(row);
}

const span = (from: number, to: number) => (from >= to ? `event ${from} is` : `events ${from}–${to} are`);

type Verdict = Omit<AuditVerification, 'checkpoint'>;

/**
 * Recomputes the account's chain from the first event, reports the first event that does not fit,
 * then checks that the chain ends exactly at the head record. Runs on one snapshot (repeatable
 * read), so an event appended meanwhile cannot look like a mismatch.
 */
async function checkChain(t: Transaction, accountId: string): Promise<{ verdict: Verdict; head: { seq: number; eventId: string; hash: string } | null }> {
  const [head] = await t.select().from(auditHeads).where(eq(auditHeads.accountId, accountId));
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let checked = 0;
  let last = null as Row | null;
  for (;;) {
    const batch = await t
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.accountId, accountId), gt(auditEvents.seq, last?.seq ?? 0)))
      .orderBy(asc(auditEvents.seq))
      .limit(1000);
    for (const row of batch) {
      checked++;
      const { prevHash: storedPrev, hash, ...rest } = row;
      const broken = row.seq !== expectedSeq ? `event ${row.id} has position ${row.seq} where ${expectedSeq} was expected: ${span(expectedSeq, row.seq - 1)} missing`
        : storedPrev !== prevHash ? `event ${row.id} (position ${row.seq}) does not link to the event before it`
        : eventHash(storedPrev, rest) !== hash ? `event ${row.id} (position ${row.seq}) does not match its hash: its content was changed`
        : null;
      if (broken) return { verdict: { intact: false, events_checked: checked, first_broken_event_id: row.id, reason: broken }, head: head ?? null };
      prevHash = hash;
      expectedSeq++;
      last = row;
    }
    if (batch.length < 1000) break;
  }
  const fail = (reason: string, id: string | null = null) => ({ verdict: { intact: false, events_checked: checked, first_broken_event_id: id, reason }, head: head ?? null });
  const lastSeq = last?.seq ?? 0;
  if (!head) {
    return checked === 0
      ? { verdict: { intact: true, events_checked: 0, first_broken_event_id: null, reason: null }, head: null }
      : fail(`the audit head record is missing: nothing confirms that the chain ends at event ${last!.id} (position ${lastSeq}), so newer events may have been removed`);
  }
  if (lastSeq < head.seq) {
    return fail(`the newest ${span(lastSeq + 1, head.seq)} missing (of ${head.seq}): the head record says the chain ends at event ${head.eventId} (position ${head.seq}), but the last stored event is at position ${lastSeq}`);
  }
  if (lastSeq > head.seq) return fail(`events after position ${head.seq} were added outside the audit log: the head record says the chain ends at event ${head.eventId}`, last!.id);
  if (last!.id !== head.eventId || last!.hash !== head.hash) {
    return fail(`the last event (${last!.id}, position ${lastSeq}) is not the one the head record names (${head.eventId} with hash ${head.hash})`, last!.id);
  }
  return { verdict: { intact: true, events_checked: checked, first_broken_event_id: null, reason: null }, head };
}

/** The verdict, with a signed checkpoint of the head when the chain is intact. */
export async function verifyAuditChain(deps: Pick<AppDeps, 'db' | 'keyring' | 'clock'>, accountId: string): Promise<AuditVerification> {
  const { verdict, head } = await deps.db.transaction((t) => checkChain(t, accountId), { isolationLevel: 'repeatable read', accessMode: 'read only' });
  const checkpoint = verdict.intact
    ? signCheckpoint(deps.keyring, accountId, { events: head?.seq ?? 0, headEventId: head?.eventId ?? null, headHash: head?.hash ?? GENESIS_HASH }, deps.clock.now())
    : null;
  return { ...verdict, checkpoint };
}
