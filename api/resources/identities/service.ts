// Sign-in with Google / Microsoft (OpenID Connect) and the identities users link to themselves.
//
// A sign-in finds its user only through a linked identity (issuer + subject of the ID token),
// never by the email the provider reports: an email at a provider proves nothing about who owns
// the Coffer user of that address. A user links an identity while signed in (POST
// /v1/me/identities → the provider → the callback), and only one whose email is the user's own:
// otherwise an authorize URL passed to someone else would link *their* identity to the sender's
// user, and their next "Sign in with Google" would open the sender's account.
//
// Every authorization request carries state, nonce and a PKCE challenge; its row is answered once
// and within 10 minutes. A sign-in request is also bound to the browser that started it (a cookie
// holding its state), so a callback URL passed to someone else signs nobody in. After the provider,
// the same rules as password and SAML sign-in apply: an active user, SAML (when on) replaces it, the
// IP allowlist, and a TOTP code from a user who has two-factor authentication (or 403 when the
// account enforces it and the user has none).
import { createHash } from 'node:crypto';
import { and, eq, gt, isNull, lt, lte, sql } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import type { OidcProviderName } from '../../config.ts';
import { oidcRequests, userIdentities, users } from '../../../db/schema.ts';
import { newId } from '../../../db/ids.ts';
import { ApiError, conflict, notFound } from '../../errors.ts';
import { toPage, type PageRequest } from '../../pagination.ts';
import { audit } from '../audit/service.ts';
import { accountSecurityOf, userSecurityOf } from '../security/service.ts';
import { assertClientAllowed } from '../ip-allowlist/service.ts';
import { checkTotp, totpProblem } from '../two-factor/service.ts';
import { startSession, type Meta } from '../sessions/service.ts';
import { samlEnabled, samlLoginUrl } from '../saml/state.ts';
import { authorizationRequest, exchangeCode, providerConfig, type VerifiedIdentity } from './oidc.ts';
import type { Identity, OidcCallbackResult } from './schemas.ts';

export const REQUEST_TTL_MS = 10 * 60_000;
export const SECOND_FACTOR_TTL_MS = 5 * 60_000;
export const SECOND_FACTOR_ATTEMPTS = 3;
const SECRETS_CONTEXT = 'oidc-request';
const SECOND_FACTOR_CONTEXT = 'oidc-second-factor';

type UserRow = typeof users.$inferSelect;
type IdentityRow = typeof userIdentities.$inferSelect;
type RequestRow = typeof oidcRequests.$inferSelect;

const stateHash = (state: string) => createHash('sha256').update(state).digest('hex');
const label = (provider: string) => (provider === 'google' ? 'Google' : provider === 'microsoft' ? 'Microsoft' : provider);

function serialize(row: IdentityRow): Identity {
  return {
    id: row.id, provider: row.provider as Identity['provider'], issuer: row.issuer, subject: row.subject, email: row.email,
    created_at: row.createdAt.toISOString(), last_used_at: row.lastUsedAt?.toISOString() ?? null,
  };
}

async function createRequest(deps: AppDeps, provider: OidcProviderName, purpose: 'sign_in' | 'link', owner: { accountId: string; userId: string } | null) {
  const request = await authorizationRequest(deps, provider);
  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + REQUEST_TTL_MS);
  await deps.db.insert(oidcRequests).values({
    id: newId('oidc'), stateHash: stateHash(request.state), provider, purpose, accountId: owner?.accountId ?? null, userId: owner?.userId ?? null,
    sealedSecrets: deps.keyring.sealSecret(JSON.stringify({ n: request.nonce, v: request.codeVerifier }), SECRETS_CONTEXT),
    createdAt: now, expiresAt,
  });
  return { url: request.url, state: request.state, expiresAt };
}

/** GET /v1/oidc/{provider}/login: the provider's authorization URL and the state the browser must keep. */
export async function startSignIn(deps: AppDeps, provider: OidcProviderName) {
  return createRequest(deps, provider, 'sign_in', null);
}

/** POST /v1/me/identities: starts linking an identity of `provider` to the caller. */
export async function startLink(deps: AppDeps, ctx: RequestContext, provider: OidcProviderName) {
  providerConfig(deps, provider);
  const { url, expiresAt } = await createRequest(deps, provider, 'link', { accountId: ctx.accountId, userId: ctx.userId });
  return { authorize_url: url, expires_at: expiresAt.toISOString() };
}

