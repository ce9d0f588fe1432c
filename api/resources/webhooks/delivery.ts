// The `webhooks` worker: one attempt of a delivery per job. A 2xx within 10 seconds delivers it;
// anything else records the attempt (status code or error) and enqueues the next attempt after the
// configured back-off (config.webhooks.retrySchedule: 30 s … 8 h, about a day in all), in the same
// transaction that records the failed attempt. After the last retry the delivery is `failed`.
// Each job names the attempt it makes, so a job that pg-boss hands out twice does not POST twice.
import http from 'node:http';
import https from 'node:https';
import { and, eq, sql } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import { webhookDeliveries, webhookEndpoints, type DeliveryAttempt } from '../../../db/schema.ts';
import { DEFAULT_WEBHOOK_RETRY_SCHEDULE } from '../../config.ts';
import { enqueue, QUEUES, type WebhookJob } from '../../../workers/queue.ts';
import { checkTargetUrl, guardedLookup, TargetRefused } from '../../../workers/outbound/target.ts';
import { signatureHeader } from './signature.ts';
import { SECRET_CONTEXT } from './service.ts';

export const DELIVERY_TIMEOUT_MS = 10_000;

export interface PostResult {
  statusCode: number | null;
  error: string | null;
  /** The target was refused (SSRF guard): retrying will not help. */
  refused: boolean;
}

/** POSTs a body, never following redirects, reading at most 64 KiB of the answer. */
export function post(url: string, body: string, headers: Record<string, string>, allowPrivate: boolean): Promise<PostResult> {
  let target: URL;
  try {
    target = checkTargetUrl(url, allowPrivate);
  } catch (err) {
    return Promise.resolve({ statusCode: null, error: `target refused: ${(err as Error).message}`, refused: true });
  }
  const lib = target.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: PostResult) => {
      if (!settled) {
        settled = true;
        resolve(r);
      }
    };
    const req = lib.request(target, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body).toString(), 'user-agent': 'Coffer-Webhooks/1' },
      lookup: guardedLookup(allowPrivate) as never,
      timeout: DELIVERY_TIMEOUT_MS,
    }, (res) => {
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > 65536) res.destroy();
      });
      const status = res.statusCode ?? null;
      const finish = () => done({ statusCode: status, error: status !== null && status >= 200 && status < 300 ? null : `HTTP ${status}`, refused: false });
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${DELIVERY_TIMEOUT_MS / 1000} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const refused = err instanceof TargetRefused || err.code === 'ETARGETREFUSED';
      done({ statusCode: null, error: refused ? `target refused: ${err.message}` : (err.code ? `${err.code}: ${err.message}` : err.message).slice(0, 300), refused });
    });
    req.end(body);
  });
}

/** Makes one attempt of one delivery (a no-op when that attempt was already made or it is settled). */
export async function attemptDelivery(deps: AppDeps, job: WebhookJob): Promise<'succeeded' | 'retrying' | 'failed' | 'skipped'> {
  const [row] = await deps.db
    .select({ delivery: webhookDeliveries, url: webhookEndpoints.url, secret: webhookEndpoints.secret, enabled: webhookEndpoints.enabled })
    .from(webhookDeliveries)
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
    .where(eq(webhookDeliveries.id, job.deliveryId));
  if (!row || row.delivery.state !== 'pending' || row.delivery.attempts.length !== job.attempt - 1) return 'skipped';
  const { delivery } = row;
  const allowPrivate = deps.config.webhooks?.allowPrivateTargets ?? false;
  const started = deps.clock.now();
  const startedMs = Date.now();
  let result: PostResult;
  if (!row.enabled && delivery.eventType !== 'ping') {
    result = { statusCode: null, error: 'endpoint disabled', refused: true };
  } else {
    const secret = deps.keyring.openSecret(row.secret, SECRET_CONTEXT);
    const t = Math.floor(started.getTime() / 1000);
    result = await post(row.url, delivery.body, {
      'coffer-signature': signatureHeader(secret, delivery.body, t),
      'coffer-event-id': delivery.eventId,
      'coffer-event-type': delivery.eventType,
      'coffer-delivery-id': delivery.id,
      'coffer-delivery-attempt': String(job.attempt),
    }, allowPrivate);
  }
  const attempt: DeliveryAttempt = { at: started.toISOString(), status_code: result.statusCode, error: result.error, duration_ms: Date.now() - startedMs };
  const schedule = deps.config.webhooks?.retrySchedule ?? DEFAULT_WEBHOOK_RETRY_SCHEDULE;
  const ok = result.error === null;
  const delay = !ok && !result.refused ? schedule[job.attempt - 1] : undefined;
  const state = ok ? 'succeeded' : delay !== undefined ? 'pending' : 'failed';
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    const updated = await tx.update(webhookDeliveries).set({
      attempts: sql`${webhookDeliveries.attempts} || ${JSON.stringify([attempt])}::jsonb`,
      state,
      lastStatusCode: result.statusCode,
      deliveredAt: ok ? now : null,
      nextAttemptAt: delay !== undefined ? new Date(now.getTime() + delay * 1000) : null,
    }).where(and(eq(webhookDeliveries.id, delivery.id), eq(webhookDeliveries.state, 'pending'), sql`jsonb_array_length(${webhookDeliveries.attempts}) = ${job.attempt - 1}`))
      .returning({ id: webhookDeliveries.id });
    if (updated.length && delay !== undefined) {
      await enqueue(deps, tx, QUEUES.webhooks, { deliveryId: delivery.id, attempt: job.attempt + 1 }, { startAfter: new Date(Date.now() + delay * 1000) });
    }
  });
  return ok ? 'succeeded' : delay !== undefined ? 'retrying' : 'failed';
}

/** The handler of a batch of `webhooks` jobs: attempts run concurrently; failures are recorded, never thrown. */
export async function deliverWebhooks(deps: AppDeps, jobs: { data: WebhookJob }[]) {
  const results = await Promise.allSettled(jobs.map((j) => attemptDelivery(deps, j.data)));
  // An unexpected error (the database, not the endpoint) fails the batch so pg-boss retries it;
  // attempts already recorded are skipped on the retry.
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return results.map((r) => (r as PromiseFulfilledResult<string>).value);
}
