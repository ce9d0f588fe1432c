// Authentication and authorization, in one place for every route. A route is public only when it
// says so (`config.public`); every other request must carry `Authorization: Bearer <secret>`, is
// resolved to its effective account here (and nowhere else), and is checked against the
// permission the route declares in `config.permission`.
import { and, eq, isNull, lt, or } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppDeps } from '../deps.ts';
import type { RequestContext } from '../context.ts';
import { conflict, forbidden, unauthorized } from '../errors.ts';
import { hashSecret, isWellFormedSecret, SESSION_PREFIX } from '../credentials.ts';
import { ALL_PERMISSIONS, isPermission, type Permission } from '../permissions.ts';
import { accountSecurity, accounts, apiKeys, sessions, users, type AccountState } from '../../db/schema.ts';
import { assertClientAllowed } from '../resources/ip-allowlist/service.ts';

/** How often last_used_at is written: per-request writes would turn every read into a write. */
const LAST_USED_PRECISION_MS = 60_000;

export function effectivePermissions(role: string, granted: readonly string[], scopes: readonly string[] | null): Set<Permission> {
  const base = role === 'administrator' ? ALL_PERMISSIONS : granted.filter(isPermission);
  return new Set(scopes ? base.filter((p) => scopes.includes(p)) : base);
}

/**
 * The caller's effective account. Today it is the credential's own account; when partners (MSPs)
 * arrive, a partner credential plus a `Coffer-Account` header will select a managed account here.
 */
export async function resolveContext(deps: AppDeps, request: FastifyRequest): Promise<RequestContext> {
  const header = request.headers.authorization;
  if (!header) throw unauthorized('unauthenticated', 'Send an API key or a session token as `Authorization: Bearer <secret>`.');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match || !isWellFormedSecret(match[1]!)) {
    throw unauthorized('invalid_credentials', 'The Authorization header does not hold a well-formed Coffer API key or session token.');
  }
  const secret = match[1]!;
  const ctx = secret.startsWith(SESSION_PREFIX) ? await resolveSession(deps, request, secret) : await resolveApiKey(deps, request, secret);
  // IP restrictions apply to every authenticated request, whatever the credential.
  if (ctx.ipAllowlistEnabled) await assertClientAllowed(deps.db, ctx.context.accountId, request.ip);
  return ctx.context;
}

interface Resolved {
  context: RequestContext;
  ipAllowlistEnabled: boolean;
}

function contextOf(request: FastifyRequest, row: { accountId: string; accountState: AccountState; userId: string; role: 'administrator' | 'custom'; granted: string[] }, credentialId: string, kind: 'api_key' | 'session', scopes: readonly string[] | null): RequestContext {
  return {
    accountId: row.accountId,
    userId: row.userId,
    credentialId,
    credentialKind: kind,
    permissions: effectivePermissions(row.role, row.granted, scopes),
    role: row.role,
    ip: request.ip,
    userAgent: request.headers['user-agent'],
    requestId: String(request.id),
    accountState: row.accountState,
  };
}

/** What either kind of credential resolves to: its user, account and the account's allowlist switch. */
const PRINCIPAL = {
  userId: users.id,
  userState: users.state,
  role: users.role,
  granted: users.permissions,
  accountId: accounts.id,
  accountState: accounts.state,
  ipAllowlistEnabled: accountSecurity.ipAllowlistEnabled,
};

async function resolveApiKey(deps: AppDeps, request: FastifyRequest, secret: string): Promise<Resolved> {
  const now = deps.clock.now();
  const [row] = await deps.db
    .select({
      keyId: apiKeys.id,
      scopes: apiKeys.scopes,
      expiresAt: apiKeys.expiresAt,
      revokedAt: apiKeys.revokedAt,
      ...PRINCIPAL,
    })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .innerJoin(accounts, eq(accounts.id, apiKeys.accountId))
    .leftJoin(accountSecurity, eq(accountSecurity.accountId, apiKeys.accountId))
    .where(eq(apiKeys.secretHash, hashSecret(secret)))
    .limit(1);
  if (!row) throw unauthorized('invalid_credentials', 'This API key is not valid.');
  if (row.revokedAt) throw unauthorized('api_key_revoked', 'This API key has been revoked.');
  if (row.expiresAt && row.expiresAt <= now) throw unauthorized('api_key_expired', 'This API key has expired.');
  if (row.userState !== 'active') throw unauthorized('user_inactive', 'The user this API key belongs to is not active.');

  deps.db
    .update(apiKeys)
    .set({ lastUsedAt: now, lastUsedIp: request.ip })
    .where(and(eq(apiKeys.id, row.keyId), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, new Date(now.getTime() - LAST_USED_PRECISION_MS)))))
    .catch((err: unknown) => request.log.warn({ err }, 'could not record API key use'));

  return { context: contextOf(request, row, row.keyId, 'api_key', row.scopes), ipAllowlistEnabled: row.ipAllowlistEnabled ?? false };
}

/** Session tokens (`cfs_…`, from POST /v1/sessions) carry the user's full permissions. */
async function resolveSession(deps: AppDeps, request: FastifyRequest, secret: string): Promise<Resolved> {
  const now = deps.clock.now();
  const [row] = await deps.db
    .select({
      sessionId: sessions.id,
      expiresAt: sessions.expiresAt,
      revokedAt: sessions.revokedAt,
      lastUsedAt: sessions.lastUsedAt,
      ...PRINCIPAL,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .innerJoin(accounts, eq(accounts.id, sessions.accountId))
    .leftJoin(accountSecurity, eq(accountSecurity.accountId, sessions.accountId))
    .where(eq(sessions.secretHash, hashSecret(secret)))
    .limit(1);
  if (!row) throw unauthorized('invalid_credentials', 'This session token is not valid.');
  if (row.revokedAt) throw unauthorized('session_revoked', 'This session has ended; sign in again.');
  if (row.expiresAt <= now) throw unauthorized('session_expired', 'This session has expired; sign in again.');
  if (row.userState !== 'active') throw unauthorized('user_inactive', 'The user this session belongs to is not active.');

  if (!row.lastUsedAt || row.lastUsedAt.getTime() < now.getTime() - LAST_USED_PRECISION_MS) {
    deps.db
      .update(sessions)
      .set({ lastUsedAt: now })
      .where(eq(sessions.id, row.sessionId))
      .catch((err: unknown) => request.log.warn({ err }, 'could not record session use'));
  }

  return { context: contextOf(request, row, row.sessionId, 'session', null), ipAllowlistEnabled: row.ipAllowlistEnabled ?? false };
}

export function registerAuth(app: FastifyInstance, deps: AppDeps) {
  app.decorateRequest('ctx', null);
  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    // Unknown routes fall through to the 404/405 handler without asking for credentials.
    if (config.public || request.routeOptions.url === undefined) return;
    request.ctx = await resolveContext(deps, request);
    const needed = config.permission;
    if (needed && !request.ctx.permissions.has(needed)) {
      throw forbidden('permission_denied', `This operation needs the \`${needed}\` permission.`);
    }
    assertWritable(request);
  });
}

declare module 'fastify' {
  interface FastifyContextConfig {
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