const invalidState = () => new ApiError(401, 'oidc_invalid_state', 'Unauthorized',
  'This answer does not match a sign-in Coffer started, was already used or has expired: start again.');

async function auditFailure(deps: AppDeps, user: UserRow, provider: string, meta: Meta, reason: string, code: string) {
  await audit(deps, user.accountId, {
    type: 'sign_in_failed', status: 'failed', task: user.email,
    description: `${label(provider)} sign in (failed: ${reason}) from ip-${meta.ip}`,
    performedBy: { userId: user.id, email: user.email }, ip: meta.ip, userAgent: meta.userAgent ?? null,
    details: { method: 'oidc', provider, code, reason },
  });
}

/** GET /v1/oidc/{provider}/callback: the provider's answer to a sign-in or a link. */
export async function callback(
  deps: AppDeps,
  provider: OidcProviderName,
  input: { rawQuery: string; state: string | undefined; error: string | undefined; errorDescription: string | undefined; browserState: string | undefined; meta: Meta },
): Promise<OidcCallbackResult> {
  providerConfig(deps, provider);
  if (!input.state) throw invalidState();
  const now = deps.clock.now();
  const [row] = await deps.db.select().from(oidcRequests)
    .where(and(eq(oidcRequests.stateHash, stateHash(input.state)), eq(oidcRequests.provider, provider)));
  if (!row || row.usedAt || row.expiresAt <= now) throw invalidState();
  if (row.purpose === 'sign_in' && input.browserState !== input.state) {
    throw new ApiError(401, 'oidc_browser_mismatch', 'Unauthorized',
      'This sign-in was started in another browser: a sign-in link is good only in the browser that started it. Start again here.');
  }
  // Answered once, whatever the outcome: a replayed callback (or code) finds the request used.
  const [consumed] = await deps.db.update(oidcRequests).set({ usedAt: now })
    .where(and(eq(oidcRequests.id, row.id), isNull(oidcRequests.usedAt))).returning();
  if (!consumed) throw invalidState();
  if (input.error) {
    throw new ApiError(401, 'oidc_provider_error', 'Unauthorized', `${label(provider)} refused the sign-in: ${input.error}${input.errorDescription ? ` (${input.errorDescription})` : ''}.`);
  }
  const secrets = JSON.parse(deps.keyring.openSecret(row.sealedSecrets, SECRETS_CONTEXT)) as { n: string; v: string };
  const identity = await exchangeCode(deps, provider, input.rawQuery, { state: input.state, nonce: secrets.n, codeVerifier: secrets.v });
  if (row.purpose === 'link') return { purpose: 'link', session: null, identity: await link(deps, row, provider, identity, input.meta) };
  return { purpose: 'sign_in', session: await signIn(deps, row, provider, identity, input.meta), identity: null };
}

async function link(deps: AppDeps, row: RequestRow, provider: OidcProviderName, identity: VerifiedIdentity, meta: Meta): Promise<Identity> {
  const [user] = await deps.db.select().from(users).where(and(eq(users.accountId, row.accountId!), eq(users.id, row.userId!)));
  if (!user || user.state !== 'active') throw new ApiError(401, 'user_inactive', 'Unauthorized', 'The user who started linking is no longer active.');
  if (!identity.email || identity.email.toLowerCase() !== user.email.toLowerCase()) {
    throw new ApiError(403, 'identity_email_mismatch', 'Forbidden',
      `The ${label(provider)} account that answered (${identity.email ?? 'no email'}) is not ${user.email}: only an identity with your own email can be linked to you.`);
  }
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const [existing] = await tx.select().from(userIdentities).where(and(eq(userIdentities.issuer, identity.issuer), eq(userIdentities.subject, identity.subject)));
    if (existing) {
      if (existing.userId === user.id) return serialize(existing);
      throw conflict('identity_already_linked', `This ${label(provider)} identity is already linked to another Coffer user; unlink it there first.`);
    }
    const [created] = await tx.insert(userIdentities).values({
      id: newId('idn'), accountId: user.accountId, userId: user.id, provider, issuer: identity.issuer, subject: identity.subject, email: identity.email, createdAt: now,
    }).returning();
    await audit(deps, user.accountId, {
      type: 'identity_linked', task: user.email, description: `${label(provider)} identity ${identity.email} linked to ${user.email}`,
      performedBy: { userId: user.id, email: user.email }, ip: meta.ip, userAgent: meta.userAgent ?? null,
      details: { identity_id: created!.id, provider, issuer: identity.issuer, subject: identity.subject, before: null, after: { provider, issuer: identity.issuer, subject: identity.subject, email: identity.email } },
    }, tx);
    return serialize(created!);
  });
}

