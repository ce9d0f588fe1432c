// Sign-up in two steps, so that it neither tells who has an account nor creates one for an address
// nobody proved: POST /v1/accounts answers 202 `activation_sent` for every address after the same
// work (the password is hashed either way, and everything that depends on the address — looking it
// up, storing the pending sign-up, mailing — runs in the background, see api/background.ts). A new
// address gets an activation link (valid 48 hours, once); an address with an account gets a notice
// instead. POST /v1/accounts/activate creates the account, its administrator and first API key.
import { and, desc, eq, gt, isNull, lt, ne, or, sql } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import { accounts, pendingSignups, users } from '../../../db/schema.ts';
import { newId } from '../../../db/ids.ts';
import { background } from '../../background.ts';
import { hashSecret, newSecret } from '../../credentials.ts';
import { ApiError, badRequest, conflict, forbidden, gone, invalidField } from '../../errors.ts';
import { hashPassword } from '../../passwords.ts';
import { ALL_PERMISSIONS } from '../../permissions.ts';
import { REGION_IDS } from '../../regions.ts';
import { regionOffered } from '../../../workers/backup/locations.ts';
import { issueApiKey } from '../api-keys/service.ts';
import { activationMail, existingAccountMail } from './signup-mail.ts';
import { serializeAccount, serializeUser, TRIAL_DAYS } from './service.ts';
import type { SignupRequest } from './schemas.ts';

export const ACTIVATION_TTL_MS = 48 * 3600_000;
const TOKEN_PREFIX = 'cfa_';
const TOKEN_PATTERN = /^cfa_[0-9A-Za-z]{32}$/;

type PendingRow = typeof pendingSignups.$inferSelect;

const normalize = (email: string) => email.trim().toLowerCase();

function assertSignupEnabled(deps: AppDeps) {
  if (!deps.config.signupEnabled) throw forbidden('signup_disabled', 'Sign-up is turned off on this Coffer installation.');
}

function accepted(email: string) {
  return {
    status: 'activation_sent' as const,
    email,
    detail: 'An email with an activation link is on its way to this address; the account is created when the link is used.',
  };
}

export async function signUp(deps: AppDeps, input: SignupRequest, meta: { ip: string }) {
  assertSignupEnabled(deps);
  if (!REGION_IDS.has(input.region) || !regionOffered(deps.config, input.region)) throw invalidField('/body/region', `unknown region "${input.region}"; see GET /v1/regions`);
  const email = normalize(input.email);
  // Hashed for every address, before anything depends on it: a taken address costs the same.
  const { password, ...rest } = input;
  const passwordHash = await hashPassword(password);
  background(deps).run('sign-up', () => recordSignup(deps, { ...rest, email, passwordHash }, meta));
  return accepted(email);
}

async function userExists(deps: AppDeps, email: string) {
  const [user] = await deps.db.select({ id: users.id }).from(users).where(sql`lower(${users.email}) = ${email}`);
  return user !== undefined;
}

async function recordSignup(deps: AppDeps, signup: Omit<SignupRequest, 'password'> & { passwordHash: string }, meta: { ip: string }) {
  if (await userExists(deps, signup.email)) {
    await deps.mailer.send(existingAccountMail(deps.config.publicUrl, signup.email, meta.ip));
    return;
  }
  const now = deps.clock.now();
  const token = newSecret(TOKEN_PREFIX);
  const expiresAt = new Date(now.getTime() + ACTIVATION_TTL_MS);
  await deps.db.insert(pendingSignups).values({
    id: newId('sgn'), email: signup.email, accountName: signup.name, userName: signup.user_name ?? null, region: signup.region, kind: signup.kind ?? 'standard',
    passwordHash: signup.passwordHash, tokenHash: hashSecret(token), createdAt: now, expiresAt,
  });
  await deps.mailer.send(activationMail(deps.config.publicUrl, { email: signup.email, accountName: signup.name, expiresAt }, token));
}

