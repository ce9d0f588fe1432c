// Step-up: a fresh proof of the person behind a credential, for changes that could hand the whole
// account to someone else (the identity provider). A stolen session token or API key alone must
// not be enough: the request also carries the user's TOTP code when they have two-factor
// authentication, else their current password. The same fields work with an API key, so an
// automation can change SAML only if it holds that secret too.
import { and, eq } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { users } from '../../../db/schema.ts';
import { ApiError, notFound } from '../../errors.ts';
import { verifyPassword } from '../../passwords.ts';
import { audit } from '../audit/service.ts';
import { checkTotp } from '../two-factor/service.ts';
import { userSecurityOf } from './service.ts';

export interface StepUpProof {
  current_password?: string;
  totp_code?: string;
}

const refuse = (code: string, detail: string) => new ApiError(403, code, 'Forbidden', detail);

/** Throws 403 `step_up_required` (nothing sent) or `step_up_failed` (wrong), audited; returns the factor used. */
export async function verifyStepUp(deps: AppDeps, ctx: RequestContext, proof: StepUpProof, what: string): Promise<'totp' | 'password'> {
  // A partner acting for a customer proves who it is with its own factor (its user is in its own account).
  const [user] = await deps.db.select().from(users).where(and(eq(users.accountId, ctx.partnerAccountId ?? ctx.accountId), eq(users.id, ctx.userId)));
  if (!user) throw notFound('User', ctx.userId);
  const sec = await userSecurityOf(deps.db, user, deps.clock.now());
  const factor = sec.totpState === 'enabled' ? 'totp' : 'password';
  const given = factor === 'totp' ? proof.totp_code : proof.current_password;
  if (given === undefined) {
    throw refuse('step_up_required', factor === 'totp'
      ? `To ${what}, confirm it is you: send \`totp_code\` from your authenticator app with the request.`
      : `To ${what}, confirm it is you: send your \`current_password\` with the request.`);
  }
  const ok = factor === 'totp'
    ? (await checkTotp(deps, deps.db, sec, given)) === 'ok'
    : Boolean(user.passwordHash) && await verifyPassword(user.passwordHash!, given);
  if (!ok) {
    await audit(deps, ctx, {
      type: 'step_up_failed', status: 'failed',
      description: `Confirmation with ${factor === 'totp' ? 'a two-factor code' : 'the password'} failed (to ${what})`,
      details: { factor, what },
    });
    throw refuse('step_up_failed', factor === 'totp' ? 'The two-factor code is not valid (or was already used).' : 'The password is not correct.');
  }
  return factor;
}