async function signIn(deps: AppDeps, row: RequestRow, provider: OidcProviderName, identity: VerifiedIdentity, meta: Meta) {
  const [linked] = await deps.db.select().from(userIdentities).where(and(eq(userIdentities.issuer, identity.issuer), eq(userIdentities.subject, identity.subject)));
  if (!linked) {
    throw new ApiError(401, 'identity_not_linked', 'Unauthorized',
      `This ${label(provider)} account is not linked to a Coffer user. Sign in with your password (or SAML) once and link it: POST /v1/me/identities.`);
  }
  const [user] = await deps.db.select().from(users).where(and(eq(users.accountId, linked.accountId), eq(users.id, linked.userId)));
  if (!user) throw new ApiError(401, 'identity_not_linked', 'Unauthorized', `This ${label(provider)} account is not linked to a Coffer user.`);
  const fail = async (status: number, code: string, reason: string, detail: string): Promise<never> => {
    await auditFailure(deps, user, provider, meta, reason, code);
    throw new ApiError(status, code, status === 401 ? 'Unauthorized' : 'Forbidden', detail);
  };
  if (user.state !== 'active') return fail(401, 'user_inactive', `user ${user.state}`, `The user ${user.email} is ${user.state} in this account.`);
  if (await samlEnabled(deps.db, user.accountId)) {
    return fail(403, 'saml_required', 'the account signs in with SAML',
      `This account signs in with SAML single sign-on; other ways in are turned off. Start at ${samlLoginUrl(deps, user.accountId)}.`);
  }
  const policy = await accountSecurityOf(deps.db, user.accountId);
  if (policy.ipAllowlistEnabled) {
    try {
      await assertClientAllowed(deps.db, user.accountId, meta.ip);
    } catch (err) {
      return fail(403, 'access_denied', 'address not trusted', (err as ApiError).detail ?? 'Access denied from this address.');
    }
  }
  const sec = await userSecurityOf(deps.db, user, deps.clock.now());
  if (sec.totpState === 'enabled') {
    const expiresAt = deps.clock.now().getTime() + SECOND_FACTOR_TTL_MS;
    const token = deps.keyring.sealSecret(JSON.stringify({ r: row.id, u: user.id, a: user.accountId, i: linked.id, e: expiresAt }), SECOND_FACTOR_CONTEXT);
    await auditFailure(deps, user, provider, meta, `two-factor code needed after ${label(provider)}`, 'totp_required');
    throw new ApiError(401, 'totp_required', 'Unauthorized',
      'This user signs in with two-factor authentication: POST `two_factor_token` and `totp_code` to /v1/oidc/two-factor within 5 minutes.',
      { extra: { two_factor_token: token, two_factor_token_expires_at: new Date(expiresAt).toISOString() } });
  }
  if (policy.enforce2fa) {
    return fail(403, 'two_factor_setup_required', 'two-factor authentication required by the account',
      'This account requires two-factor authentication and you have not set it up: set it up with an API key (POST /v1/me/2fa) or ask an administrator.');
  }
  return finish(deps, user, linked, provider, meta, false);
}

async function finish(deps: AppDeps, user: UserRow, linked: IdentityRow, provider: string, meta: Meta, totp: boolean) {
  await deps.db.update(userIdentities).set({ lastUsedAt: deps.clock.now() }).where(eq(userIdentities.id, linked.id));
  return startSession(deps, user, meta, {
    method: `${label(provider)} sign in`, twoFactorEnabled: totp,
    details: { method: 'oidc', provider, identity_id: linked.id, issuer: linked.issuer, subject: linked.subject, second_factor: totp ? 'totp' : null },
  });
}

const invalidToken = () => new ApiError(401, 'invalid_two_factor_token', 'Unauthorized', 'This two-factor token is not valid, has expired or was used up: sign in again.');

