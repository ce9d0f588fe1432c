// The sign-in lockout: 5 failed attempts for an email within 15 minutes lock it (429 `login_locked`
// with Retry-After) for 15 minutes the first time and twice as long each time after, up to a day,
// until a sign-in succeeds.
//
// An attempt is counted before its password is checked, by one atomic statement that also refuses
// it when the email is locked or its attempts are used up. Counting after the check let parallel
// requests all pass a count read before any of them failed (every one of 40 parallel guesses was
// evaluated); now at most 5 passwords are evaluated per window however many arrive at once, and the
// rest are refused without an argon2 verification. A success clears the count; an attempt refused
// for another reason after its password proved right (SAML, IP allowlist, 2FA setup, an expired
// password) gives its count back.
import { eq, sql } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import { ApiError } from '../../errors.ts';
import { loginThrottle } from '../../../db/schema.ts';

export const LOCKOUT_THRESHOLD = 5;
export const LOCKOUT_WINDOW_MS = 15 * 60_000;
export const LOCKOUT_BASE_MS = 15 * 60_000;
export const LOCKOUT_MAX_MS = 24 * 3600_000;

function lockDuration(lockouts: number) {
  return Math.min(LOCKOUT_BASE_MS * 2 ** Math.max(0, lockouts - 1), LOCKOUT_MAX_MS);
}

export function lockedProblem(until: Date, now: Date) {
  const seconds = Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
  return new ApiError(429, 'login_locked', 'Too Many Requests', `Too many failed sign-in attempts for this email; try again in ${seconds} seconds.`, {
    headers: { 'retry-after': String(seconds) },
  });
}

/**
 * Counts an attempt for the email, or refuses it: answers null when the password may be checked,
 * else the 429 to throw (locked, or the window's attempts are all taken by requests still running).
 */
export async function reserveAttempt(deps: AppDeps, email: string): Promise<ApiError | null> {
  const now = deps.clock.now();
  const at = now.toISOString();
  const windowStart = new Date(now.getTime() - LOCKOUT_WINDOW_MS).toISOString();
  const counted = await deps.sql`
    insert into login_throttle as t (email, failures, window_started_at, updated_at)
    values (${email}, 1, ${at}::timestamptz, ${at}::timestamptz)
    on conflict (email) do update set
      failures = case when t.window_started_at is null or t.window_started_at <= ${windowStart}::timestamptz then 1 else t.failures + 1 end,
      window_started_at = case when t.window_started_at is null or t.window_started_at <= ${windowStart}::timestamptz then ${at}::timestamptz else t.window_started_at end,
      updated_at = ${at}::timestamptz
    where (t.locked_until is null or t.locked_until <= ${at}::timestamptz)
      and (t.window_started_at is null or t.window_started_at <= ${windowStart}::timestamptz or t.failures < ${LOCKOUT_THRESHOLD})
    returning failures`;
  if (counted.length) return null;
  const [t] = await deps.db.select().from(loginThrottle).where(eq(loginThrottle.email, email));
  if (t?.lockedUntil && t.lockedUntil > now) return lockedProblem(t.lockedUntil, now);
  // The attempts are used up by requests still being checked: if they fail, this lock follows.
  return lockedProblem(new Date(now.getTime() + lockDuration((t?.lockouts ?? 0) + 1)), now);
}

/** After a counted attempt failed: locks the email when the window's attempts are used up. Answers the lock's end, or null. */
export async function settleFailure(deps: AppDeps, email: string): Promise<Date | null> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const [t] = await tx.select().from(loginThrottle).where(eq(loginThrottle.email, email)).for('update');
    if (!t) return null; // a success cleared the count meanwhile
    if (t.lockedUntil && t.lockedUntil > now) return t.lockedUntil;
    const inWindow = t.windowStartedAt !== null && now.getTime() - t.windowStartedAt.getTime() < LOCKOUT_WINDOW_MS;
    if (!inWindow || t.failures < LOCKOUT_THRESHOLD) return null;
    // A day of quiet since the last lock forgives the earlier lockouts.
    const lockouts = (t.lockedUntil && now.getTime() - t.lockedUntil.getTime() > LOCKOUT_MAX_MS ? 0 : t.lockouts) + 1;
    const lockedUntil = new Date(now.getTime() + lockDuration(lockouts));
    await tx.update(loginThrottle).set({ failures: 0, windowStartedAt: null, lockedUntil, lockouts, updatedAt: now }).where(eq(loginThrottle.email, email));
    return lockedUntil;
  });
}

/** The password was right but the sign-in was refused for another reason: the attempt was no guess. */
export async function refundAttempt(deps: AppDeps, email: string) {
  await deps.db
    .update(loginThrottle)
    .set({ failures: sql`greatest(${loginThrottle.failures} - 1, 0)` })
    .where(eq(loginThrottle.email, email));
}

/** A sign-in succeeded: the count and the back-off start again. */
export async function clearAttempts(deps: AppDeps, email: string) {
  await deps.db.delete(loginThrottle).where(eq(loginThrottle.email, email));
}
