// Authentication and authorization, in one place for every route. A route is public only when it
// says so (`config.public`); every other request must carry `Authorization: Bearer <secret>`, is
// resolved to its effective account here (and nowhere else), and is checked against the
// permission the route declares in `config.permission`.
import { and, eq, isNull, lt, or, sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppDeps } from '../deps.ts';
import type { RequestContext } from '../context.ts';
import { ApiError, conflict, forbidden, unauthorized } from '../errors.ts';
import { hashSecret, isWellFormedSecret, SESSION_PREFIX } from '../credentials.ts';
import { ALL_PERMISSIONS, isPermission, type Permission } from '../permissions.ts';
import { accountSecurity, accounts, apiKeys, partnerCustomers, sessions, users, type AccountKind, type AccountState } from '../../db/schema.ts';
import { allowlistRules, assertAllowedBy } from '../resources/ip-allowlist/service.ts';
import type { Rule } from '../resources/ip-allowlist/match.ts';
import { CredentialCache } from '../credential-cache.ts';
import type { Throttle } from './throttle.ts';
import { RATE_WINDOW_MS, rateKey } from './rate-limit.ts';
import type { Db } from '../../db/client.ts';

/** The request header a partner's credential names a customer account with. */
export const ACCOUNT_HEADER_NAME = 'Coffer-Account';
const ACCOUNT_HEADER = 'coffer-account';

/** How often last_used_at is written: per-request writes would turn every read into a write. */
const LAST_USED_PRECISION_MS = 60_000;

export function effectivePermissions(role: string, granted: readonly string[], scopes: readonly string[] | null): Set<Permission> {
  const base = role === 'administrator' ? ALL_PERMISSIONS : granted.filter(isPermission);
  return new Set(scopes ? base.filter((p) => scopes.includes(p)) : base);
}

/** What a credential resolved to, kept in the credential cache (api/credential-cache.ts). */
interface Principal {
  kind: 'api_key' | 'session';
  credentialId: string;
  accountId: string;
  accountState: AccountState;
  accountKind: AccountKind;
  userId: string;
  /** Set on a key a partner user minted in a customer's account: the partner's account. */
  partnerAccountId: string | undefined;
  /** For such a key: whether the partner may still act for the customer. */
  partnerAccess: 'none' | 'granted' | 'revoked' | 'lost';
  /** A partner user's reach: the customer accounts it may act for, null for all of them. */
  customerIds: string[] | null;
  userState: string;
  role: 'administrator' | 'custom';
  permissions: ReadonlySet<Permission>;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  /** The account's allowlist entries when it restricts addresses, else null. */
  allowlist: Rule[] | null;
  /** The account's credentials version when this was read: another one means something changed. */
  version: string;
}

/** What either kind of credential resolves to: its user, account and the account's allowlist switch. */
const PRINCIPAL = {
  userId: users.id,
  userState: users.state,
  role: users.role,
  granted: users.permissions,
  accountId: accounts.id,
  accountState: accounts.state,
  accountKind: accounts.kind,
  customerIds: users.customerIds,
  ipAllowlistEnabled: accountSecurity.ipAllowlistEnabled,
};

/** The account's credentials version (db/shared-state.ts), read in the same snapshot as the credential. */
const versionOf = (accountId: typeof accounts.id) =>
  sql<string>`coalesce((select version from credential_versions where account_id = ${accountId}), 0)::text`;

/**
 * The two lookups, built once per app (drizzle would otherwise rebuild the same SQL text on every
 * request); postgres.js prepares them once per connection.
 */
