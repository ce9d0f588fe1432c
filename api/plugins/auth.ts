// Authentication and authorization, in one place for every route. A route is public only when it
// says so (`config.public`); every other request must carry `Authorization: Bearer <secret>`, is
// resolved to its effective account here (and nowhere else), and is checked against the
// permission the route declares in `config.permission`.
import { and, eq, isNull, lt, or } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppDeps } from '../deps.ts';
import type { RequestContext } from '../context.ts';
import { forbidden, unauthorized } from '../errors.ts';
import { hashSecret, isWellFormedSecret } from '../credentials.ts';
import { ALL_PERMISSIONS, isPermission, type Permission } from '../permissions.ts';
import { accounts, apiKeys, users } from '../../db/schema.ts';

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
  if (!header) throw unauthorized('unauthenticated', 'Send an API key as `Authorization: Bearer <key>`.');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match || !isWellFormedSecret(match[1]!)) {
    throw unauthorized('invalid_credentials', 'The Authorization header does not hold a well-formed Coffer API key.');
  }
  const now = deps.clock.now();
  const [row] = await deps.db
    .select({
      keyId: apiKeys.id,
      scopes: apiKeys.scopes,
      expiresAt: apiKeys.expiresAt,
      revokedAt: apiKeys.revokedAt,
      userId: users.id,
      userState: users.state,
      role: users.role,
      granted: users.permissions,
      accountId: accounts.id,
    })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .innerJoin(accounts, eq(accounts.id, apiKeys.accountId))
    .where(eq(apiKeys.secretHash, hashSecret(match[1]!)))
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

  return {
    accountId: row.accountId,
    userId: row.userId,
    credentialId: row.keyId,
    credentialKind: 'api_key',
    permissions: effectivePermissions(row.role, row.granted, row.scopes),
    ip: request.ip,
    userAgent: request.headers['user-agent'],
    requestId: String(request.id),
  };
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
  });
}