/** POST /v1/oidc/two-factor: the TOTP code that completes a sign-in with a provider. */
export async function completeSecondFactor(deps: AppDeps, input: { two_factor_token: string; totp_code: string }, meta: Meta) {
  let pending: { r: string; u: string; a: string; i: string; e: number };
  try {
    pending = JSON.parse(deps.keyring.openSecret(input.two_factor_token, SECOND_FACTOR_CONTEXT));
  } catch {
    throw invalidToken();
  }
  const now = deps.clock.now();
  if (!(pending.e > now.getTime())) throw invalidToken();
  const [attempt] = await deps.db.update(oidcRequests).set({ secondFactorAttempts: sql`${oidcRequests.secondFactorAttempts} + 1` })
    .where(and(eq(oidcRequests.id, pending.r), lt(oidcRequests.secondFactorAttempts, SECOND_FACTOR_ATTEMPTS), isNull(oidcRequests.sessionIssuedAt))).returning();
  const [user] = await deps.db.select().from(users).where(and(eq(users.accountId, pending.a), eq(users.id, pending.u)));
  if (!attempt || !user) throw invalidToken();
  const [linked] = await deps.db.select().from(userIdentities)
    .where(and(eq(userIdentities.accountId, user.accountId), eq(userIdentities.userId, user.id), eq(userIdentities.id, pending.i)));
  const fail = async (status: number, code: string, reason: string, problem: ApiError): Promise<never> => {
    await auditFailure(deps, user, attempt.provider, meta, reason, code);
    throw problem;
  };
  if (!linked) return fail(401, 'identity_not_linked', 'identity unlinked meanwhile', new ApiError(401, 'identity_not_linked', 'Unauthorized', 'The identity was unlinked meanwhile.'));
  if (user.state !== 'active') return fail(401, 'user_inactive', `user ${user.state}`, new ApiError(401, 'user_inactive', 'Unauthorized', `The user ${user.email} is ${user.state} in this account.`));
  const policy = await accountSecurityOf(deps.db, user.accountId);
  if (policy.ipAllowlistEnabled) {
    try {
      await assertClientAllowed(deps.db, user.accountId, meta.ip);
    } catch (err) {
      return fail(403, 'access_denied', 'address not trusted', err as ApiError);
    }
  }
  const sec = await userSecurityOf(deps.db, user, now);
  const result = sec.totpState === 'enabled' ? await checkTotp(deps, deps.db, sec, input.totp_code) : 'invalid';
  if (result !== 'ok') return fail(401, result === 'reused' ? 'totp_code_reused' : 'invalid_totp_code', `two-factor code ${result}`, totpProblem(result, 401));
  const [issued] = await deps.db.update(oidcRequests).set({ sessionIssuedAt: now })
    .where(and(eq(oidcRequests.id, attempt.id), isNull(oidcRequests.sessionIssuedAt))).returning();
  if (!issued) throw invalidToken();
  return finish(deps, user, linked, attempt.provider, meta, true);
}

/** GET /v1/me/identities: the caller's linked identities, oldest first. */
export async function listIdentities(deps: AppDeps, ctx: RequestContext, page: PageRequest) {
  const where = [eq(userIdentities.accountId, ctx.accountId), eq(userIdentities.userId, ctx.userId)];
  if (page.after) where.push(gt(userIdentities.id, page.after));
  const rows = await deps.db.select().from(userIdentities).where(and(...where)).orderBy(userIdentities.id).limit(page.limit + 1);
  return toPage(rows, page.limit, serialize);
}

/** DELETE /v1/me/identities/{id}: the identity no longer signs the caller in. */
export async function unlinkIdentity(deps: AppDeps, ctx: RequestContext, id: string) {
  await deps.db.transaction(async (tx) => {
    const [row] = await tx.delete(userIdentities)
      .where(and(eq(userIdentities.accountId, ctx.accountId), eq(userIdentities.userId, ctx.userId), eq(userIdentities.id, id))).returning();
    if (!row) throw notFound('Identity', id);
    await audit(deps, ctx, {
      type: 'identity_unlinked', description: `${label(row.provider)} identity ${row.email ?? row.subject} unlinked`,
      details: { identity_id: row.id, provider: row.provider, issuer: row.issuer, subject: row.subject, before: { provider: row.provider, issuer: row.issuer, subject: row.subject, email: row.email }, after: null },
    }, tx);
  });
}

/** Housekeeping: forgets authorization requests that can no longer be answered (the account-purge job). */
export async function cleanUpOidcRequests(deps: Pick<AppDeps, 'db' | 'clock'>) {
  const cutoff = new Date(deps.clock.now().getTime() - SECOND_FACTOR_TTL_MS);
  await deps.db.delete(oidcRequests).where(lte(oidcRequests.expiresAt, cutoff));
}
