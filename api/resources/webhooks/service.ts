// Webhook endpoints and the fan-out of events to them. `emitEvent` is what the rest of Coffer
// calls (notifications, billing, jobs): it records the event in the account's feed (GET /v1/events,
// api/resources/events/) and writes one delivery row per subscribed, enabled endpoint
// and enqueues its first attempt in the caller's transaction, so it never waits on anyone's HTTP
// server and an event exists exactly when the change that raised it commits. The `webhooks`
// worker (delivery.ts) does the POSTs and the retries.
import { randomBytes } from 'node:crypto';
import { and, desc, eq, lt, or, sql, type SQL } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import type { Tx } from '../../../db/client.ts';
import { webhookDeliveries, webhookEndpoints } from '../../../db/schema.ts';
import { newId } from '../../../db/ids.ts';
import { invalidField, notFound, preconditionFailed } from '../../errors.ts';
import { toPage, type PageRequest } from '../../pagination.ts';
import { enqueue, QUEUES } from '../../../workers/queue.ts';
import { checkTargetUrl, TargetRefused } from '../../../workers/outbound/target.ts';
import { audit, type Transaction } from '../audit/service.ts';
import { beforeAfter, maskUrls } from '../audit/changes.ts';
import { eventBody, partnerOf, recordEvent } from '../events/feed.ts';
import { requirePartner } from '../partner/customers.ts';
import type { WebhookDelivery, WebhookEndpoint, WebhookEndpointCreate, WebhookEndpointUpdate, WebhookEventType } from './schemas.ts';
import { checkVersion } from '../../etag.ts';

export { eventBody };

type EndpointRow = typeof webhookEndpoints.$inferSelect;
type DeliveryRow = typeof webhookDeliveries.$inferSelect;

export const SECRET_CONTEXT = 'webhook-secret';

/** The job the `webhooks` queue runs: one attempt of one delivery. */

function serialize(row: EndpointRow, deps: Pick<AppDeps, 'keyring'>): WebhookEndpoint {
  const secret = deps.keyring.openSecret(row.secret, SECRET_CONTEXT);
  return {
    id: row.id, url: row.url, events: row.events as WebhookEventType[], scope: row.scope, description: row.description, enabled: row.enabled,
    secret_hint: secret.slice(-4), created_at: row.createdAt.toISOString(), updated_at: row.updatedAt.toISOString(),
  };
}

export function serializeDelivery(row: DeliveryRow): WebhookDelivery {
  return {
    id: row.id, endpoint_id: row.endpointId, event_id: row.eventId, event_type: row.eventType as WebhookEventType, state: row.state,
    attempt_count: row.attempts.length, attempts: row.attempts, last_status_code: row.lastStatusCode,
    next_attempt_at: row.nextAttemptAt?.toISOString() ?? null, created_at: row.createdAt.toISOString(), delivered_at: row.deliveredAt?.toISOString() ?? null,
  };
}

function allowPrivate(deps: Pick<AppDeps, 'config'>): boolean {
  return deps.config.webhooks?.allowPrivateTargets ?? false;
}

function validUrl(deps: AppDeps, url: string): string {
  try {
    return checkTargetUrl(url, allowPrivate(deps)).toString();
  } catch (err) {
    if (err instanceof TargetRefused) throw invalidField('/body/url', `The URL ${err.message}.`);
    throw err;
  }
}

export function newSecret(): string {
  return 'whsec_' + randomBytes(32).toString('base64url');
}

export async function createEndpoint(deps: AppDeps, ctx: RequestContext, input: WebhookEndpointCreate) {
  const url = validUrl(deps, input.url);
  if (input.scope === 'customers') await requirePartner(deps, ctx);
  const secret = newSecret();
  const now = deps.clock.now();
  const row = await deps.db.transaction(async (tx) => {
    const [created] = await tx.insert(webhookEndpoints).values({
      id: newId('whk'), accountId: ctx.accountId, url, events: [...new Set(input.events)], scope: input.scope ?? 'account', description: input.description ?? null,
      enabled: input.enabled ?? true, secret: deps.keyring.sealSecret(secret, SECRET_CONTEXT), createdAt: now, updatedAt: now,
    }).returning();
    await auditEndpoint(deps, ctx, tx, 'webhook_created', `Webhook endpoint ${created!.url} created`, null, created!);
    return created;
  });
  return { endpoint: { ...serialize(row!, deps), secret }, version: row!.version };
}

