// Idempotency-Key on POST: the first request with a key runs and its response is stored (sealed
// under the master key, since responses may carry one-time secrets) for 24 hours; a retry with the
// same key and the same body gets that stored response again; the same key with another body is a
// 422, and a retry while the first is still running is a 409. A 5xx is not stored, so it can be
// retried for real.
import { createHash } from 'node:crypto';
import { and, eq, lte } from 'drizzle-orm';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { ApiError, badRequest, conflict, unprocessable } from '../errors.ts';
import { idempotencyKeys } from '../../db/schema.ts';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const SEAL_CONTEXT = 'idempotent-response';
const REPLAYED_HEADERS = ['content-type', 'location', 'etag'];

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: { scope: string; key: string; stored: boolean } | null;
  }
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}

function requestHash(request: FastifyRequest): string {
  const path = request.url.split('?')[0];
  return createHash('sha256')
    .update(`${request.method} ${path}\n${JSON.stringify(canonical(request.body ?? null))}`)
    .digest('hex');
}

export function registerIdempotency(app: FastifyInstance, deps: AppDeps) {
  app.decorateRequest('idempotency', null);

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method !== 'POST') return;
    const key = request.headers['idempotency-key'];
    if (key === undefined) return;
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
      throw badRequest('invalid_idempotency_key', 'Idempotency-Key must be 1–255 visible ASCII characters.');
    }
    const scope = request.ctx?.accountId ?? `public:${request.ip}`;
    const hash = requestHash(request);
    const now = deps.clock.now();

    for (let attempt = 0; attempt < 2; attempt++) {
      const inserted = await deps.db
        .insert(idempotencyKeys)
        .values({
          scope, key, method: request.method, path: request.url.split('?')[0]!, requestHash: hash,
          createdAt: now, expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS),
        })
        .onConflictDoNothing()
        .returning({ key: idempotencyKeys.key });
      if (inserted.length) {
        request.idempotency = { scope, key, stored: false };
        return;
      }
      const [existing] = await deps.db
        .select()
        .from(idempotencyKeys)
        .where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key)));
      if (!existing) continue; // removed between the two statements: try to claim it again
      if (existing.expiresAt <= now) {
        await deps.db
          .delete(idempotencyKeys)
          .where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key), lte(idempotencyKeys.expiresAt, now)));
        continue;
      }
      if (existing.requestHash !== hash) {
        throw unprocessable('idempotency_key_reused', 'This Idempotency-Key was used with a different request; use a new key.');
      }
      if (!existing.completed) {
        throw conflict('idempotency_request_in_progress', 'A request with this Idempotency-Key is still being processed; retry shortly.');
      }
      for (const [name, value] of Object.entries(existing.responseHeaders ?? {})) reply.header(name, value);
      reply.header('idempotent-replayed', 'true');
      const body = existing.responseBody === null ? '' : deps.keyring.openSecret(existing.responseBody, SEAL_CONTEXT);
      return reply.code(existing.responseStatus ?? 200).send(body);
    }
    throw new ApiError(409, 'idempotency_request_in_progress', 'Conflict', 'Could not claim the Idempotency-Key; retry.');
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const claim = request.idempotency;
    if (!claim || claim.stored) return payload;
    claim.stored = true;
    const where = and(eq(idempotencyKeys.scope, claim.scope), eq(idempotencyKeys.key, claim.key));
    if (reply.statusCode >= 500 || (payload !== null && typeof payload !== 'string' && !Buffer.isBuffer(payload))) {
      await deps.db.delete(idempotencyKeys).where(where);
      return payload;
    }
    const headers: Record<string, string> = {};
    for (const name of REPLAYED_HEADERS) {
      const value = reply.getHeader(name);
      if (value !== undefined) headers[name] = String(value);
    }
    const text = payload === null ? null : Buffer.isBuffer(payload) ? payload.toString('utf8') : payload;
    await deps.db
      .update(idempotencyKeys)
      .set({ completed: true, responseStatus: reply.statusCode, responseHeaders: headers, responseBody: text === null ? null : deps.keyring.sealSecret(text, SEAL_CONTEXT) })
      .where(where);
    return payload;
  });

  // A request that died before sending (client gone, crash in a hook) must not hold its key hostage.
  app.addHook('onResponse', async (request) => {
    const claim = request.idempotency;
    if (claim && !claim.stored) {
      await deps.db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.scope, claim.scope), eq(idempotencyKeys.key, claim.key)));
    }
  });
}

/** Removes expired keys; run periodically by the maintenance job. */
export async function purgeExpiredIdempotencyKeys(deps: Pick<AppDeps, 'db' | 'clock'>): Promise<number> {
  const rows = await deps.db.delete(idempotencyKeys).where(lte(idempotencyKeys.expiresAt, deps.clock.now())).returning({ key: idempotencyKeys.key });
  return rows.length;
}
