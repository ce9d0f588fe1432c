// Idempotency-Key on POST: the first request with a key runs and its response is stored (sealed
// under the master key, since responses may carry one-time secrets) for 24 hours; a retry with the
// same key and the same body gets that stored response again; the same key with another body is a
// 422, and a retry while the first is still running is a 409. A 5xx is not stored, so it can be
// retried for real.
//
// A record belongs to the credential that made the request (account, user and API key or session),
// and that credential is part of the request hash: the stored response may hold a secret (a new
// API key, a TOTP seed), so nobody else may ever receive it, whatever key string they send; another
// credential with the same key simply gets its own processing. Unauthenticated requests (sign-up,
// sign-in, password reset) prove nothing a record could be bound to, so their responses are never
// stored: their key only refuses a duplicate while the first is running.
import { createHmac, hkdfSync } from 'node:crypto';
import { and, eq, lte, or } from 'drizzle-orm';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { ApiError, badRequest, conflict, unprocessable } from '../errors.ts';
import { idempotencyKeys } from '../../db/schema.ts';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
export const SEAL_CONTEXT = 'idempotent-response';
const REPLAYED_HEADERS = ['content-type', 'location', 'etag'];

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: { scope: string; key: string; stored: boolean; anonymous: boolean } | null;
  }
}

/**
 * Whose record this is. Authenticated: `<account>/<user>/<credential>` (account first, so an
 * account's records can be found by prefix). Unauthenticated: `public:<ip>`.
 */
export function idempotencyScope(request: FastifyRequest): { scope: string; anonymous: boolean } {
  const ctx = request.ctx;
  if (ctx) return { scope: `${ctx.accountId}/${ctx.userId}/${ctx.credentialId}`, anonymous: false };
  return { scope: `public:${request.ip}`, anonymous: true };
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** Keyed, because bodies hold passwords: a stored plain SHA-256 of one would be a fast offline guess. */
function requestHash(hashKey: Buffer, scope: string, request: FastifyRequest): string {
  const path = request.url.split('?')[0];
  return createHmac('sha256', hashKey)
    .update(`${scope}\n${request.method} ${path}\n${JSON.stringify(canonical(request.body ?? null))}`)
    .digest('hex');
}

export function registerIdempotency(app: FastifyInstance, deps: AppDeps) {
  app.decorateRequest('idempotency', null);
  const derive = (master: Buffer) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'coffer/idempotency-request/v1', 32));
  const hashKey = derive(deps.keyring.current.key);
  // A retry that spans a master-key rotation was recorded with a hash under the previous key.
  const olderHashKeys = deps.keyring.all.filter((k) => k.version !== deps.keyring.current.version).map((k) => derive(k.key));

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method !== 'POST') return;
    const key = request.headers['idempotency-key'];
    if (key === undefined) return;
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
      throw badRequest('invalid_idempotency_key', 'Idempotency-Key must be 1–255 visible ASCII characters.');
    }
    const { scope, anonymous } = idempotencyScope(request);
    const hash = requestHash(hashKey, scope, request);
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
        request.idempotency = { scope, key, stored: false, anonymous };
        return;
      }
      const [existing] = await deps.db
        .select()
        .from(idempotencyKeys)
        .where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key)));
      if (!existing) continue; // removed between the two statements: try to claim it again
      // Expired, or an unauthenticated response stored before they stopped being stored: forget it.
      if (existing.expiresAt <= now || (anonymous && existing.completed)) {
        await deps.db
          .delete(idempotencyKeys)
          .where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key), or(lte(idempotencyKeys.expiresAt, now), anonymous ? eq(idempotencyKeys.completed, true) : undefined)));
        continue;
      }
      if (existing.requestHash !== hash && !olderHashKeys.some((k) => requestHash(k, scope, request) === existing.requestHash)) {
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
    if (claim.anonymous || reply.statusCode >= 500 || (payload !== null && typeof payload !== 'string' && !Buffer.isBuffer(payload))) {
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
