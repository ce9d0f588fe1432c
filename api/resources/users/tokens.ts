// One-time links sent by email: email confirmation (24 h), password reset (1 h) and the change of
// an expired password (15 min). The token is a 190-bit random secret; only its SHA-256 is stored,
// it works once, and issuing a new one for the same purpose retires the previous ones.
import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { Tx } from '../../../db/client.ts';
import { userTokens, users, type UserTokenPurpose } from '../../../db/schema.ts';
import { newId } from '../../../db/ids.ts';
import { badRequest, gone } from '../../errors.ts';
import { hashSecret, newSecret } from '../../credentials.ts';

export const TOKEN_TTL_MS: Record<UserTokenPurpose, number> = {
  confirm: 24 * 3600_000,
  reset: 3600_000,
  password_change: 15 * 60_000,
};

const TOKEN_PATTERN = /^cft_[0-9A-Za-z]{32}$/;

export async function issueUserToken(tx: Tx, owner: { accountId: string; userId: string }, purpose: UserTokenPurpose, now: Date) {
  await tx.delete(userTokens).where(and(eq(userTokens.userId, owner.userId), eq(userTokens.purpose, purpose)));
  const token = newSecret('cft_');
  const expiresAt = new Date(now.getTime() + TOKEN_TTL_MS[purpose]);
  await tx.insert(userTokens).values({
    id: newId('utk'), accountId: owner.accountId, userId: owner.userId, purpose, tokenHash: hashSecret(token), createdAt: now, expiresAt,
  });
  return { token, expiresAt };
}

async function find(deps: Pick<AppDeps, 'db' | 'clock'>, purposes: UserTokenPurpose[], token: string) {
  const invalid = badRequest('invalid_token', 'This link is not valid or was already used; ask for a new one.');
  if (!TOKEN_PATTERN.test(token)) throw invalid;
  const [row] = await deps.db
    .select({ token: userTokens, user: users })
    .from(userTokens)
    .innerJoin(users, eq(users.id, userTokens.userId))
    .where(and(eq(userTokens.tokenHash, hashSecret(token)), inArray(userTokens.purpose, purposes)));
  if (!row || row.token.usedAt) throw invalid;
  if (row.token.expiresAt <= deps.clock.now()) throw gone('token_expired', 'This link has expired; ask for a new one.');
  return row;
}

/** Checks a token without using it (what a page behind the emailed link shows first). */
export async function inspectUserToken(deps: Pick<AppDeps, 'db' | 'clock'>, purposes: UserTokenPurpose[], token: string) {
  const row = await find(deps, purposes, token);
  return { email: row.user.email, purpose: row.token.purpose, expires_at: row.token.expiresAt.toISOString() };
}

/** Uses a token once, inside the caller's transaction; a second use (or a race) is invalid_token. */
export async function consumeUserToken(deps: Pick<AppDeps, 'db' | 'clock'>, tx: Tx, purposes: UserTokenPurpose[], token: string) {
  const row = await find(deps, purposes, token);
  const used = await tx
    .update(userTokens)
    .set({ usedAt: deps.clock.now() })
    .where(and(eq(userTokens.id, row.token.id), isNull(userTokens.usedAt)))
    .returning({ id: userTokens.id });
  if (!used.length) throw badRequest('invalid_token', 'This link is not valid or was already used; ask for a new one.');
  return row;
}