function lookups(db: Db) {
  const hash = sql.placeholder('hash');
  const apiKey = db
    .select({
      credentialId: apiKeys.id, scopes: apiKeys.scopes, expiresAt: apiKeys.expiresAt, revokedAt: apiKeys.revokedAt, lastUsedAt: apiKeys.lastUsedAt,
      version: versionOf(accounts.id), ...PRINCIPAL,
      userAccountId: users.accountId, partnerAccountId: partnerCustomers.partnerAccountId, partnerRevokedAt: partnerCustomers.revokedAt,
    })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .innerJoin(accounts, eq(accounts.id, apiKeys.accountId))
    .leftJoin(accountSecurity, eq(accountSecurity.accountId, apiKeys.accountId))
    .leftJoin(partnerCustomers, eq(partnerCustomers.customerAccountId, apiKeys.accountId))
    .where(eq(apiKeys.secretHash, hash))
    .limit(1)
    .prepare('auth_api_key');
  const session = db
    .select({ credentialId: sessions.id, expiresAt: sessions.expiresAt, revokedAt: sessions.revokedAt, lastUsedAt: sessions.lastUsedAt, version: versionOf(accounts.id), ...PRINCIPAL })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .innerJoin(accounts, eq(accounts.id, sessions.accountId))
    .leftJoin(accountSecurity, eq(accountSecurity.accountId, sessions.accountId))
    .where(eq(sessions.secretHash, hash))
    .limit(1)
    .prepare('auth_session');
  // Only requests that carry Coffer-Account pay for this one: whether the account exists, its
  // state, and the partner link that lets the caller in (left join: a customer of nobody).
  const customer = db
    .select({ state: accounts.state, partnerAccountId: partnerCustomers.partnerAccountId, revokedAt: partnerCustomers.revokedAt })
    .from(accounts)
    .leftJoin(partnerCustomers, eq(partnerCustomers.customerAccountId, accounts.id))
    .where(eq(accounts.id, sql.placeholder('id')))
    .limit(1)
    .prepare('auth_customer');
  return { apiKey, session, customer };
}

type Lookups = ReturnType<typeof lookups>;

async function loadPrincipal(deps: AppDeps, queries: Lookups, kind: Principal['kind'], hash: Buffer): Promise<Principal | undefined> {
  const [row] = kind === 'session' ? await queries.session.execute({ hash }) : await queries.apiKey.execute({ hash });
  if (!row) return undefined;
  const scopes = 'scopes' in row ? row.scopes : null;
  // A key a partner user minted in a customer's account (POST /v1/customers/{id}/api-keys) works
  // while the partner may act for that customer, and no longer.
  let partnerAccountId: string | undefined;
  let partnerAccess: Principal['partnerAccess'] = 'none';
  if ('userAccountId' in row && row.userAccountId !== row.accountId) {
    partnerAccountId = row.userAccountId;
    const linked = row.partnerAccountId === row.userAccountId && (!row.customerIds || row.customerIds.includes(row.accountId));
    partnerAccess = !linked ? 'lost' : row.partnerRevokedAt ? 'revoked' : 'granted';
  }
  return {
    partnerAccountId,
    partnerAccess,
    kind,
    credentialId: row.credentialId,
    accountId: row.accountId,
    accountState: row.accountState,
    accountKind: row.accountKind,
    userId: row.userId,
    customerIds: row.customerIds,
    userState: row.userState,
    role: row.role,
    permissions: effectivePermissions(row.role, row.granted, scopes),
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
    lastUsedAt: row.lastUsedAt,
    allowlist: row.ipAllowlistEnabled ? await allowlistRules(deps.db, row.accountId) : null,
    version: row.version,
  };
}

const REFUSALS = {
  api_key: {
    unknown: ['invalid_credentials', 'This API key is not valid.'],
    revoked: ['api_key_revoked', 'This API key has been revoked.'],
    expired: ['api_key_expired', 'This API key has expired.'],
    inactive: ['user_inactive', 'The user this API key belongs to is not active.'],
  },
  session: {
    unknown: ['invalid_credentials', 'This session token is not valid.'],
    revoked: ['session_revoked', 'This session has ended; sign in again.'],
    expired: ['session_expired', 'This session has expired; sign in again.'],
    inactive: ['user_inactive', 'The user this session belongs to is not active.'],
  },
} as const;

function refuse([code, detail]: readonly [string, string]) {
  return unauthorized(code, detail);
}

/** Resolves bearer credentials, from the cache when a recent lookup is still valid. */
export class Authenticator {
  readonly #deps: AppDeps;
  #queries: Lookups | undefined;
  readonly #throttle: Throttle;
  readonly cache = new CredentialCache<Principal>();

  constructor(deps: AppDeps, throttle: Throttle) {
    this.#deps = deps;
    this.#throttle = throttle;
  }

  /** Built on first use, not at registration: building the app (e.g. to render OpenAPI) runs no query. */
  get #lookups(): Lookups {
    return (this.#queries ??= lookups(this.#deps.db));
  }

