// Two-factor authentication with TOTP (seed 5.4.2): set up (secret, otpauth URI, QR code), confirm
// with a first code to enable, disable with a code. The secret is sealed at rest with the master
// key. A code is accepted one step either side of now, and never twice: the last accepted
// time-step is stored and a code of that step or an earlier one is refused.
import { and, eq, isNull, lt, or } from 'drizzle-orm';
import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import type { Tx } from '../../../db/client.ts';
import { users, userSecurity } from '../../../db/schema.ts';
import { ApiError, badRequest, conflict, notFound } from '../../errors.ts';
import { audit } from '../audit/service.ts';
import { accountSecurityOf, userSecurityOf, type UserSecurityRow } from '../security/service.ts';
import type { TwoFactorStatus } from './schemas.ts';

const PERIOD_S = 30;
const ISSUER = 'Coffer';

export function sealContext(userId: string) {
  return `totp:${userId}`;
}

function totpFor(secretBase32: string, label: string) {
  return new TOTP({ issuer: ISSUER, label, secret: Secret.fromBase32(secretBase32), algorithm: 'SHA1', digits: 6, period: PERIOD_S });
}

export type TotpCheck = 'ok' | 'invalid' | 'reused';

/** Checks a code against the user's (pending or enabled) secret and, if good, burns its time-step. */
export async function checkTotp(deps: Pick<AppDeps, 'keyring' | 'clock'>, db: Tx, sec: UserSecurityRow, code: string): Promise<TotpCheck> {
  if (!sec.totpSecret || !/^\d{6}$/.test(code)) return 'invalid';
  const secret = deps.keyring.openSecret(sec.totpSecret, sealContext(sec.userId));
  const ts = deps.clock.now().getTime();
  const delta = totpFor(secret, 'x').validate({ token: code, timestamp: ts, window: 1 });
  if (delta === null) return 'invalid';
  const step = Math.floor(ts / 1000 / PERIOD_S) + delta;
  if (sec.totpLastStep !== null && step <= sec.totpLastStep) return 'reused';
  const burned = await db
    .update(userSecurity)
    .set({ totpLastStep: step })
    .where(and(eq(userSecurity.userId, sec.userId), or(isNull(userSecurity.totpLastStep), lt(userSecurity.totpLastStep, step))))
    .returning({ userId: userSecurity.userId });
  return burned.length ? 'ok' : 'reused';
}

export function totpProblem(result: Exclude<TotpCheck, 'ok'>, status = 400): ApiError {
  return result === 'reused'
    ? new ApiError(status, 'totp_code_reused', status === 401 ? 'Unauthorized' : 'Bad Request', 'This code was already used; wait for the next one.')
    : new ApiError(status, 'invalid_totp_code', status === 401 ? 'Unauthorized' : 'Bad Request', 'The code is not valid now; check the clock of the device and try the current code.');
}

async function me(deps: AppDeps, ctx: RequestContext) {
  const [user] = await deps.db.select().from(users).where(and(eq(users.id, ctx.userId), eq(users.accountId, ctx.accountId)));
  if (!user) throw notFound('User');
  return user;
}

export async function getStatus(deps: AppDeps, ctx: RequestContext): Promise<TwoFactorStatus> {
  const user = await me(deps, ctx);
  const sec = await userSecurityOf(deps.db, user, deps.clock.now());
  const policy = await accountSecurityOf(deps.db, ctx.accountId);
  return { state: sec.totpState, enabled_at: sec.totpEnabledAt?.toISOString() ?? null, enforced: policy.enforce2fa };
}

export async function setUp(deps: AppDeps, ctx: RequestContext) {
  const user = await me(deps, ctx);
  const now = deps.clock.now();
  const sec = await userSecurityOf(deps.db, user, now);
  if (sec.totpState === 'enabled') throw conflict('two_factor_already_enabled', 'Two-factor authentication is already on; disable it first to set up a new device.');
  const secret = new Secret({ size: 20 }).base32;
  await deps.db
    .update(userSecurity)
    .set({ totpState: 'pending', totpSecret: deps.keyring.sealSecret(secret, sealContext(user.id)), totpLastStep: null, totpEnabledAt: null, updatedAt: now })
    .where(eq(userSecurity.userId, user.id));
  const uri = totpFor(secret, user.email).toString();
  return { state: 'pending' as const, secret, otpauth_uri: uri, qr_code: await QRCode.toDataURL(uri) };
}

export async function confirm(deps: AppDeps, ctx: RequestContext, code: string) {
  const user = await me(deps, ctx);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const sec = await userSecurityOf(tx, user, now);
    if (sec.totpState === 'enabled') throw conflict('two_factor_already_enabled', 'Two-factor authentication is already on.');
    if (sec.totpState !== 'pending') throw conflict('two_factor_not_set_up', 'Set up two-factor authentication first (POST /v1/me/2fa).');
    const result = await checkTotp(deps, tx, sec, code);
    if (result !== 'ok') throw totpProblem(result);
    const [row] = await tx.update(userSecurity).set({ totpState: 'enabled', totpEnabledAt: now, updatedAt: now }).where(eq(userSecurity.userId, user.id)).returning();
    await audit(deps, ctx, { type: '2fa_enabled', task: user.email, description: `Two-factor authentication enabled for ${user.email}` }, tx);
    const policy = await accountSecurityOf(tx, ctx.accountId);
    return { state: row!.totpState, enabled_at: row!.totpEnabledAt?.toISOString() ?? null, enforced: policy.enforce2fa } satisfies TwoFactorStatus;
  });
}

export async function disable(deps: AppDeps, ctx: RequestContext, code: string) {
  const user = await me(deps, ctx);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const sec = await userSecurityOf(tx, user, now);
    const policy = await accountSecurityOf(tx, ctx.accountId);
    if (sec.totpState === 'none') throw conflict('two_factor_not_enabled', 'Two-factor authentication is not on.');
    if (sec.totpState === 'enabled' && policy.enforce2fa) {
      throw conflict('two_factor_enforced', 'The account requires two-factor authentication; it cannot be turned off.');
    }
    if (sec.totpState === 'enabled') {
      const result = await checkTotp(deps, tx, sec, code);
      if (result !== 'ok') throw totpProblem(result);
    } else if (!/^\d{6}$/.test(code)) {
      throw badRequest('invalid_totp_code', 'The code must be 6 digits.');
    }
    await tx
      .update(userSecurity)
      .set({ totpState: 'none', totpSecret: null, totpLastStep: null, totpEnabledAt: null, updatedAt: now })
      .where(eq(userSecurity.userId, user.id));
    if (sec.totpState === 'enabled') {
      await audit(deps, ctx, { type: '2fa_disabled', task: user.email, description: `Two-factor authentication disabled for ${user.email}` }, tx);
    }
    return { state: 'none' as const, enabled_at: null, enforced: policy.enforce2fa } satisfies TwoFactorStatus;
  });
}
