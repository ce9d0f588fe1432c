// One Dropbox team connection, through the real `dropbox` SDK. It owns the access token (refreshed
// once for all concurrent callers, and again when Dropbox says it expired), builds a header-less
// team client or a per-member / admin client per call (the SDK sends its select headers on every
// request of an instance), and retries what Dropbox says to retry: 429 after Retry-After, 5xx and
// broken connections with jittered back-off.
import { Dropbox, DropboxResponseError, type DropboxResponse } from 'dropbox';
import type { DropboxConfig } from './config.ts';
import { DropboxAuthError, refreshAccessToken } from './oauth.ts';
import { createHash } from 'node:crypto';
import { DropboxPacer, pacedFetch, sharedDropboxPacer } from './pacer.ts';
import { dropboxFetch, type Fetch } from './transport.ts';

export interface CallScope {
  /** Act as this team member (team_member_id). */
  selectUser?: string;
  /** Act as this admin, seeing any team content (team_member_id of an admin). */
  selectAdmin?: string;
  /** Make paths relative to this namespace. */
  namespaceId?: string;
}

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Longest Retry-After we wait in-line; longer ones fail the call (the job can resume later). */
  maxRetryAfterMs: number;
}

export const DEFAULT_POLICY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 5 * 60_000 };

/** A Dropbox error that retrying will not fix: carries the route's error tag for callers. */
export class DropboxCallError extends Error {
  readonly status: number;
  readonly tag: string | undefined;
  readonly summary: string | undefined;
  readonly body: unknown;
  constructor(what: string, status: number, body: unknown) {
    const summary = typeof body === 'object' && body ? (body as { error_summary?: string }).error_summary : typeof body === 'string' ? body.slice(0, 200) : undefined;
    super(`Dropbox ${what}: HTTP ${status}${summary ? ` ${summary}` : ''}`);
    this.name = 'DropboxCallError';
    this.status = status;
    this.summary = summary;
    this.body = body;
    const error = typeof body === 'object' && body ? (body as { error?: { '.tag'?: string } }).error : undefined;
    this.tag = error?.['.tag'];
  }
}

export interface DropboxTeamOptions {
  config: DropboxConfig;
  refreshToken: string;
  fetch?: Fetch;
  policy?: Partial<RetryPolicy>;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
  /** Defaults to the process-wide pacer (so concurrent backups of one team share a 429's wait). */
  pacer?: DropboxPacer;
}

const REFRESH_MARGIN_MS = 5 * 60_000;

export class DropboxTeam {
  readonly #config: DropboxConfig;
  readonly #refreshToken: string;
  readonly #fetch: Fetch;
  readonly #policy: RetryPolicy;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;
  readonly #random: () => number;
  #token: { value: string; expiresAt: number } | undefined;
  #refreshing: Promise<string> | undefined;
  /** Calls made, by route, for tests and benchmarks. */
  readonly calls = new Map<string, number>();

  constructor(opts: DropboxTeamOptions) {
    this.#config = opts.config;
    this.#refreshToken = opts.refreshToken;
    // The team key tells teams apart in the pacer without keeping the token around in it.
    const teamKey = createHash('sha256').update(opts.refreshToken).digest('hex').slice(0, 16);
    const pacer = opts.pacer ?? sharedDropboxPacer(opts.config.maxCallsPerSecond);
    this.#fetch = pacedFetch(dropboxFetch(opts.config.apiUrl, opts.fetch), pacer, teamKey, opts.sleep);
    this.#policy = { ...DEFAULT_POLICY, ...opts.policy };
    this.#sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.#now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
  }

  /** The paced fetch every request of this connection goes through (downloads included). */
  get fetch(): Fetch {
    return this.#fetch;
  }

  /** A valid access token; concurrent callers share one refresh. */
  async accessToken(force = false): Promise<string> {
    if (!force && this.#token && this.#token.expiresAt - REFRESH_MARGIN_MS > this.#now()) return this.#token.value;
    this.#refreshing ??= refreshAccessToken(this.#config, this.#fetch, this.#refreshToken, this.#now)
      .then((grant) => {
        this.#token = { value: grant.accessToken, expiresAt: grant.expiresAt };
        return grant.accessToken;
      })
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  /** An SDK client for one call: no refresh token inside, so the SDK never refreshes on its own. */
  sdk(token: string, scope: CallScope = {}): Dropbox {
    return new Dropbox({
      accessToken: token,
      fetch: this.#fetch,
      ...(scope.selectUser ? { selectUser: scope.selectUser } : {}),
      ...(scope.selectAdmin ? { selectAdmin: scope.selectAdmin } : {}),
      ...(scope.namespaceId ? { pathRoot: JSON.stringify({ '.tag': 'namespace_id', namespace_id: scope.namespaceId }) } : {}),
    });
  }

  /**
   * Runs one Dropbox call with the retry policy. `fn` must be safe to repeat (reads, or writes
   * Dropbox makes idempotent such as committing an upload session).
   */
  async call<T>(route: string, fn: (dbx: Dropbox) => Promise<DropboxResponse<T>>, scope: CallScope = {}): Promise<T> {
    let refreshedForExpiry = false;
    for (let attempt = 1; ; attempt++) {
      const token = await this.accessToken();
      this.calls.set(route, (this.calls.get(route) ?? 0) + 1);
      try {
        return (await fn(this.sdk(token, scope))).result;
      } catch (err) {
        const wait = this.#retryDelay(err, attempt);
        if (wait === 'refresh' && !refreshedForExpiry) {
          refreshedForExpiry = true;
          await this.accessToken(true);
          continue;
        }
        if (typeof wait === 'number') {
          await this.#sleep(wait);
          continue;
        }
        if (err instanceof DropboxResponseError) throw new DropboxCallError(route, err.status, err.error);
        throw err;
      }
    }
  }

  /** Milliseconds to wait before retrying, 'refresh' for an expired token, or undefined: give up. */
  #retryDelay(err: unknown, attempt: number): number | 'refresh' | undefined {
    if (err instanceof DropboxAuthError) return undefined;
    const last = attempt >= this.#policy.maxAttempts;
    if (err instanceof DropboxResponseError) {
      const status = err.status;
      if (status === 401) {
        const tag = (err.error as { error?: { '.tag'?: string } } | undefined)?.error?.['.tag'];
        return tag === 'expired_access_token' || tag === 'invalid_access_token' ? 'refresh' : undefined;
      }
      if (last) return undefined;
      if (status === 429 || isWriteContention(err.error)) {
        const header = err.headers?.get?.('retry-after');
        const bodyWait = (err.error as { error?: { retry_after?: number } } | undefined)?.error?.retry_after;
        const seconds = header !== null && header !== undefined && /^\d+$/.test(header) ? Number(header) : bodyWait ?? 1;
        const ms = seconds * 1000;
        return ms > this.#policy.maxRetryAfterMs ? undefined : ms;
      }
      if (status >= 500) return this.#backoff(attempt);
      return undefined;
    }
    // Connection resets, truncated bodies and JSON that does not parse: the request may be retried.
    return last ? undefined : this.#backoff(attempt);
  }

  #backoff(attempt: number): number {
    return Math.floor(this.#random() * Math.min(this.#policy.maxDelayMs, this.#policy.baseDelayMs * 2 ** (attempt - 1)));
  }
}

function isWriteContention(body: unknown): boolean {
  return typeof body === 'object' && body !== null && JSON.stringify(body).includes('too_many_write_operations');
}