  /**
   * The caller's effective account: the credential's own, or, when a partner's credential sends
   * `Coffer-Account: <customer id>`, that customer's (see #actFor). Decided here and nowhere else.
   */
  async resolve(request: FastifyRequest): Promise<RequestContext> {
    const header = request.headers.authorization;
    if (!header) throw unauthorized('unauthenticated', 'Send an API key or a session token as `Authorization: Bearer <secret>`.');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match || !isWellFormedSecret(match[1]!)) {
      await this.#throttle.assertMayAuthenticate(request.ip);
      throw unauthorized('invalid_credentials', 'The Authorization header does not hold a well-formed Coffer API key or session token.');
    }
    const secret = match[1]!;
    const kind = secret.startsWith(SESSION_PREFIX) ? 'session' : 'api_key';
    const now = this.#deps.clock.now();
    const hash = hashSecret(secret);
    const cacheKey = hash.toString('base64');
    let principal = this.cache.get(cacheKey, now.getTime());
    if (principal) {
      // The refused-credential gate, this request's count and the account's credentials version,
      // in one round trip. A version other than the cached one means a change whose NOTIFY has
      // not reached this process yet: the credential is looked up again.
      const admitted = await this.#throttle.admit(request.ip, rateKey(principal.credentialId), RATE_WINDOW_MS, principal.accountId);
      request.rateWindow = admitted.window;
      if (admitted.credentialsVersion !== principal.version) {
        const generation = this.cache.generation;
        principal = await loadPrincipal(this.#deps, this.#lookups, kind, hash);
        if (principal) this.cache.set(cacheKey, principal.accountId, principal, generation, now.getTime());
      }
    } else {
      // Past the limit of refused credentials from this address, nothing is looked up.
      await this.#throttle.assertMayAuthenticate(request.ip);
      const generation = this.cache.generation;
      principal = await loadPrincipal(this.#deps, this.#lookups, kind, hash);
      if (principal) this.cache.set(cacheKey, principal.accountId, principal, generation, now.getTime());
    }
    const refusals = REFUSALS[kind];
    if (!principal) throw refuse(refusals.unknown);
    if (principal.revokedAt) throw refuse(refusals.revoked);
    if (principal.expiresAt && principal.expiresAt <= now) throw refuse(refusals.expired);
    if (principal.userState !== 'active') throw refuse(refusals.inactive);
    if (principal.partnerAccess === 'revoked') throw forbidden('access_revoked', `The administrator of account ${principal.accountId} has withdrawn your access to it.`);
    if (principal.partnerAccess === 'lost') throw refuse(refusals.revoked);
    this.#recordUse(request, principal, now);
    // IP restrictions apply to every authenticated request, whatever the credential. A partner
    // acting for a customer obeys its own allowlist (the addresses it works from), not the
    // customer's: the customer controls the partner's reach by revoking it (DELETE /v1/account/partner).
    if (principal.allowlist) assertAllowedBy(principal.allowlist, request.ip);
    const own: RequestContext = {
      accountId: principal.accountId,
      userId: principal.userId,
      credentialId: principal.credentialId,
      credentialKind: kind,
      permissions: principal.permissions,
      role: principal.role,
      ip: request.ip,
      userAgent: request.headers['user-agent'],
      requestId: String(request.id),
      accountState: principal.accountState,
      ...(principal.partnerAccountId ? { partnerAccountId: principal.partnerAccountId } : {}),
      ...(principal.customerIds ? { customerIds: principal.customerIds } : {}),
    };
    // A key minted in a customer's account lives there: like the customer's own credentials, it
    // may name only that account (its kind is the customer's, so #actFor refuses any other).
    const wanted = request.headers[ACCOUNT_HEADER];
    if (wanted === undefined || wanted === '' || wanted === principal.accountId) return own;
    return this.#actFor(principal, own, Array.isArray(wanted) ? wanted.join(',') : wanted);
  }

  /**
   * A partner's credential acting for one of its customers: the request runs in the customer's
   * account with the partner user's permissions (narrowed by the key's scopes), nothing more. An
   * account that is not this partner's customer, or not one this user may act for, or that does
   * not exist, is one answer (404 `account_not_found`), so the header cannot probe for accounts.
   * A link the customer revoked is 403 `access_revoked`. Read on every such request (one query,
   * only for requests with the header), so a revocation applies to the very next one.
   */
  async #actFor(principal: Principal, own: RequestContext, customerId: string): Promise<RequestContext> {
    if (principal.accountKind !== 'partner') {
      throw forbidden('not_a_partner', `Only a partner's credential may act for another account with the ${ACCOUNT_HEADER_NAME} header; send it without the header.`);
    }
    const notFound = new ApiError(404, 'account_not_found', 'Not Found', `Account ${customerId} does not exist or is not one of your customers.`);
    if (principal.customerIds && !principal.customerIds.includes(customerId)) throw notFound;
    const [customer] = await this.#lookups.customer.execute({ id: customerId });
    if (!customer || customer.partnerAccountId !== principal.accountId) throw notFound;
    if (customer.revokedAt) throw forbidden('access_revoked', `The administrator of account ${customerId} has withdrawn your access to it.`);
    return { ...own, accountId: customerId, partnerAccountId: principal.accountId, accountState: customer.state };
  }

