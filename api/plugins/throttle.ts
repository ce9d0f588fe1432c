// Limits on what attackers aim at, beside the per-credential request rate of
// api/plugins/rate-limit.ts, which never sees a refused credential because authentication runs first:
// - refused bearer credentials (unknown, revoked, expired) count against the client's IP; past the
//   limit every bearer request from that IP is a 429 before its credential is looked up, so a
//   flood of guesses learns nothing more, not even that one guess was right;
// - routes that take an email and cost a password hash or send mail (sign-in, sign-up and
//   activation resends, password reset) say `config: { throttle: '…' }` and are counted per IP and
//   per email address, so one address cannot be mailed thirty times in a minute.
// Counters are fixed windows kept by a CounterStore: api/rate-counters.ts keeps them in PostgreSQL,
// so that every API replica counts against the same limit.
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
  /**
   * In one step: the running window of `gateKey`, and `increment(key)` unless that window has
   * reached `gateMax` already (then `counted` is undefined).
   */
  incrementUnlessGated(gateKey: string, gateMax: number, key: string, windowMs: number, now: number, accountId: string): Promise<{ gate: CounterWindow | undefined; counted: CounterWindow | undefined; credentialsVersion: string }>;
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

/** A 429 problem with Retry-After and the RateLimit headers of api/plugins/rate-limit.ts (draft spec). */
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

  /**
   * The same gate, and in the same database round trip (this is every authenticated request's
   * path) one count of `key` in a window of `windowMs`, and the account's credentials version
   * (db/shared-state.ts), with which the auth plugin checks what it cached.
   */
  async admit(ip: string, key: string, windowMs: number, accountId: string): Promise<{ window: CounterWindow; credentialsVersion: string }> {
    const rule = this.#rules.authFailures;
    const now = this.#clock.now().getTime();
    const { gate, counted, credentialsVersion } = await this.#store.incrementUnlessGated(`${rule.key}:${ip}`, rule.max, key, windowMs, now, accountId);
    if (!counted || (gate && gate.count >= rule.max)) throw tooManyRequests(rule, gate!, now);
    return { window: counted, credentialsVersion };
  }

  /** Counts one request of `key` in a window of `windowMs`. */
  count(key: string, windowMs: number): Promise<CounterWindow> {
    return this.#store.increment(key, windowMs, this.#clock.now().getTime());
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

/**
 * The gate on refused credentials is applied by the auth plugin (api/plugins/auth.ts), before it
 * looks a credential up, and together with the request count when the credential is cached.
 */
export function registerThrottle(app: FastifyInstance, throttle: Throttle) {
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
