// The request rate: `config.rateLimitPerMinute` requests per minute per credential (API key or
// session), per client IP for requests without one, counted in PostgreSQL so that every API
// replica counts against the same budget (api/rate-counters.ts). Every counted response carries
// the draft-spec headers RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (seconds); past
// the limit it is a 429 with Retry-After. Routes say `config: { rateLimit: false }` to be left out
// (health checks).
//
// This replaces @fastify/rate-limit, whose store answers one key at a time: an authenticated
// request would then wait for two database round trips before its handler (the refused-credential
// gate, then this count), where the auth plugin now makes it one (Throttle.admit). Register after
// the auth plugin, which counts cached credentials itself and leaves the window in
// `request.rateWindow`.
import type { FastifyInstance } from 'fastify';
import type { Throttle, CounterWindow } from './throttle.ts';
import { ApiError } from '../errors.ts';

export const RATE_WINDOW_MS = 60_000;

/** The counter of a credential, or of a client IP (`ip:…`). */
export function rateKey(subject: string): string {
  return `rate:${subject}`;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `false`: not counted against the request rate (health checks). */
    rateLimit?: false;
  }
  interface FastifyRequest {
    /** The request's count, when the auth plugin took it together with its gate. */
    rateWindow: CounterWindow | null;
  }
}

export function registerRateLimit(app: FastifyInstance, throttle: Throttle, max: number, clock: { now(): Date }) {
  app.decorateRequest('rateWindow', null);
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.url === undefined || request.routeOptions.config.rateLimit === false) return;
    const window = request.rateWindow ?? await throttle.count(rateKey(request.ctx?.credentialId ?? `ip:${request.ip}`), RATE_WINDOW_MS);
    const seconds = String(Math.max(0, Math.ceil((window.resetAt - clock.now().getTime()) / 1000)));
    if (window.count <= max) {
      reply.header('ratelimit-limit', String(max)).header('ratelimit-remaining', String(max - window.count)).header('ratelimit-reset', seconds);
      return;
    }
    throw new ApiError(429, 'rate_limited', 'Too Many Requests', `Rate limit of ${max} requests per minute exceeded; retry in ${seconds} seconds.`, {
      headers: { 'ratelimit-limit': String(max), 'ratelimit-remaining': '0', 'ratelimit-reset': seconds, 'retry-after': seconds },
    });
  });
}
