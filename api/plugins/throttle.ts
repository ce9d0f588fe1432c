// Limits on what attackers aim at, beside the per-credential request rate of @fastify/rate-limit
// (api/app.ts), which never sees a refused credential because authentication runs first:
// - refused bearer credentials (unknown, revoked, expired) count against the client's IP; past the
//   limit every bearer request from that IP is a 429 before its credential is looked up, so a
//   flood of guesses learns nothing more, not even that one guess was right;
// - routes that take an email and cost a password hash or send mail (sign-in, sign-up and
//   activation resends, password reset) say `config: { throttle: '…' }` and are counted per IP and
//   per email address, so one address cannot be mailed thirty times in a minute.
// Counters are fixed windows kept by a CounterStore; this process's memory serves one process, and
// the store is the one part to replace to share counters between replicas (e.g. a PostgreSQL table
// with `insert … on conflict do update`).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Clock } from '../clock.ts';
import { DEFAULT_RATE_LIMITS, type RateLimits } from '../config.ts';
import { ApiError } from '../errors.ts';

export interface CounterWindow {
  count: number;
  /** When the window ends (ms since the epoch). */
  resetAt: number;
}

export interface CounterStore {
  /** Adds one to the key's current window (starting a window when none is running) and returns it. */
  increment(key: string, windowMs: number, now: number): Promise<CounterWindow>;
  /** The key's running window, if any. */
  get(key: string, now: number): Promise<CounterWindow | undefined>;
}

export class MemoryCounterStore implements CounterStore {
  readonly #windows = new Map<string, CounterWindow>();
  #nextSweep = 0;

  async increment(key: string, windowMs: number, now: number): Promise<CounterWindow> {
    this.#sweep(now);
    let window = this.#windows.get(key);
    if (!window || window.resetAt <= now) {
      window = { count: 0, resetAt: now + windowMs };
      this.#windows.set(key, window);
    }
    window.count += 1;
    return { ...window };
  }

  async get(key: string, now: number): Promise<CounterWindow | undefined> {
    const window = this.#windows.get(key);
    return window && window.resetAt > now ? { ...window } : undefined;
  }

  /** Ended windows are dropped once a minute, so memory follows the clients of the last window. */
  #sweep(now: number) {
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + 60_000;
    for (const [key, window] of this.#windows) if (window.resetAt <= now) this.#windows.delete(key);
  }
}

export type ThrottledAction = 'sign_in' | 'sign_up' | 'password_reset';

interface Rule {
  key: string;
  max: number;
  windowMs: number;
  /** Completes "too many …" in the problem's detail. */
  what: string;
}

const MINUTE = 60_000;

function rulesOf(limits: RateLimits) {
  const pair = (action: ThrottledAction, perIp: number, perEmail: number, windowMs: number, noun: string) => ({
    ip: { key: `${action}:ip`, max: perIp, windowMs, what: `${noun} from this address` },
    email: { key: `${action}:email`, max: perEmail, windowMs, what: `${noun} for this email address` },
  });
  return {
    authFailures: { key: 'auth_failures:ip', max: limits.authFailuresPerIp, windowMs: 10 * MINUTE, what: 'failed authentications from this address' } as Rule,
    sign_in: pair('sign_in', limits.signInPerIp, limits.signInPerEmail, 15 * MINUTE, 'sign-in attempts'),
    sign_up: pair('sign_up', limits.signUpPerIp, limits.signUpPerEmail, 60 * MINUTE, 'sign-ups'),
    password_reset: pair('password_reset', limits.passwordResetPerIp, limits.passwordResetPerEmail, 60 * MINUTE, 'password reset requests'),
  };
}

/** A 429 problem with Retry-After and the RateLimit headers @fastify/rate-limit sends (draft spec). */
function tooManyRequests(rule: Rule, window: CounterWindow, now: number): ApiError {
  const seconds = String(Math.max(1, Math.ceil((window.resetAt - now) / 1000)));
  return new ApiError(429, 'rate_limited', 'Too Many Requests',
    `Too many ${rule.what}: at most ${rule.max} per ${rule.windowMs / MINUTE} minutes; retry in ${seconds} seconds.`,
    { headers: { 'retry-after': seconds, 'ratelimit-limit': String(rule.max), 'ratelimit-remaining': '0', 'ratelimit-reset': seconds } });
}

export class Throttle {
  readonly #store: CounterStore;
  readonly #clock: Clock;
  readonly #rules: ReturnType<typeof rulesOf>;

  constructor(store: CounterStore, clock: Clock, limits: RateLimits = DEFAULT_RATE_LIMITS) {
    this.#store = store;
    this.#clock = clock;
    this.#rules = rulesOf(limits);
  }

  /** Counts one attempt at `action`, per IP and then per (lower-cased) email; a 429 past either limit. */
  async take(action: ThrottledAction, ip: string, email: string | undefined): Promise<void> {
    const rules = this.#rules[action];
    await this.#count(rules.ip, ip);
    if (email !== undefined) await this.#count(rules.email, email.trim().toLowerCase());
  }

  /** A 429 when the IP has used up its failed authentications (nothing is counted). */
  async assertMayAuthenticate(ip: string): Promise<void> {
    const rule = this.#rules.authFailures;
    const now = this.#clock.now().getTime();
    const window = await this.#store.get(`${rule.key}:${ip}`, now);
    if (window && window.count >= rule.max) throw tooManyRequests(rule, window, now);
  }

  /** Counts a refused credential against its IP. */
  async authenticationFailed(ip: string): Promise<void> {
    const rule = this.#rules.authFailures;
    await this.#store.increment(`${rule.key}:${ip}`, rule.windowMs, this.#clock.now().getTime());
  }

  async #count(rule: Rule, subject: string) {
    const now = this.#clock.now().getTime();
    const window = await this.#store.increment(`${rule.key}:${subject}`, rule.windowMs, now);
    if (window.count > rule.max) throw tooManyRequests(rule, window, now);
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Count this public route's requests per IP and per `body.email` (see api/plugins/throttle.ts). */
    throttle?: ThrottledAction;
  }
}

/** A request that must authenticate with a bearer credential (what the auth plugin resolves). */
function bearerRequest(request: FastifyRequest) {
  return !request.routeOptions.config.public && request.routeOptions.url !== undefined && request.headers.authorization !== undefined;
}

/** Register before the auth plugin: its gate must run before a credential is looked up. */
export function registerThrottle(app: FastifyInstance, throttle: Throttle) {
  app.addHook('onRequest', async (request) => {
    if (bearerRequest(request)) await throttle.assertMayAuthenticate(request.ip);
  });
  // On an authenticated route a 401 comes only from the auth plugin refusing the credential.
  app.addHook('onError', async (request, _reply, error) => {
    if (error instanceof ApiError && error.status === 401 && bearerRequest(request)) await throttle.authenticationFailed(request.ip);
  });
  // After validation, so the email is there; before the handler hashes a password or sends mail.
  app.addHook('preHandler', async (request) => {
    const action = request.routeOptions.config.throttle;
    if (!action) return;
    const email = (request.body as { email?: unknown } | undefined)?.email;
    await throttle.take(action, request.ip, typeof email === 'string' ? email : undefined);
  });
}
