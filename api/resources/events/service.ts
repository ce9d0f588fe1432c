// The event feed as the API reads it: list (newest first), one event, events after a cursor for
// the stream, and test events (POST /v1/events/test) for `coffer trigger`.
import { and, asc, desc, eq, gt, gte, inArray, isNull, lt, or, type SQL } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { events, partnerCustomers } from '../../../db/schema.ts';
import { requirePartner } from '../partner/customers.ts';
import { badRequest, notFound } from '../../errors.ts';
import { toPage, type PageRequest } from '../../pagination.ts';
import { recordEvent } from './feed.ts';
import type { Event, EventListQuery, FeedEventType } from './schemas.ts';

type EventRow = { id: string; body: string };

/** Whose events a read covers: one account's, or those of the partner's current customers. */
export type EventScope = { accountId: string } | { partnerId: string; customerIds: readonly string[] | null };

/** The scope a request asks for; `customers` needs a partner account (403 `not_a_partner`). */
export async function eventScope(deps: AppDeps, ctx: RequestContext, scope: 'account' | 'customers' | undefined): Promise<EventScope> {
  if (scope !== 'customers') return { accountId: ctx.accountId };
  await requirePartner(deps, ctx);
  return { partnerId: ctx.accountId, customerIds: ctx.customerIds ?? null };
}

/**
 * The partner's customers whose access is not revoked (checked at each read, so a revocation stops
 * delivery at once), within the partner user's `customer_ids` when it is limited to some.
 */
function customersOf(deps: Pick<AppDeps, 'db'>, partnerId: string, customerIds: readonly string[] | null) {
  // '' keeps the list non-empty: a user limited to no customer matches none.
  const limited = customerIds ? inArray(partnerCustomers.customerAccountId, [...customerIds, '']) : undefined;
  return deps.db.select({ id: partnerCustomers.customerAccountId }).from(partnerCustomers)
    .where(and(eq(partnerCustomers.partnerAccountId, partnerId), isNull(partnerCustomers.revokedAt), limited));
}

function ofScope(deps: Pick<AppDeps, 'db'>, scope: EventScope): SQL {
  return 'accountId' in scope ? eq(events.accountId, scope.accountId) : inArray(events.accountId, customersOf(deps, scope.partnerId, scope.customerIds));
}

export function serializeEvent(row: EventRow): Event {
  return JSON.parse(row.body) as Event;
}

/** `a,b` → ['a', 'b'] (the query schema has checked each name). */
export function parseTypes(filter: string | undefined): FeedEventType[] | undefined {
  return filter ? [...new Set(filter.split(','))] as FeedEventType[] : undefined;
}

export async function listEvents(deps: AppDeps, ctx: RequestContext, page: PageRequest, q: EventListQuery) {
  if (q.from && q.to && new Date(q.from) > new Date(q.to)) {
    throw badRequest('validation_failed', '`from` is after `to`.', [{ pointer: '/query/from', detail: 'must not be after `to`' }]);
  }
  const where: (SQL | undefined)[] = [ofScope(deps, await eventScope(deps, ctx, q.scope))];
  const types = parseTypes(q.type);
  if (types) where.push(inArray(events.type, types));
  if (q.from) where.push(gte(events.createdAt, new Date(q.from)));
  if (q.to) where.push(lt(events.createdAt, new Date(q.to)));
  if (page.after) where.push(lt(events.id, page.after));
  const rows = await deps.db.select({ id: events.id, body: events.body }).from(events).where(and(...where)).orderBy(desc(events.id)).limit(page.limit + 1);
  return toPage(rows, page.limit, serializeEvent);
}

/**
 * One event of the account, or (for a partner, as webhook deliveries and the customers feed give
 * it) of one of its current customers; any other is 404, whoever's it is.
 */
export async function getEvent(deps: AppDeps, ctx: RequestContext, id: string): Promise<Event> {
  const scope = or(eq(events.accountId, ctx.accountId), ofScope(deps, { partnerId: ctx.accountId, customerIds: ctx.customerIds ?? null }));
  const [row] = await deps.db.select({ id: events.id, body: events.body }).from(events).where(and(scope, eq(events.id, id)));
  if (!row) throw notFound('Event', id);
  return serializeEvent(row);
}

/** The scope's events with an id above `after`, oldest first (the stream's catch-up and live reads). */
export async function eventsAfter(deps: Pick<AppDeps, 'db'>, scope: EventScope, after: string, types: string[] | undefined, limit: number) {
  const where: (SQL | undefined)[] = [ofScope(deps, scope), gt(events.id, after)];
  if (types) where.push(inArray(events.type, types));
  return deps.db.select({ id: events.id, type: events.type, body: events.body }).from(events).where(and(...where)).orderBy(asc(events.id)).limit(limit);
}

/**
 * Records a test event of `type` in the caller's feed: streams (and so `coffer listen`) receive it.
 * It is not sent to webhook endpoints, whose receivers would act on a made-up invoice or run
 * (`POST /v1/webhooks/{id}/ping` tests an endpoint).
 */
export async function createTestEvent(deps: AppDeps, ctx: RequestContext, type: FeedEventType): Promise<Event> {
  const { body } = await deps.db.transaction((tx) => recordEvent(deps, tx, ctx.accountId, type, {
    test: true, message: `A test ${type} event, sent with POST /v1/events/test (coffer trigger). It describes nothing that happened.`,
  }, true));
  return JSON.parse(body) as Event;
}
