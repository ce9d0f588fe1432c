// Passwords (seed 2.3 and 5.4.1): reset by emailed link (valid 1 hour, once), change your own with
// the current one, and the change of an expired password with the token sign-in hands out. A new
// password ends every other session of the user. Completing a reset (or an expired password's
// change) also revokes the user's API keys unless the request says `revoke_api_keys: false`: a
// reset is how a user takes sole control back, and keys minted by whoever knew the old password
// would otherwise outlive it. The reset email says so.
import { and, eq, isNull, ne, sql } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { sessions, users } from '../../../db/schema.ts';
import { invalidField, notFound } from '../../errors.ts';
import { hashPassword, verifyPassword } from '../../passwords.ts';
import { background } from '../../background.ts';
import { audit } from '../audit/service.ts';
import { markPasswordChanged } from '../security/service.ts';
import { consumeUserToken, inspectUserToken, issueUserToken } from '../users/tokens.ts';
import { revokeUserApiKeys } from '../api-keys/service.ts';

interface Meta { ip: string; userAgent: string | undefined }

/**
 * Always the same answer in the same time: the lookup, the token and the mail run in the
 * background (api/background.ts), so an unknown address cannot be told from a known one by how long
 * the 202 takes: handling a known one in the request made its answer several times slower.
 */
export function requestReset(deps: AppDeps, email: string, meta: Meta) {
  background(deps).run('password reset', () => sendReset(deps, email.trim().toLowerCase(), meta));
}

async function sendReset(deps: AppDeps, normalized: string, meta: Meta) {
  const [user] = await deps.db.select().from(users).where(sql`lower(${users.email}) = ${normalized}`);
  if (!user || user.state !== 'active') return;
  const now = deps.clock.now();
  const { token } = await deps.db.transaction(async (tx) => {
    const issued = await issueUserToken(tx, { accountId: user.accountId, userId: user.id }, 'reset', now);
    await audit(deps, user.accountId, {
      type: 'password_reset_requested', task: user.email, description: `Password reset requested for ${user.email} from ip-${meta.ip}`,
      performedBy: { userId: user.id, email: user.email }, ip: meta.ip, userAgent: meta.userAgent ?? null,
    }, tx);
    return issued;
  });
  await deps.mailer.send({
    to: user.email,
    subject: 'Reset your Coffer password',
    text: [
      `Someone (hopefully you) asked to reset the password of ${user.email} from ${meta.ip}.`,
      '',
      'Reset Coffer password:',
      `${deps.config.publicUrl}/v1/password-reset/complete?token=${token}`,
      '',
      'The link works once, within 1 hour: POST the token and a new password to /v1/password-reset/complete.',
      'Completing the reset signs you out everywhere and also revokes every API key of yours, unless you send "revoke_api_keys": false with it.',
      'If you did not ask for this, ignore this message; your password stays as it is.',
    ].join('\n'),
  });
}

export function inspectReset(deps: AppDeps, token: string) {
  return inspectUserToken(deps, ['reset', 'password_change'], token);
}

export async function completeReset(deps: AppDeps, input: { token: string; password: string; revoke_api_keys?: boolean }, meta: Meta) {
  const passwordHash = await hashPassword(input.password);
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    const { user, token } = await consumeUserToken(deps, tx, ['reset', 'password_change'], input.token);
    if (user.state !== 'active') throw invalidField('/body/token', 'the user of this link is not active');
    await tx.update(users).set({ passwordHash, version: sql`${users.version} + 1`, updatedAt: now }).where(eq(users.id, user.id));
    await markPasswordChanged(tx, user, now);
    await tx.update(sessions).set({ revokedAt: now }).where(and(eq(sessions.accountId, user.accountId), eq(sessions.userId, user.id), isNull(sessions.revokedAt)));
    const keys = input.revoke_api_keys === false ? 0 : await revokeUserApiKeys(tx, user.accountId, user.id, now);
    await audit(deps, user.accountId, {
      type: token.purpose === 'reset' ? 'password_reset' : 'password_changed', task: user.email,
      description: (token.purpose === 'reset' ? `Password of ${user.email} reset by emailed link` : `Expired password of ${user.email} changed`)
        + (keys ? `; ${keys} API key${keys === 1 ? '' : 's'} revoked` : ''),
      performedBy: { userId: user.id, email: user.email }, ip: meta.ip, userAgent: meta.userAgent ?? null,
      details: { api_keys_revoked: keys },
    }, tx);
  });
}

export async function changeOwnPassword(deps: AppDeps, ctx: RequestContext, input: { current_password: string; new_password: string }) {
  const [user] = await deps.db.select().from(users).where(and(eq(users.id, ctx.userId), eq(users.accountId, ctx.accountId)));
  if (!user) throw notFound('User');
  if (!user.passwordHash || !(await verifyPassword(user.passwordHash, input.current_password))) {
    throw invalidField('/body/current_password', 'is not your current password');
  }
  if (input.new_password === input.current_password) throw invalidField('/body/new_password', 'must differ from the current password');
  const passwordHash = await hashPassword(input.new_password);
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    await tx.update(users).set({ passwordHash, version: sql`${users.version} + 1`, updatedAt: now }).where(eq(users.id, user.id));
    await markPasswordChanged(tx, user, now);
    // Other sessions end; the one making the change (if it is a session) stays.
    const keep = ctx.credentialKind === 'session' ? ne(sessions.id, ctx.credentialId) : undefined;
    await tx.update(sessions).set({ revokedAt: now }).where(and(eq(sessions.userId, user.id), isNull(sessions.revokedAt), keep));
    await audit(deps, ctx, { type: 'password_changed', task: user.email, description: `Password of ${user.email} changed` }, tx);
  });
}
