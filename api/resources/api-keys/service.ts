import { and, desc, eq, gt, isNotNull, isNull, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import type { Tx } from '../../../db/client.ts';
import { apiKeys } from '../../../db/schema.ts';
import { newId } from '../../../db/ids.ts';
import { ApiError, forbidden, invalidField, notFound, preconditionFailed } from '../../errors.ts';
import { API_KEY_PREFIX, displayPrefix, hashSecret, newSecret } from '../../credentials.ts';
import { toPage, type PageRequest } from '../../pagination.ts';
import { ALL_PERMISSIONS, type Permission } from '../../permissions.ts';
import type { ApiKey, ApiKeyCreate, CreatedApiKey } from './schemas.ts';
import { assertMayManageUser } from '../users/guard.ts';
import { audit } from '../audit/service.ts';
import { checkVersion } from '../../etag.ts';

type Row = typeof apiKeys.$inferSelect;

export function serializeApiKey(row: Row, now: Date): ApiKey {
  return {
    id: row.id,
    name: row.name,
    user_id: row.userId,
    prefix: row.prefix,
    scopes: row.scopes,
    expires_at: row.expiresAt?.toISOString() ?? null,
    last_used_at: row.lastUsedAt?.toISOString() ?? null,
    revoked_at: row.revokedAt?.toISOString() ?? null,
    state: row.revokedAt ? 'revoked' : row.expiresAt && row.expiresAt <= now ? 'expired' : 'active',
    created_at: row.createdAt.toISOString(),
  };
}

/**
 * Issues a key for a user. `held` is what the issuing credential may do right now: a key never
 * holds more. Omitted scopes mean all of `held`, stored explicitly, so a key minted by a narrow
 * credential stays narrow and permissions granted to the user later do not reach existing keys.
 */
export async function issueApiKey(
  tx: Tx,
  owner: { accountId: string; userId: string; held: ReadonlySet<Permission> },
  input: ApiKeyCreate,
  now: Date,
): Promise<CreatedApiKey> {
  const errors = (input.scopes ?? []).flatMap((scope, i) =>
    owner.held.has(scope) ? [] : [{ pointer: `/body/scopes/${i}`, detail: `\`${scope}\` is not held by the credential creating this key` }]);
  if (errors.length) {
    throw new ApiError(403, 'scope_not_held', 'Forbidden', 'A key cannot be granted a permission the credential creating it does not hold.', { errors });
  }
  const scopes = ALL_PERMISSIONS.filter((p) => (input.scopes ?? [...owner.held]).includes(p));
  let expiresAt: Date | null = null;
  if (input.expires_at !== undefined) {
    expiresAt = new Date(input.expires_at);
    if (expiresAt <= now) throw invalidField('/body/expires_at', 'must be in the future');
  }
  const secret = newSecret(API_KEY_PREFIX);
  const [row] = await tx
    .insert(apiKeys)
    .values({
      id: newId('key'),
      accountId: owner.accountId,
      userId: owner.userId,
      name: input.name,
      prefix: displayPrefix(secret),
      secretHash: hashSecret(secret),
      scopes,
      expiresAt,
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  return { ...serializeApiKey(row!, now), secret };
}

export function createApiKey(deps: AppDeps, ctx: RequestContext, input: ApiKeyCreate) {
  return deps.db.transaction(async (tx) => {
    const key = await issueApiKey(tx, { accountId: ctx.accountId, userId: ctx.userId, held: ctx.permissions }, input, deps.clock.now());
    await audit(deps, ctx, {
      type: 'api_key_created', description: `API key "${key.name}" (${key.prefix}…) created`,
      details: { api_key_id: key.id, scopes: key.scopes, expires_at: key.expires_at, before: null, after: { name: key.name, prefix: key.prefix, scopes: key.scopes, expires_at: key.expires_at } },
    }, tx);
    return key;
  });
}

/** A user sees their own keys; a user manager sees every key of the account. */
function visible(ctx: RequestContext): SQL {
  const inAccount = eq(apiKeys.accountId, ctx.accountId);
  return ctx.permissions.has('users:manage') ? inAccount : and(inAccount, eq(apiKeys.userId, ctx.userId))!;
}

export async function listApiKeys(
  deps: AppDeps,
  ctx: RequestContext,
  page: PageRequest,
  filter: { state?: 'active' | 'expired' | 'revoked'; user_id?: string },
) {
  if (filter.user_id && filter.user_id !== ctx.userId && !ctx.permissions.has('users:manage')) {
    throw forbidden('permission_denied', 'Listing another user\'s keys needs the `users:manage` permission.');
  }
  const now = deps.clock.now();
  const conditions: (SQL | undefined)[] = [visible(ctx)];
  if (filter.user_id) conditions.push(eq(apiKeys.userId, filter.user_id));
  if (page.after) conditions.push(lt(apiKeys.id, page.after));
  if (filter.state === 'revoked') conditions.push(isNotNull(apiKeys.revokedAt));
  if (filter.state === 'expired') conditions.push(isNull(apiKeys.revokedAt), lte(apiKeys.expiresAt, now));
  if (filter.state === 'active') conditions.push(isNull(apiKeys.revokedAt), or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now)));
  const rows = await deps.db
    .select()
    .from(apiKeys)
    .where(and(...conditions))
    .orderBy(desc(apiKeys.id))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, (r) => serializeApiKey(r, now));
}