/** 202 for every address; the newest waiting sign-up of the address gets a new link (the old one stops working). */
export function resendActivation(deps: AppDeps, rawEmail: string, meta: { ip: string }) {
  assertSignupEnabled(deps);
  const email = normalize(rawEmail);
  background(deps).run('activation resend', async () => {
    const now = deps.clock.now();
    const [pending] = await deps.db
      .select()
      .from(pendingSignups)
      .where(and(eq(pendingSignups.email, email), isNull(pendingSignups.activatedAt), gt(pendingSignups.expiresAt, now)))
      .orderBy(desc(pendingSignups.createdAt), desc(pendingSignups.id))
      .limit(1);
    if (!pending) {
      if (await userExists(deps, email)) await deps.mailer.send(existingAccountMail(deps.config.publicUrl, email, meta.ip));
      return;
    }
    const token = newSecret(TOKEN_PREFIX);
    const expiresAt = new Date(now.getTime() + ACTIVATION_TTL_MS);
    await deps.db.update(pendingSignups).set({ tokenHash: hashSecret(token), expiresAt }).where(eq(pendingSignups.id, pending.id));
    await deps.mailer.send(activationMail(deps.config.publicUrl, { email, accountName: pending.accountName, expiresAt }, token));
  });
  return accepted(email);
}

const activationUsed = () => conflict('activation_used', 'This account is activated already; sign in with its email and password.');

async function findPending(deps: AppDeps, token: string): Promise<PendingRow> {
  const invalid = badRequest('invalid_token', 'This activation link is not valid; sign up again or ask for a new link (POST /v1/accounts/activation/resend).');
  if (!TOKEN_PATTERN.test(token)) throw invalid;
  const [row] = await deps.db.select().from(pendingSignups).where(eq(pendingSignups.tokenHash, hashSecret(token)));
  if (!row) throw invalid;
  if (row.activatedAt) throw activationUsed();
  if (row.expiresAt <= deps.clock.now()) throw gone('token_expired', 'This activation link has expired; ask for a new one (POST /v1/accounts/activation/resend).');
  return row;
}

/** What the link will create, without using it. */
export async function inspectActivation(deps: AppDeps, token: string) {
  const row = await findPending(deps, token);
  return { email: row.email, account_name: row.accountName, region: row.region, kind: row.kind, expires_at: row.expiresAt.toISOString() };
}

/** Uses the link once: the account in its trial, its administrator and a first API key. */
export async function activate(deps: AppDeps, token: string) {
  assertSignupEnabled(deps);
  const pending = await findPending(deps, token);
  const now = deps.clock.now();
  try {
    return await deps.db.transaction(async (tx) => {
      const claimed = await tx
        .update(pendingSignups)
        .set({ activatedAt: now })
        .where(and(eq(pendingSignups.id, pending.id), isNull(pendingSignups.activatedAt)))
        .returning({ id: pendingSignups.id });
      if (!claimed.length) throw activationUsed();
      // Other sign-ups waiting for this address (typos, someone else's attempt) can no longer win.
      await tx.delete(pendingSignups).where(and(eq(pendingSignups.email, pending.email), ne(pendingSignups.id, pending.id)));
      const [account] = await tx
        .insert(accounts)
        .values({
          id: newId('acct'), name: pending.accountName, email: pending.email, region: pending.region, kind: pending.kind, state: 'trial',
          trialEndsAt: new Date(now.getTime() + TRIAL_DAYS * 86_400_000), createdAt: now, updatedAt: now,
        })
        .returning();
      const [user] = await tx
        .insert(users)
        .values({
          id: newId('usr'), accountId: account!.id, email: pending.email, name: pending.userName, role: 'administrator',
          passwordHash: pending.passwordHash, state: 'active', emailConfirmedAt: now, createdAt: now, updatedAt: now,
        })
        .returning();
      const apiKey = await issueApiKey(tx, { accountId: account!.id, userId: user!.id, held: new Set(ALL_PERMISSIONS) }, { name: 'Default' }, now);
      return { account: serializeAccount(account!), user: serializeUser(user!), api_key: apiKey };
    });
  } catch (err) {
    if (!(err instanceof ApiError) && ((err as { code?: string }).code === '23505' || (err as { cause?: { code?: string } }).cause?.code === '23505')) {
      // The address got an account since (an invitation, another sign-up): the link proved the mailbox, so saying so is safe.
      throw conflict('email_taken', 'A user with this email address exists already; sign in or reset the password.');
    }
    throw err;
  }
}

/** Housekeeping (workers/jobs/maintenance.ts): sign-ups a day past their expiry or activation. */
export async function purgeExpiredSignups(deps: Pick<AppDeps, 'db' | 'clock'>) {
  const cutoff = new Date(deps.clock.now().getTime() - 24 * 3600_000);
  const removed = await deps.db
    .delete(pendingSignups)
    .where(or(lt(pendingSignups.expiresAt, cutoff), lt(pendingSignups.activatedAt, cutoff)))
    .returning({ id: pendingSignups.id });
  return removed.length;
}
