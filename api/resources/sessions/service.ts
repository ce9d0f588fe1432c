// Sign-in with email and password (and a TOTP code when the user has 2FA): answers a session token
// (`cfs_…`) that authenticates exactly like an API key. Failures are generic (no user enumeration)
// and counted per email, before the password is checked (./lockout.ts): after 5 within 15 minutes
// the email is locked (429 `login_locked` with Retry-After). Every success and failure of a known
// user is audited.
import { and, desc, eq, gt, isNotNull, isNull, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { ipRules, loginThrottle, sessions, users, userTokens } from '../../../db/schema.ts';
import { newId } from '../../../db/ids.ts';
import { ApiError, badRequest, forbidden, unauthorized } from '../../errors.ts';
import { hashSecret, newSecret, SESSION_PREFIX } from '../../credentials.ts';
import { hashPassword, verifyPassword } from '../../passwords.ts';
import { audit } from '../audit/service.ts';
import { accountSecurityOf, userSecurityOf } from '../security/service.ts';
import { isAllowed } from '../ip-allowlist/match.ts';
import { checkTotp, totpProblem } from '../two-factor/service.ts';
import { issueUserToken } from '../users/tokens.ts';
import { serializeManagedUser } from '../users/service.ts';
import type { Session, SessionCreate, SessionInfo } from './schemas.ts';
import { toPage, type PageRequest } from '../../pagination.ts';
import { notFound } from '../../errors.ts';
import { samlEnabled, samlLoginUrl } from '../saml/state.ts';
import { clearAttempts, refundAttempt, reserveAttempt, settleFailure } from './lockout.ts';

export const SESSION_TTL_MS = 12 * 3600_000;

type UserRow = typeof users.$inferSelect;
export interface Meta { ip: string; userAgent: string | undefined }

let dummyHash: Promise<string> | undefined;
/** Unknown emails still cost one argon2 verification, so timing does not reveal which emails exist. */
function dummy() {
  dummyHash ??= hashPassword('not-a-real-password-' + Math.random());
  return dummyHash;
}

function browser(userAgent: string | undefined): string {
  if (!userAgent) return 'unknown client';
  for (const [name, re] of [['Edge', /Edg\//], ['Chrome', /Chrome\//], ['Firefox', /Firefox\//], ['Safari', /Safari\//], ['curl', /^curl\//]] as const) {
    if (re.test(userAgent)) return name;
  }
  return userAgent.slice(0, 40);
}

const GENERIC = () => unauthorized('invalid_credentials', 'The email, password or code is not correct.');

export async function signIn(deps: AppDeps, input: SessionCreate, meta: Meta): Promise<Session> {
  const email = input.email.trim().toLowerCase();
  const now = deps.clock.now();
  const [user] = await deps.db.select().from(users).where(sql`lower(${users.email}) = ${email}`);
  const failed = async (reason: string, u: UserRow | undefined = user) => {
    if (u) {
      await audit(deps, u.accountId, {
        type: 'sign_in_failed', status: 'failed', task: u.email,
        description: `Native sign in (failed: ${reason}) ${browser(meta.userAgent)} from ip-${meta.ip}`,
        performedBy: { userId: u.id, email: u.email }, ip: meta.ip, userAgent: meta.userAgent ?? null, details: { reason },
      });
    }
  };

  const refusal = await reserveAttempt(deps, email);
  if (refusal) {
    await failed('locked');
    throw refusal;
  }

  const fail = async (reason: string, problem: ApiError = GENERIC()) => {
    await failed(reason);
    const lockedUntil = await settleFailure(deps, email);
    if (lockedUntil && problem.status === 401) problem.extra.locked_until = lockedUntil.toISOString();
    throw problem;
  };
  /** Refused after the password proved right: audited, and the attempt does not count. */
  const refused = async (reason: string) => {
    await failed(reason);
    await refundAttempt(deps, email);
  };

  const passwordOk = user?.passwordHash ? await verifyPassword(user.passwordHash, input.password) : (await verifyPassword(await dummy(), input.password), false);
  if (!user || !passwordOk) return fail('wrong email or password');
  if (user.state !== 'active') return fail(`user ${user.state}`);
  // SAML single sign-on replaces passwords for the whole account (api/resources/saml).
  if (await samlEnabled(deps.db, user.accountId)) {
    await refused('password sign-in disabled: the account signs in with SAML');
    throw forbidden('saml_required', `This account signs in with SAML single sign-on; password sign-in is turned off. Start at ${samlLoginUrl(deps, user.accountId)}.`);
  }

  const policy = await accountSecurityOf(deps.db, user.accountId);
  if (policy.ipAllowlistEnabled) {
    const rules = await deps.db.select().from(ipRules).where(eq(ipRules.accountId, user.accountId));
    if (!isAllowed(rules, meta.ip)) {
      await refused('address not trusted');
      throw forbidden('access_denied', `Access denied: this account accepts sign-ins only from trusted IP addresses, and ${meta.ip} is not one of them.`);
    }
  }

  const sec = await userSecurityOf(deps.db, user, now);
  if (sec.totpState === 'enabled') {
    if (!input.totp_code) {
      await refused('two-factor code missing');
      throw unauthorized('totp_required', 'This user signs in with two-factor authentication: send `totp_code` from the authenticator app.');
    }
    const result = await checkTotp(deps, deps.db, sec, input.totp_code);
    if (result !== 'ok') return fail(`two-factor code ${result}`, totpProblem(result, 401));
  } else if (policy.enforce2fa) {
    await refused('two-factor authentication required by the account');
    throw forbidden('two_factor_setup_required', 'This account requires two-factor authentication and you have not set it up: set it up with an API key (POST /v1/me/2fa) or ask an administrator.');
  }

  if (policy.passwordExpirationDays !== null) {
    const changedAt = sec.passwordChangedAt ?? user.createdAt;
    if (changedAt.getTime() + policy.passwordExpirationDays * 86_400_000 <= now.getTime()) {
      await refused('password expired');
      const { token, expiresAt } = await deps.db.transaction((tx) => issueUserToken(tx, { accountId: user.accountId, userId: user.id }, 'password_change', now));
      throw new ApiError(403, 'password_expired', 'Forbidden', 'Your password has expired: choose a new one with POST /v1/password-reset/complete and `change_token`, then sign in again.', {
        extra: { change_token: token, change_token_expires_at: expiresAt.toISOString() },
      });
    }
  }

  await clearAttempts(deps, email);
  return startSession(deps, user, meta, { method: 'Native sign in', twoFactorEnabled: sec.totpState === 'enabled' });
}

/**
 * Issues a session token (`cfs_…`) to a user who has already proven who they are (password sign-in
 * above, SAML in api/resources/saml) and audits the sign-in. The one place session tokens are made.
 */
export async function startSession(
  deps: AppDeps,
  user: UserRow,
  meta: Meta,
  opts: { method: string; twoFactorEnabled: boolean; details?: Record<string, unknown> },
): Promise<Session> {
  const now = deps.clock.now();
  const secret = newSecret(SESSION_PREFIX);
  const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
  const [session] = await deps.db
    .insert(sessions)
    .values({ id: newId('ses'), accountId: user.accountId, userId: user.id, secretHash: hashSecret(secret), ip: meta.ip, userAgent: meta.userAgent ?? null, createdAt: now, expiresAt })
    .returning();
  await audit(deps, user.accountId, {
    type: 'sign_in', task: user.email, description: `${opts.method} (OK) ${browser(meta.userAgent)} from ip-${meta.ip}`,
    performedBy: { userId: user.id, email: user.email }, ip: meta.ip, userAgent: meta.userAgent ?? null, details: { session_id: session!.id, ...opts.details },
  });
  return { id: session!.id, token: secret, expires_at: expiresAt.toISOString(), user: serializeManagedUser(user, opts.twoFactorEnabled) };
}

export async function signOut(deps: AppDeps, ctx: RequestContext) {
  if (ctx.credentialKind !== 'session') throw badRequest('not_a_session', 'This request is authenticated with an API key, not a session; revoke keys with DELETE /v1/api-keys/{id}.');
  await deps.db
    .update(sessions)
    .set({ revokedAt: deps.clock.now() })
    .where(and(eq(sessions.id, ctx.credentialId), eq(sessions.accountId, ctx.accountId), isNull(sessions.revokedAt)));
  await audit(deps, ctx, { type: 'sign_out', description: 'Signed out', details: { session_id: ctx.credentialId } });
}

/**
 * Housekeeping (the maintenance job): sessions that ended more than a day ago, used or expired
 * one-time tokens, and sign-in throttles that have been quiet for a day.
 */
export async function purgeExpiredSecurityRows(deps: Pick<AppDeps, 'db' | 'clock'>) {
  const cutoff = new Date(deps.clock.now().getTime() - 24 * 3600_000);
  const ended = await deps.db
    .delete(sessions)
    .where(or(lt(sessions.expiresAt, cutoff), lt(sessions.revokedAt, cutoff)))
    .returning({ id: sessions.id });
  const tokens = await deps.db
    .delete(userTokens)
    .where(or(lt(userTokens.expiresAt, cutoff), lt(userTokens.usedAt, cutoff)))
    .returning({ id: userTokens.id });
  const throttles = await deps.db
    .delete(loginThrottle)
    .where(and(lt(loginThrottle.updatedAt, cutoff), or(isNull(loginThrottle.lockedUntil), lt(loginThrottle.lockedUntil, cutoff))))
    .returning({ email: loginThrottle.email });
  return { sessions: ended.length, tokens: tokens.length, throttles: throttles.length };
}

type SessionRow = typeof sessions.$inferSelect;

function serializeSession(row: SessionRow, ctx: RequestContext, now: Date): SessionInfo {
  return {
    id: row.id,
    current: ctx.credentialKind === 'session' && ctx.credentialId === row.id,
    state: row.revokedAt ? 'revoked' : row.expiresAt <= now ? 'expired' : 'active',
    ip: row.ip,
    user_agent: row.userAgent,
    created_at: row.createdAt.toISOString(),
    expires_at: row.expiresAt.toISOString(),
    last_used_at: row.lastUsedAt?.toISOString() ?? null,
    revoked_at: row.revokedAt?.toISOString() ?? null,
  };
}

/** The caller's own sessions, newest first. */
export async function listSessions(deps: AppDeps, ctx: RequestContext, page: PageRequest, state?: SessionInfo['state']) {
  const now = deps.clock.now();
  const where: (SQL | undefined)[] = [eq(sessions.accountId, ctx.accountId), eq(sessions.userId, ctx.userId)];
  if (page.after) where.push(lt(sessions.id, page.after));
  if (state === 'revoked') where.push(isNotNull(sessions.revokedAt));
  if (state === 'expired') where.push(isNull(sessions.revokedAt), lte(sessions.expiresAt, now));
  if (state === 'active') where.push(isNull(sessions.revokedAt), gt(sessions.expiresAt, now));
  const rows = await deps.db.select().from(sessions).where(and(...where)).orderBy(desc(sessions.id)).limit(page.limit + 1);
  return toPage(rows, page.limit, (r) => serializeSession(r, ctx, now));
}

/** Ends one of the caller's own sessions (e.g. a forgotten browser). Ending an ended one is a no-op. */
export async function revokeSession(deps: AppDeps, ctx: RequestContext, id: string) {
  const now = deps.clock.now();
  const where = and(eq(sessions.accountId, ctx.accountId), eq(sessions.userId, ctx.userId), eq(sessions.id, id));
  const [row] = await deps.db.select().from(sessions).where(where);
  if (!row) throw notFound('Session', id);
  if (row.revokedAt) return serializeSession(row, ctx, now);
  const [updated] = await deps.db.update(sessions).set({ revokedAt: now }).where(and(where, isNull(sessions.revokedAt))).returning();
  await audit(deps, ctx, { type: 'sign_out', description: `Session from ${row.ip ?? 'an unknown address'} ended`, details: { session_id: id } });
  return serializeSession(updated ?? row, ctx, now);
}