async function find(deps: AppDeps, ctx: RequestContext, id: string): Promise<Row> {
  const [row] = await deps.db.select().from(apiKeys).where(and(visible(ctx), eq(apiKeys.id, id)));
  if (!row) throw notFound('API key', id);
  return row;
}

export async function getApiKey(deps: AppDeps, ctx: RequestContext, id: string) {
  const row = await find(deps, ctx, id);
  return { key: serializeApiKey(row, deps.clock.now()), version: row.version };
}

async function change(deps: AppDeps, ctx: RequestContext, id: string, expected: number | undefined, set: Partial<Row>) {
  const current = await find(deps, ctx, id);
  // A user manager sees every key, but may change only those of users no more privileged than they are.
  await assertMayManageUser(deps.db, ctx, current.userId);
  checkVersion(expected, current.version, `API key ${id}`);
  const now = deps.clock.now();
  const [row] = await deps.db
    .update(apiKeys)
    .set({ ...set, version: current.version + 1, updatedAt: now })
    .where(and(visible(ctx), eq(apiKeys.id, id), eq(apiKeys.version, current.version)))
    .returning();
  if (!row) throw preconditionFailed(`API key ${id} changed while this request ran; fetch it again.`);
  return { key: serializeApiKey(row, now), version: row.version };
}

export async function renameApiKey(deps: AppDeps, ctx: RequestContext, id: string, name: string | undefined, expected: number | undefined) {
  const current = await find(deps, ctx, id);
  const renamed = await change(deps, ctx, id, expected, name === undefined ? {} : { name });
  await audit(deps, ctx, {
    type: 'api_key_updated', description: `API key "${current.name}" (${current.prefix}…) renamed to "${renamed.key.name}"`,
    details: { api_key_id: id, owner_user_id: current.userId, before: { name: current.name }, after: { name: renamed.key.name } },
  });
  return renamed;
}

/** Revocation takes effect on the next request: auth reads revoked_at on every call. */
export async function revokeApiKey(deps: AppDeps, ctx: RequestContext, id: string, expected: number | undefined) {
  const current = await find(deps, ctx, id);
  if (current.revokedAt) return { key: serializeApiKey(current, deps.clock.now()), version: current.version };
  const revoked = await change(deps, ctx, id, expected, { revokedAt: deps.clock.now() });
  await audit(deps, ctx, {
    type: 'api_key_revoked', description: `API key "${current.name}" (${current.prefix}…) revoked`,
    details: { api_key_id: id, owner_user_id: current.userId, before: { revoked_at: null }, after: { revoked_at: revoked.key.revoked_at } },
  });
  return revoked;
}

/** Revokes every live API key of a user (deactivation, password reset); answers how many. */
export async function revokeUserApiKeys(tx: Tx, accountId: string, userId: string, now: Date): Promise<number> {
  const revoked = await tx
    .update(apiKeys)
    .set({ revokedAt: now, version: sql`${apiKeys.version} + 1`, updatedAt: now })
    .where(and(eq(apiKeys.accountId, accountId), eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return revoked.length;
}
