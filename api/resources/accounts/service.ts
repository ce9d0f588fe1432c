import { and, eq, sql } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { alias } from 'drizzle-orm/pg-core';
import { accountEmailChanges, accounts, partnerCustomers, users } from '../../../db/schema.ts';
import { notFound, preconditionFailed } from '../../errors.ts';
import { ALL_PERMISSIONS, isPermission } from '../../permissions.ts';
import type { Account, AccountPartner, User } from './schemas.ts';
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
    kind: row.kind,
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

/** The partner managing the account (kept after a revocation, which `revoked_at` shows), or null. */
async function partnerOf(deps: AppDeps, accountId: string): Promise<AccountPartner | null> {
  const partner = alias(accounts, 'partner');
  const [link] = await deps.db
    .select({ link: partnerCustomers, name: partner.name })
    .from(partnerCustomers)
    .innerJoin(partner, eq(partner.id, partnerCustomers.partnerAccountId))
    .where(eq(partnerCustomers.customerAccountId, accountId));
  if (!link) return null;
  return {
    account_id: link.link.partnerAccountId, name: link.name, billing: link.link.billing,
    since: link.link.createdAt.toISOString(), revoked_at: link.link.revokedAt?.toISOString() ?? null,
  };
}

export async function getAccount(deps: AppDeps, ctx: RequestContext) {
  const row = await findAccount(deps, ctx);
  const [[pending], partner] = await Promise.all([
    deps.db.select({ email: accountEmailChanges.newEmail }).from(accountEmailChanges).where(eq(accountEmailChanges.accountId, ctx.accountId)),
    partnerOf(deps, ctx.accountId),
  ]);
  return { account: { ...serializeAccount(row), partner, pending_email: pending?.email ?? null }, version: row.version };
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

/** A partner acting for a customer is its own user (in the partner's account) in the customer's account. */
export async function getMe(deps: AppDeps, ctx: RequestContext) {
  const [row] = await meQuery(deps.db).execute({ userId: ctx.userId, accountId: ctx.partnerAccountId ?? ctx.accountId });
  if (!row) throw notFound('User');
  const account = ctx.partnerAccountId ? await findAccount(deps, ctx) : row.account;
  return {
    user: serializeUser(row.user),
    account: serializeAccount(account),
    partner_account_id: ctx.partnerAccountId ?? null,
    credential: { id: ctx.credentialId, kind: ctx.credentialKind, permissions: ALL_PERMISSIONS.filter((p) => ctx.permissions.has(p)) },
  };
}