export async function listEndpoints(deps: AppDeps, ctx: RequestContext, page: PageRequest) {
  const where: (SQL | undefined)[] = [eq(webhookEndpoints.accountId, ctx.accountId)];
  if (page.after) where.push(lt(webhookEndpoints.id, page.after));
  const rows = await deps.db.select().from(webhookEndpoints).where(and(...where)).orderBy(desc(webhookEndpoints.id)).limit(page.limit + 1);
  return toPage(rows, page.limit, (r) => serialize(r, deps));
}

async function findEndpoint(deps: AppDeps, ctx: RequestContext, id: string): Promise<EndpointRow> {
  const [row] = await deps.db.select().from(webhookEndpoints).where(and(eq(webhookEndpoints.accountId, ctx.accountId), eq(webhookEndpoints.id, id)));
  if (!row) throw notFound('Webhook endpoint', id);
  return row;
}

export async function getEndpoint(deps: AppDeps, ctx: RequestContext, id: string) {
  const row = await findEndpoint(deps, ctx, id);
  return { endpoint: serialize(row, deps), version: row.version };
}

export async function updateEndpoint(deps: AppDeps, ctx: RequestContext, id: string, input: WebhookEndpointUpdate, expected: number | undefined) {
  const current = await findEndpoint(deps, ctx, id);
  checkVersion(expected, current.version, `Webhook endpoint ${id}`);
  const changes: Partial<EndpointRow> = {};
  if (input.url !== undefined) changes.url = validUrl(deps, input.url);
  if (input.events !== undefined) changes.events = [...new Set(input.events)];
  if (input.scope !== undefined) {
    if (input.scope === 'customers') await requirePartner(deps, ctx);
    changes.scope = input.scope;
  }
  if (input.description !== undefined) changes.description = input.description;
  if (input.enabled !== undefined) changes.enabled = input.enabled;
  const row = await deps.db.transaction(async (tx) => {
    const [updated] = await tx.update(webhookEndpoints)
      .set({ ...changes, version: current.version + 1, updatedAt: deps.clock.now() })
      .where(and(eq(webhookEndpoints.accountId, ctx.accountId), eq(webhookEndpoints.id, id), eq(webhookEndpoints.version, current.version)))
      .returning();
    if (!updated) throw preconditionFailed(`Webhook endpoint ${id} changed while this request ran.`);
    await auditEndpoint(deps, ctx, tx, 'webhook_updated', `Webhook endpoint ${updated.url} changed`, current, updated);
    return updated;
  });
  return { endpoint: serialize(row, deps), version: row.version };
}

/** A new secret, shown once; the old one stops signing immediately. */
export async function rotateSecret(deps: AppDeps, ctx: RequestContext, id: string) {
  const current = await findEndpoint(deps, ctx, id);
  const secret = newSecret();
  const row = await deps.db.transaction(async (tx) => {
    const [updated] = await tx.update(webhookEndpoints)
      .set({ secret: deps.keyring.sealSecret(secret, SECRET_CONTEXT), version: current.version + 1, updatedAt: deps.clock.now() })
      .where(and(eq(webhookEndpoints.accountId, ctx.accountId), eq(webhookEndpoints.id, id)))
      .returning();
    await auditEndpoint(deps, ctx, tx, 'webhook_secret_rotated', `Webhook endpoint ${updated!.url}: signing secret rotated`, current, updated!);
    return updated;
  });
  return { endpoint: { ...serialize(row!, deps), secret }, version: row!.version };
}

export async function deleteEndpoint(deps: AppDeps, ctx: RequestContext, id: string) {
  const current = await findEndpoint(deps, ctx, id);
  await deps.db.transaction(async (tx) => {
    await tx.delete(webhookEndpoints).where(and(eq(webhookEndpoints.accountId, ctx.accountId), eq(webhookEndpoints.id, id)));
    await auditEndpoint(deps, ctx, tx, 'webhook_deleted', `Webhook endpoint ${current.url} deleted`, current, null);
  });
}

/** The endpoint's before and after; the signing secret shows only as masked (its hint is masked too). */
function auditEndpoint(deps: AppDeps, ctx: RequestContext, tx: Transaction, type: string, description: string, before: EndpointRow | null, after: EndpointRow | null) {
  const id = (after ?? before)!.id;
  const view = (row: EndpointRow | null) => row && serialize(row, deps);
  return audit(deps, ctx, { type, description: maskUrls(description), details: { webhook_id: id, ...beforeAfter(view(before), view(after)) } }, tx);
}

