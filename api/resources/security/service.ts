// The account's security policy (seed 5.4: enforce 2FA, password expiration) and the per-account /
// per-user security rows other modules read (IP allowlist switch, TOTP state, password age).
import { and, eq, sql } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import type { Tx } from '../../../db/client.ts';
import { accountSecurity, userSecurity } from '../../../db/schema.ts';
import { preconditionFailed } from '../../errors.ts';
import { audit } from '../audit/service.ts';
import { assertAdministrator } from '../users/guard.ts';
import type { SecurityPolicy, SecurityPolicyUpdate } from './schemas.ts';
import { checkVersion } from '../../etag.ts';

export type AccountSecurityRow = typeof accountSecurity.$inferSelect;
export type UserSecurityRow = typeof userSecurity.$inferSelect;

/** The account's row, created with the defaults on first use. */
export async function accountSecurityOf(db: Tx, accountId: string): Promise<AccountSecurityRow> {
  const [existing] = await db.select().from(accountSecurity).where(eq(accountSecurity.accountId, accountId));
  if (existing) return existing;
  await db.insert(accountSecurity).values({ accountId }).onConflictDoNothing();
  const [row] = await db.select().from(accountSecurity).where(eq(accountSecurity.accountId, accountId));
  return row!;
}

export async function userSecurityOf(db: Tx, user: { id: string; accountId: string }, now: Date): Promise<UserSecurityRow> {
  const [existing] = await db.select().from(userSecurity).where(eq(userSecurity.userId, user.id));
  if (existing) return existing;
  await db.insert(userSecurity).values({ userId: user.id, accountId: user.accountId, updatedAt: now }).onConflictDoNothing();
  const [row] = await db.select().from(userSecurity).where(eq(userSecurity.userId, user.id));
  return row!;
}

/** Records a new password's time (password expiration counts from it). */
export async function markPasswordChanged(db: Tx, user: { id: string; accountId: string }, now: Date) {
  await db
    .insert(userSecurity)
    .values({ userId: user.id, accountId: user.accountId, passwordChangedAt: now, updatedAt: now })
    .onConflictDoUpdate({ target: userSecurity.userId, set: { passwordChangedAt: now, updatedAt: now } });
}

function serializePolicy(row: AccountSecurityRow): SecurityPolicy {
  return { enforce_2fa: row.enforce2fa, password_expiration_days: row.passwordExpirationDays, updated_at: row.updatedAt.toISOString() };
}

export async function getPolicy(deps: AppDeps, ctx: RequestContext) {
  const row = await accountSecurityOf(deps.db, ctx.accountId);
  return { policy: serializePolicy(row), version: row.policyVersion };
}

export async function updatePolicy(deps: AppDeps, ctx: RequestContext, patch: SecurityPolicyUpdate, expected: number | undefined) {
  // 2FA enforcement and password expiry protect the administrators too: only they may loosen them.
  assertAdministrator(ctx, 'change the security policy');
  const current = await accountSecurityOf(deps.db, ctx.accountId);
  checkVersion(expected, current.policyVersion, 'The security policy');
  return deps.db.transaction(async (tx) => {
    const [row] = await tx
      .update(accountSecurity)
      .set({
        ...(patch.enforce_2fa !== undefined ? { enforce2fa: patch.enforce_2fa } : {}),
        ...(patch.password_expiration_days !== undefined ? { passwordExpirationDays: patch.password_expiration_days } : {}),
        policyVersion: sql`${accountSecurity.policyVersion} + 1`,
        updatedAt: deps.clock.now(),
      })
      .where(and(eq(accountSecurity.accountId, ctx.accountId), eq(accountSecurity.policyVersion, current.policyVersion)))
      .returning();
    if (!row) throw preconditionFailed('The security policy changed while this request ran; fetch it again.');
    const changes: string[] = [];
    if (row.enforce2fa !== current.enforce2fa) changes.push(`two-factor authentication ${row.enforce2fa ? 'enforced' : 'no longer enforced'}`);
    if (row.passwordExpirationDays !== current.passwordExpirationDays) {
      changes.push(row.passwordExpirationDays === null ? 'passwords no longer expire' : `passwords expire after ${row.passwordExpirationDays} days`);
    }
    await audit(deps, ctx, {
      type: 'settings_changed',
      description: changes.length ? `Security policy: ${changes.join('; ')}` : 'Security policy saved without changes',
      details: { before: serializePolicy(current), after: serializePolicy(row) },
    }, tx);
    return { policy: serializePolicy(row), version: row.policyVersion };
  });
}