  /** last_used_at is written at most once a minute: per-request writes would turn every read into a write. */
  #recordUse(request: FastifyRequest, principal: Principal, now: Date) {
    if (principal.lastUsedAt && principal.lastUsedAt.getTime() >= now.getTime() - LAST_USED_PRECISION_MS) return;
    principal.lastUsedAt = now;
    const { db } = this.#deps;
    const stale = new Date(now.getTime() - LAST_USED_PRECISION_MS);
    const write = principal.kind === 'api_key'
      ? db.update(apiKeys).set({ lastUsedAt: now, lastUsedIp: request.ip })
        .where(and(eq(apiKeys.id, principal.credentialId), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, stale))))
      : db.update(sessions).set({ lastUsedAt: now })
        .where(and(eq(sessions.id, principal.credentialId), or(isNull(sessions.lastUsedAt), lt(sessions.lastUsedAt, stale))));
    write.catch((err: unknown) => request.log.warn({ err }, `could not record ${principal.kind === 'api_key' ? 'API key' : 'session'} use`));
  }
}

/** Register after the throttle (its onError hook counts the 401s) and before the rate limit. */
export async function registerAuth(app: FastifyInstance, deps: AppDeps, throttle: Throttle) {
  const authenticator = new Authenticator(deps, throttle);
  await authenticator.cache.listen(deps.sql);
  app.addHook('onClose', () => authenticator.cache.close());
  // Other processes learn of a change from its NOTIFY; this one must not answer the writer's next
  // request before that notification has come back to it, so a write forgets here and now what
  // this process cached of the account (of every account when the writer is not signed in: a
  // password reset by link, a confirmation), before its response leaves.
  app.addHook('onSend', async (request, _reply, payload) => {
    if (READS.has(request.method)) return payload;
    if (request.ctx) authenticator.cache.invalidate(request.ctx.accountId);
    else authenticator.cache.clear();
    return payload;
  });
  app.decorateRequest('ctx', null);
  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    // Unknown routes fall through to the 404/405 handler without asking for credentials.
    if (config.public || request.routeOptions.url === undefined) return;
    request.ctx = await authenticator.resolve(request);
    if (request.ctx.partnerAccountId && config.ownUser) {
      throw forbidden('own_user_only', `This operation is about your own user and credentials, which live in your own account: send it without the ${ACCOUNT_HEADER_NAME} header.`);
    }
    const needed = config.permission;
    if (needed && !request.ctx.permissions.has(needed)) {
      throw forbidden('permission_denied', `This operation needs the \`${needed}\` permission.`);
    }
    assertWritable(request);
  });
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * About the caller's own user or credentials (two-factor, password, sessions): refused while a
     * partner acts for a customer, whose account holds none of the partner user's things.
     */
    ownUser?: boolean;
    /** Writes allowed while the account awaits deletion (undoing the removal, signing out). */
    allowWhilePendingDeletion?: boolean;
    /** The audit event type(s) this write records (published as `x-audit`; see api/resources/audit/exempt.ts). */
    audit?: string | readonly string[];
  }
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * An account in its removal grace period is read-only: sign-in still works, every other write is
 * refused here, in one place (see api/resources/accounts/lifecycle-service.ts). Routes that must
 * stay writable (undoing the removal, signing out, billing's rescue by subscribing) say so with
 * `config.allowWhilePendingDeletion` and decide for themselves.
 */
function assertWritable(request: FastifyRequest) {
  if (READS.has(request.method) || request.routeOptions.config.allowWhilePendingDeletion) return;
  if (request.ctx!.accountState === 'pending_deletion') {
    throw conflict('account_pending_deletion', 'This account is being removed and is read-only until the removal is undone (DELETE /v1/account/removal) or the account is purged.');
  }
}