export async function listDeliveries(deps: AppDeps, ctx: RequestContext, endpointId: string, page: PageRequest, filter: { state?: string }) {
  await findEndpoint(deps, ctx, endpointId);
  const where: (SQL | undefined)[] = [eq(webhookDeliveries.accountId, ctx.accountId), eq(webhookDeliveries.endpointId, endpointId)];
  if (filter.state) where.push(eq(webhookDeliveries.state, filter.state as DeliveryRow['state']));
  if (page.after) where.push(lt(webhookDeliveries.id, page.after));
  const rows = await deps.db.select().from(webhookDeliveries).where(and(...where)).orderBy(desc(webhookDeliveries.id)).limit(page.limit + 1);
  return toPage(rows, page.limit, serializeDelivery);
}

async function insertDeliveries(
  deps: Pick<AppDeps, 'boss' | 'clock'>, tx: Tx, accountId: string, endpoints: { id: string; accountId: string }[], type: string, data: Record<string, unknown>,
  feed: boolean, partnerAccountId?: string | null,
) {
  const { eventId, body, createdAt: now } = await recordEvent(deps, tx, accountId, type, data, feed, partnerAccountId);
  // A partner's endpoint gets its customers' events as deliveries of its own account (it lists them).
  const rows = endpoints.map((e) => ({
    id: newId('dlv'), accountId: e.accountId, endpointId: e.id, eventId, eventType: type, body, state: 'pending' as const, attempts: [], createdAt: now, nextAttemptAt: now,
  }));
  if (rows.length) await tx.insert(webhookDeliveries).values(rows);
  for (const r of rows) await enqueue(deps, tx, QUEUES.webhooks, { deliveryId: r.id, attempt: 1 });
  return { eventId, deliveryIds: rows.map((r) => r.id) };
}

/**
 * Fans an event out to the account's enabled endpoints subscribed to `type`, and to those of its
 * partner that subscribe with scope `customers` (while the customer has not revoked the partner's
 * access). Call it inside the transaction that makes the change the event reports (pass that
 * `tx`), or with `deps.db`. It only inserts rows and enqueues jobs: it never performs HTTP and
 * never throws for an endpoint's sake. `data` is the event's payload (snake_case JSON).
 */
export async function emitEvent(
  deps: Pick<AppDeps, 'boss' | 'clock'>,
  tx: Tx,
  accountId: string,
  type: WebhookEventType,
  data: Record<string, unknown>,
): Promise<{ eventId: string; deliveryIds: string[] }> {
  const partnerId = await partnerOf(tx, accountId);
  const own = and(eq(webhookEndpoints.accountId, accountId), eq(webhookEndpoints.scope, 'account'));
  const endpoints = await tx.select({ id: webhookEndpoints.id, accountId: webhookEndpoints.accountId }).from(webhookEndpoints).where(and(
    partnerId ? or(own, and(eq(webhookEndpoints.accountId, partnerId), eq(webhookEndpoints.scope, 'customers'))) : own,
    eq(webhookEndpoints.enabled, true),
    sql`${webhookEndpoints.events} @> ${JSON.stringify([type])}::jsonb`,
  )).orderBy(webhookEndpoints.id);
  return insertDeliveries(deps, tx, accountId, endpoints, type, data, true, partnerId);
}

/** Queues the event of an earlier delivery again (same event id and body) as a new delivery to the same endpoint. */
export async function redeliver(deps: AppDeps, ctx: RequestContext, endpointId: string, deliveryId: string) {
  await findEndpoint(deps, ctx, endpointId);
  const [old] = await deps.db.select().from(webhookDeliveries).where(and(
    eq(webhookDeliveries.accountId, ctx.accountId), eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.id, deliveryId),
  ));
  if (!old) throw notFound('Webhook delivery', deliveryId);
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const [row] = await tx.insert(webhookDeliveries).values({
      id: newId('dlv'), accountId: ctx.accountId, endpointId, eventId: old.eventId, eventType: old.eventType, body: old.body,
      state: 'pending', attempts: [], createdAt: now, nextAttemptAt: now,
    }).returning();
    await enqueue(deps, tx, QUEUES.webhooks, { deliveryId: row!.id, attempt: 1 });
    return serializeDelivery(row!);
  });
}

/** Sends a `ping` event to one endpoint (enabled or not), asynchronously; returns the delivery to watch. */
export async function ping(deps: AppDeps, ctx: RequestContext, id: string) {
  const endpoint = await findEndpoint(deps, ctx, id);
  return deps.db.transaction(async (tx) => {
    const { deliveryIds, eventId } = await insertDeliveries(deps, tx, ctx.accountId, [{ id: endpoint.id, accountId: ctx.accountId }], 'ping', {
      endpoint_id: endpoint.id, message: 'Ping from Coffer: this endpoint is reachable and verifies signatures.',
    }, false);
    const [row] = await tx.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, deliveryIds[0]!));
    return { delivery: serializeDelivery(row!), eventId };
  });
}

