// CORS, so that a browser application on another origin can call the API with an API key or a
// session token in the Authorization header. Origins are allowed one by one (COFFER_CORS_ORIGINS;
// none by default, `*` for any). Credentials travel in Authorization, never in cookies, so the
// answer never says Allow-Credentials: a page cannot make the browser spend a user's cookie here.
//
// Done here rather than with @fastify/cors: the preflight must be answered before authentication
// and before the 405 that an OPTIONS request on a known route would otherwise get, and a refused
// origin must get a problem document like every other error.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { forbidden } from '../errors.ts';

/** Methods the API's routes use. */
const ALLOWED_METHODS = 'GET, POST, PUT, PATCH, DELETE';
/**
 * Request headers a client sends beyond the CORS-safelisted ones: the SDK's (a partner's
 * Coffer-Account; User-Agent, which some browsers let a script set and then preflight) and the
 * API's conditional, idempotent, resumable and streaming requests.
 */
const ALLOWED_HEADERS = 'Authorization, Content-Type, Accept, Idempotency-Key, If-Match, If-None-Match, X-Request-Id, Last-Event-ID, Range, Coffer-Account, User-Agent';
/**
 * Response headers a browser script may read: concurrency (ETag), retries (Idempotent-Replayed,
 * Retry-After, the RateLimit headers), created resources (Location), support (X-Request-Id),
 * downloads (Content-Disposition, Content-Range, Accept-Ranges) and why a credential was refused.
 */
export const EXPOSED_HEADERS = [
  'ETag', 'Location', 'Idempotent-Replayed', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset',
  'X-Request-Id', 'Content-Disposition', 'Content-Range', 'Accept-Ranges', 'WWW-Authenticate',
].join(', ');
/** Seconds a browser may reuse a preflight answer. */
const PREFLIGHT_MAX_AGE = '600';

/** No origins: no hook at all (same-origin and server-to-server callers see no CORS header). */
export function registerCors(app: FastifyInstance, origins: readonly string[]): void {
  if (origins.length === 0) return;
  const any = origins.includes('*');
  const allowed = new Set(origins);
  const allow = (reply: FastifyReply, origin: string) => {
    reply.header('access-control-allow-origin', any ? '*' : origin);
    reply.header('access-control-expose-headers', EXPOSED_HEADERS);
  };
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    // The answer depends on Origin whenever origins are listed one by one: caches must know.
    if (!any) reply.header('vary', 'Origin');
    if (typeof origin !== 'string') return;
    const ok = any || allowed.has(origin);
    const preflight = request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
    if (!preflight) {
      if (ok) allow(reply, origin);
      return;
    }
    if (!ok) throw forbidden('cors_origin_not_allowed', `The origin ${origin} may not call this API from a browser (COFFER_CORS_ORIGINS).`);
    allow(reply, origin);
    reply.header('access-control-allow-methods', ALLOWED_METHODS);
    reply.header('access-control-allow-headers', ALLOWED_HEADERS);
    reply.header('access-control-max-age', PREFLIGHT_MAX_AGE);
    return reply.code(204).send();
  });
}
