// The second factor after SAML sign-in. The identity provider vouches for who the user is; that
// is one factor, and a user who turned TOTP on expects it to be asked for whatever the way in
// (unless the account marks its identity provider as performing MFA, `idp_performs_mfa`). The ACS
// then answers 401 `totp_required` with a `two_factor_token`: a sealed, 5-minute statement
// "this assertion proved this user", which POST /v1/saml/{account_id}/two-factor exchanges, with
// a TOTP code, for the session. A token allows three attempts and one session.
import { and, eq } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import { accounts, samlAssertions, samlConfigs, users } from '../../../db/schema.ts';
import { ApiError } from '../../errors.ts';
import { audit } from '../audit/service.ts';
import { accountSecurityOf, userSecurityOf } from '../security/service.ts';
import { assertClientAllowed } from '../ip-allowlist/service.ts';
import { checkTotp, totpProblem } from '../two-factor/service.ts';
import { startSession, type Meta } from '../sessions/service.ts';
import type { Session } from '../sessions/schemas.ts';

export const SECOND_FACTOR_TTL_MS = 5 * 60_000;
export const SECOND_FACTOR_ATTEMPTS = 3;
const SEAL_CONTEXT = 'saml-second-factor';

type UserRow = typeof users.$inferSelect;
interface Pending { a: string; u: string; x: string; e: number }

async function auditFailure(deps: AppDeps, accountId: string, user: { id: string; email: string } | null, meta: Meta, reason: string, code: string) {
  await audit(deps, accountId, {
    type: 'sign_in_failed', status: 'failed', task: user?.email ?? null,
    description: `SAML sign in (failed: ${reason}) from ip-${meta.ip}`,
    performedBy: user ? { userId: user.id, email: user.email } : null, ip: meta.ip, userAgent: meta.userAgent ?? null,
    details: { method: 'saml', code, reason },
  });
}

/** The ACS's answer to a valid assertion for a user with TOTP: audited, carrying the token. */
export async function secondFactorRequired(
  deps: AppDeps,
  p: { accountId: string; user: UserRow; assertionId: string; subject: string | null; meta: Meta },
): Promise<ApiError> {
  const expiresAt = deps.clock.now().getTime() + SECOND_FACTOR_TTL_MS;
  const pending: Pending = { a: p.accountId, u: p.user.id, x: p.assertionId, e: expiresAt };
  const token = deps.keyring.sealSecret(JSON.stringify(pending), SEAL_CONTEXT);
  await auditFailure(deps, p.accountId, p.user, p.meta, 'two-factor code needed after SAML', 'totp_required');
  return new ApiError(401, 'totp_required', 'Unauthorized',
    `This user signs in with two-factor authentication: POST \`two_factor_token\` and \`totp_code\` to /v1/saml/${p.accountId}/two-factor within 5 minutes.`,
    { extra: { two_factor_token: token, two_factor_token_expires_at: new Date(expiresAt).toISOString() } });
}

const invalidToken = () => new ApiError(401, 'invalid_two_factor_token', 'Unauthorized', 'This two-factor token is not valid, has expired or was used up: sign in through the identity provider again.');

function open(deps: AppDeps, accountId: string, token: string): Pending | null {
  try {
    const p = JSON.parse(deps.keyring.openSecret(token, SEAL_CONTEXT)) as Pending;
    return p.a === accountId && typeof p.u === 'string' && typeof p.x === 'string' && p.e > deps.clock.now().getTime() ? p : null;
  } catch {
    return null;
  }
}

/** Marks one use of the token (an attempt, or the session); false when that mark was already made. */
async function mark(deps: AppDeps, p: Pending, what: string): Promise<boolean> {
  const rows = await deps.db
    .insert(samlAssertions)
    .values({ accountId: p.a, assertionId: `${p.x}#2fa:${what}`, acceptedAt: deps.clock.now(), expiresAt: new Date(p.e) })
    .onConflictDoNothing()
    .returning({ id: samlAssertions.assertionId });
  return rows.length > 0;
}

/** POST /v1/saml/{account_id}/two-factor: the TOTP code that completes a SAML sign-in. */
export async function completeSecondFactor(deps: AppDeps, accountId: string, input: { two_factor_token: string; totp_code: string }, meta: Meta): Promise<Session> {
  const pending = open(deps, accountId, input.two_factor_token);
  if (!pending) {
    // The account id comes from the URL: one that names no account has no audit trail to write to.
    const [account] = await deps.db.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, accountId));
    if (account) await auditFailure(deps, accountId, null, meta, 'two-factor token invalid or expired', 'invalid_two_factor_token');
    throw invalidToken();
  }
  const [user] = await deps.db.select().from(users).where(and(eq(users.accountId, accountId), eq(users.id, pending.u)));
  let attempt = false;
  for (let i = 1; i <= SECOND_FACTOR_ATTEMPTS && !attempt; i++) attempt = await mark(deps, pending, `try${i}`);
  const [config] = await deps.db.select({ enabled: samlConfigs.enabled }).from(samlConfigs).where(eq(samlConfigs.accountId, accountId));
  if (!user || !attempt || !config?.enabled) {
    await auditFailure(deps, accountId, user ?? null, meta, 'two-factor token used up', 'invalid_two_factor_token');
    throw invalidToken();
  }
  if (user.state !== 'active') {
    await auditFailure(deps, accountId, user, meta, `user ${user.state}`, 'user_inactive');
    throw new ApiError(401, 'user_inactive', 'Unauthorized', `The user ${user.email} is ${user.state} in this account.`);
  }
  const policy = await accountSecurityOf(deps.db, accountId);
  if (policy.ipAllowlistEnabled) {
    try {
      await assertClientAllowed(deps.db, accountId, meta.ip);
    } catch (err) {
      await auditFailure(deps, accountId, user, meta, 'address not trusted', 'access_denied');
      throw err;
    }
  }
  const sec = await userSecurityOf(deps.db, user, deps.clock.now());
  const result = sec.totpState === 'enabled' ? await checkTotp(deps, deps.db, sec, input.totp_code) : 'invalid';
  if (result !== 'ok') {
    await auditFailure(deps, accountId, user, meta, `two-factor code ${result}`, result === 'reused' ? 'totp_code_reused' : 'invalid_totp_code');
    throw totpProblem(result, 401);
  }
  if (!(await mark(deps, pending, 'session'))) throw invalidToken();
  return startSession(deps, user, meta, {
    method: 'SAML sign in', twoFactorEnabled: true,
    details: { method: 'saml', assertion_id: pending.x, second_factor: 'totp' },
  });
}

