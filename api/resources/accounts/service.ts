import { and, eq, sql } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { accountEmailChanges, accounts, users } from '../../../db/schema.ts';
import { notFound, preconditionFailed } from '../../errors.ts';
import { ALL_PERMISSIONS, isPermission } from '../../permissions.ts';
import type { Account, User } from './schemas.ts';
import { prepared } from '../../../db/prepared.ts';

import { audit } from '../audit/service.ts';
import { beforeAfter } from '../audit/changes.ts';
import { checkVersion } from '../../etag.ts';
export const TRIAL_DAYS = 14;

type AccountRow = typeof accounts.$inferSelect;
type UserRow = typeof users.$inferSelect;

export function serializeAccount(row: AccountRow): Account {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    region: row.region,
    state: row.state,
    trial_ends_at: row.trialEndsAt?.toISOString() ?? null,
    purge_time: row.purgeAt?.toISOString() ?? null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export function serializeUser(row: UserRow): User {
  return {
    id: row.id,
    account_id: row.accountId,
    email: row.email,
    name: row.name,
    role: row.role,
    permissions: row.role === 'administrator' ? [...ALL_PERMISSIONS] : row.permissions.filter(isPermission),
    state: row.state,
    created_at: row.createdAt.toISOString(),
  };
}

async function findAccount(deps: AppDeps, ctx: RequestContext): Promise<AccountRow> {
  const [row] = await deps.db.select().from(accounts).where(eq(accounts.id, ctx.accountId));
  if (!row) throw notFound('Account');
  return row;
}

export async function getAccount(deps: AppDeps, ctx: RequestContext) {
  const row = await findAccount(deps, ctx);
  const [pending] = await deps.db.select({ email: accountEmailChanges.newEmail }).from(accountEmailChanges).where(eq(accountEmailChanges.accountId, ctx.accountId));
  return { account: { ...serializeAccount(row), pending_email: pending?.email ?? null }, version: row.version };
}

export async function updateAccount(deps: AppDeps, ctx: RequestContext, patch: { name?: string }, expected: number | undefined) {
  const current = await findAccount(deps, ctx);
  checkVersion(expected, current.version, 'The account');
  const row = await deps.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(accounts)
      .set({ ...(patch.name !== undefined ? { name: patch.name } : {}), version: sql`${accounts.version} + 1`, updatedAt: deps.clock.now() })
      .where(and(eq(accounts.id, ctx.accountId), eq(accounts.version, current.version)))
      .returning();
    if (!updated) throw preconditionFailed('The account changed while this request ran; fetch it again.');
    await audit(deps, ctx, { type: 'settings_changed', description: 'Account settings changed', details: beforeAfter(serializeAccount(current), serializeAccount(updated)) }, tx);
    return updated;
  });
  return { account: serializeAccount(row), version: row.version };
}

const meQuery = prepared((db) => db
  .select({ user: users, account: accounts })
  .from(users)
  .innerJoin(accounts, eq(accounts.id, users.accountId))
  .where(and(eq(users.id, sql.placeholder('userId')), eq(users.accountId, sql.placeholder('accountId'))))
  .prepare('get_me'));

export async function getMe(deps: AppDeps, ctx: RequestContext) {
  const [row] = await meQuery(deps.db).execute({ userId: ctx.userId, accountId: ctx.accountId });
  if (!row) throw notFound('User');
  return {
    user: serializeUser(row.user),
    account: serializeAccount(row.account),
    credential: { id: ctx.credentialId, kind: ctx.credentialKind, permissions: ALL_PERMISSIONS.filter((p) => ctx.permissions.has(p)) },
  };
}
