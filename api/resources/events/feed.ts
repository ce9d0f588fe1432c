// The account's event feed: one row per event webhooks carry (ping aside, which is one endpoint's
// test), written by `recordEvent` in the transaction that raises the event, with a NOTIFY on the
// `coffer_events` channel that PostgreSQL delivers only when that transaction commits. Every
// process's stream hub (stream.ts) LISTENs on it, so a stream hears of a new event as soon as it
// exists, whichever process (API or worker) raised it.
import { and, eq, isNull, lt, sql } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { Tx } from '../../../db/client.ts';
import { events, partnerCustomers } from '../../../db/schema.ts';
import { newId } from '../../../db/ids.ts';

export const EVENTS_CHANNEL = 'coffer_events';

/** The notification payload that wakes the customers streams of a partner (an account id wakes that account's). */
export const partnerKey = (partnerId: string) => `partner:${partnerId}`;

/** Events are kept this long, then the maintenance job deletes them. */
export const EVENT_RETENTION_MS = 30 * 24 * 3600_000;

/**
 * The exact body of an event: what a webhook delivery POSTs and signs, and what the feed returns.
 * `partner_account_id` names the partner that manages the account (null for none), so a partner's
 * receiver of its customers' events can tell whose event it got and that it is theirs to handle.
 */
export function eventBody(event: { id: string; type: string; createdAt: Date; accountId: string; partnerAccountId: string | null; data: Record<string, unknown> }): string {
  return JSON.stringify({
    id: event.id, type: event.type, created_at: event.createdAt.toISOString(), account_id: event.accountId, partner_account_id: event.partnerAccountId, data: event.data,
  });
}

/** The partner that manages the account now (its access not revoked), or null. */
export async function partnerOf(tx: Tx, accountId: string): Promise<string | null> {
  const [row] = await tx.select({ id: partnerCustomers.partnerAccountId }).from(partnerCustomers)
    .where(and(eq(partnerCustomers.customerAccountId, accountId), isNull(partnerCustomers.revokedAt)));
  return row?.id ?? null;
}

/**
 * Builds an event (id and body) and, when `feed` is true, stores it in the feed and notifies the
 * streams on commit. `partnerAccountId` is looked up when the caller has not (undefined).
 */
export async function recordEvent(
  deps: Pick<AppDeps, 'clock'>,
  tx: Tx,
  accountId: string,
  type: string,
  data: Record<string, unknown>,
  feed: boolean,
  partnerAccountId?: string | null,
): Promise<{ eventId: string; body: string; createdAt: Date }> {
  const eventId = newId('evt');
  const createdAt = deps.clock.now();
  const partner = partnerAccountId === undefined ? await partnerOf(tx, accountId) : partnerAccountId;
  const body = eventBody({ id: eventId, type, createdAt, accountId, partnerAccountId: partner, data });
  if (feed) {
    await tx.insert(events).values({ id: eventId, accountId, type, body, createdAt });
    await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${accountId})`);
    // A partner's customers stream (scope=customers) waits under the partner's key.
    if (partner) await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${partnerKey(partner)})`);
  }
  return { eventId, body, createdAt };
}

/** Deletes the events older than the retention period; returns how many went. */
export async function purgeExpiredEvents(deps: Pick<AppDeps, 'db' | 'clock'>): Promise<number> {
  const cutoff = new Date(deps.clock.now().getTime() - EVENT_RETENTION_MS);
  const removed = await deps.db.delete(events).where(lt(events.createdAt, cutoff)).returning({ id: events.id });
  return removed.length;
}
