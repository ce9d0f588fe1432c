// Account lifecycle (seed 5.2.1–5.2.2).
// Email: a change waits for the new address to confirm it (a 24-hour link, resendable, discardable);
// the account keeps its current email until then. Region stays read-only.
// Removal: needs `approve_data_removal: true`; the account goes to `pending_deletion` with
// `purge_time` = now + 7 days. Sign-in still works and reads are allowed, every other write is refused
// (api/plugins/auth.ts), and the removal can be undone until purge_time. After it the account-purge job
// (workers/jobs/account-purge.ts) erases rows, backed-up blobs and the wrapped data key.
import { and, eq, ne, sql } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { accountEmailChanges, accountRemovals, accounts, users } from '../../../db/schema.ts';
import { ApiError, badRequest, conflict, gone, notFound } from '../../errors.ts';
import { hashSecret, newSecret } from '../../credentials.ts';
import { audit } from '../audit/service.ts';
import { serializeAccount } from './service.ts';
import type { AccountRemovalRequest, EmailChange, EmailChangeConfirm, EmailChangeRequest } from './lifecycle-schemas.ts';

export const EMAIL_CHANGE_TTL_MS = 24 * 3600_000;
export const REMOVAL_GRACE_MS = 7 * 86_400_000;
const TOKEN_PREFIX = 'cfe_';
const TOKEN_PATTERN = /^cfe_[0-9A-Za-z]{32}$/;

type AccountRow = typeof accounts.$inferSelect;
type ChangeRow = typeof accountEmailChanges.$inferSelect;

export const pendingDeletion = () =>
  conflict('account_pending_deletion', 'This account is being removed and is read-only until the removal is undone (DELETE /v1/account/removal) or the account is purged.');

async function accountOf(deps: AppDeps, accountId: string): Promise<AccountRow> {
  const [row] = await deps.db.select().from(accounts).where(eq(accounts.id, accountId));
  if (!row) throw notFound('Account');
  return row;
}

function serializeChange(account: AccountRow, change: ChangeRow): EmailChange {
  return { email: account.email, pending_email: change.newEmail, requested_at: change.createdAt.toISOString(), expires_at: change.expiresAt.toISOString() };
}

function confirmLink(deps: AppDeps, token: string) {
  return `${deps.config.publicUrl}/v1/account/email-change/confirm?token=${token}`;
}

async function sendConfirmation(deps: AppDeps, account: AccountRow, newEmail: string, token: string, expiresAt: Date) {
  await deps.mailer.send({
    to: newEmail,
    subject: 'Confirm the new email address of your Coffer account',
    text: [
      `Someone asked to make ${newEmail} the email address of the Coffer account "${account.name}" (now ${account.email}).`,
      '',
      'To confirm, open this link (or POST its token to /v1/account/email-change/confirm):',
      confirmLink(deps, token),
      '',
      `The link works once and until ${expiresAt.toISOString()}. If you did not expect this message, ignore it: nothing changes without your confirmation.`,
    ].join('\n'),
  });
}

/** Issues a fresh token for the account's pending change (a previous link stops working). */
async function issue(deps: AppDeps, ctx: RequestContext, account: AccountRow, newEmail: string) {
  const now = deps.clock.now();
  const token = newSecret(TOKEN_PREFIX);
  const expiresAt = new Date(now.getTime() + EMAIL_CHANGE_TTL_MS);
  const [change] = await deps.db.transaction(async (tx) => {
    const rows = await tx
      .insert(accountEmailChanges)
      .values({ accountId: ctx.accountId, newEmail, tokenHash: hashSecret(token), requestedByUserId: ctx.userId, createdAt: now, expiresAt })
      .onConflictDoUpdate({ target: accountEmailChanges.accountId, set: { newEmail, tokenHash: hashSecret(token), requestedByUserId: ctx.userId, createdAt: now, expiresAt } })
      .returning();
    await tx.update(accounts).set({ version: sql`${accounts.version} + 1`, updatedAt: now }).where(eq(accounts.id, ctx.accountId));
    return rows;
  });
  await sendConfirmation(deps, account, newEmail, token, expiresAt);
  return change!;
}

export async function requestEmailChange(deps: AppDeps, ctx: RequestContext, input: EmailChangeRequest): Promise<EmailChange> {
  const account = await accountOf(deps, ctx.accountId);
  const email = input.email.trim().toLowerCase();
  if (email === account.email.toLowerCase()) throw conflict('email_unchanged', `${email} is already the account's email.`);
  const change = await issue(deps, ctx, account, email);
  await audit(deps, ctx, { type: 'settings_changed', description: `Account email change to ${email} requested; confirmation sent to the new address`, details: { pending_email: email } });
  return serializeChange(account, change);
}

async function pendingChange(deps: AppDeps, accountId: string): Promise<ChangeRow> {
  const [row] = await deps.db.select().from(accountEmailChanges).where(eq(accountEmailChanges.accountId, accountId));
  if (!row) throw notFound('Pending email change');
  return row;
}

export async function getEmailChange(deps: AppDeps, ctx: RequestContext): Promise<EmailChange> {
  const [account, change] = await Promise.all([accountOf(deps, ctx.accountId), pendingChange(deps, ctx.accountId)]);
  return serializeChange(account, change);
}

export async function resendEmailChange(deps: AppDeps, ctx: RequestContext): Promise<EmailChange> {
  const current = await pendingChange(deps, ctx.accountId);
  const account = await accountOf(deps, ctx.accountId);
  const change = await issue(deps, ctx, account, current.newEmail);
  await audit(deps, ctx, { type: 'settings_changed', description: `Account email change confirmation resent to ${current.newEmail}`, details: { pending_email: current.newEmail } });
  return serializeChange(account, change);
}

export async function discardEmailChange(deps: AppDeps, ctx: RequestContext): Promise<void> {
  const now = deps.clock.now();
  const removed = await deps.db.transaction(async (tx) => {
    const rows = await tx.delete(accountEmailChanges).where(eq(accountEmailChanges.accountId, ctx.accountId)).returning();
    if (rows.length) await tx.update(accounts).set({ version: sql`${accounts.version} + 1`, updatedAt: now }).where(eq(accounts.id, ctx.accountId));
    return rows;
  });
  if (!removed.length) throw notFound('Pending email change');
  await audit(deps, ctx, { type: 'settings_changed', description: `Account email change to ${removed[0]!.newEmail} discarded`, details: { discarded_email: removed[0]!.newEmail } });
}

/** Public: the new address proves it receives mail; the account's email becomes it. */
export async function confirmEmailChange(deps: AppDeps, input: EmailChangeConfirm) {
  const invalid = badRequest('invalid_token', 'This link is not valid or was already used; ask for a new one (resend).');
  if (!TOKEN_PATTERN.test(input.token)) throw invalid;
  const [change] = await deps.db.select().from(accountEmailChanges).where(eq(accountEmailChanges.tokenHash, hashSecret(input.token)));
  if (!change) throw invalid;
  const now = deps.clock.now();
  if (change.expiresAt <= now) throw gone('token_expired', 'This link has expired; ask for a new one (POST /v1/account/email-change/resend).');
  const account = await accountOf(deps, change.accountId);
  if (account.state === 'pending_deletion') throw pendingDeletion();
  const row = await deps.db.transaction(async (tx) => {
    const used = await tx
      .delete(accountEmailChanges)
      .where(and(eq(accountEmailChanges.accountId, change.accountId), eq(accountEmailChanges.tokenHash, change.tokenHash)))
      .returning();
    if (!used.length) throw invalid;
    const [updated] = await tx
      .update(accounts)
      .set({ email: change.newEmail, version: sql`${accounts.version} + 1`, updatedAt: now })
      .where(eq(accounts.id, change.accountId))
      .returning();
    await audit(deps, change.accountId, {
      type: 'settings_changed', description: `Account email changed from ${account.email} to ${change.newEmail} (confirmed by the new address)`,
      performedBy: null, details: { before: account.email, after: change.newEmail },
    }, tx);
    return updated!;
  });
  await deps.mailer.send({
    to: account.email,
    subject: 'The email address of your Coffer account was changed',
    text: `The email address of the Coffer account "${account.name}" is now ${change.newEmail} (it was ${account.email}). If you did not ask for this, contact your administrator at once.`,
  });
  return { ...serializeAccount(row), pending_email: null };
}

async function administrators(deps: AppDeps, accountId: string): Promise<string[]> {
  const rows = await deps.db
    .select({ email: users.email })
    .from(users)
    .where(and(eq(users.accountId, accountId), eq(users.role, 'administrator'), eq(users.state, 'active')));
  return rows.map((r) => r.email);
}

export async function requestRemoval(deps: AppDeps, ctx: RequestContext, input: AccountRemovalRequest) {
  if (input.approve_data_removal !== true) {
    throw new ApiError(400, 'approval_required', 'Bad Request',
      'Removing the account erases every backup after a 7-day grace period: send `approve_data_removal: true` to approve the removal of your data.',
      { errors: [{ pointer: '/body/approve_data_removal', detail: 'must be true to remove the account' }] });
  }
  const now = deps.clock.now();
  const purgeAt = new Date(now.getTime() + REMOVAL_GRACE_MS);
  const row = await deps.db.transaction(async (tx) => {
    const [current] = await tx.select().from(accounts).where(eq(accounts.id, ctx.accountId)).for('update');
    if (!current) throw notFound('Account');
    if (current.state === 'pending_deletion') throw pendingDeletion();
    const [updated] = await tx
      .update(accounts)
      .set({ state: 'pending_deletion', purgeAt, version: sql`${accounts.version} + 1`, updatedAt: now })
      .where(and(eq(accounts.id, ctx.accountId), ne(accounts.state, 'pending_deletion')))
      .returning();
    await tx
      .insert(accountRemovals)
      .values({ accountId: ctx.accountId, previousState: current.state, requestedByUserId: ctx.userId, requestedAt: now, purgeAt })
      .onConflictDoUpdate({ target: accountRemovals.accountId, set: { previousState: current.state, requestedByUserId: ctx.userId, requestedAt: now, purgeAt } });
    await audit(deps, ctx, {
      type: 'account_removal_requested', description: `Account removal approved; all data will be erased at ${purgeAt.toISOString()} unless the removal is undone`,
      details: { purge_time: purgeAt.toISOString(), previous_state: current.state },
    }, tx);
    return updated!;
  });
  const to = await administrators(deps, ctx.accountId);
  await deps.mailer.send({
    to: [...new Set([row.email, ...to])],
    subject: 'Your Coffer account will be removed in 7 days',
    text: [
      `The Coffer account "${row.name}" was removed. It is read-only now, and at ${purgeAt.toISOString()} every backup, key and setting of it will be erased for good.`,
      '',
      'Changed your mind? Undo the removal before then (Settings > Account, or DELETE /v1/account/removal).',
    ].join('\n'),
  });
  return serializeAccount(row);
}

export async function undoRemoval(deps: AppDeps, ctx: RequestContext) {
  const now = deps.clock.now();
  const row = await deps.db.transaction(async (tx) => {
    const [current] = await tx.select().from(accounts).where(eq(accounts.id, ctx.accountId)).for('update');
    if (!current) throw notFound('Account');
    const [removal] = await tx.select().from(accountRemovals).where(eq(accountRemovals.accountId, ctx.accountId));
    if (current.state !== 'pending_deletion' || !removal) throw conflict('account_not_pending_deletion', 'This account is not being removed.');
    if (current.purgeAt && current.purgeAt <= now) throw gone('grace_period_over', 'The 7-day grace period is over; the account is being purged.');
    const [updated] = await tx
      .update(accounts)
      .set({ state: removal.previousState, purgeAt: null, version: sql`${accounts.version} + 1`, updatedAt: now })
      .where(eq(accounts.id, ctx.accountId))
      .returning();
    await tx.delete(accountRemovals).where(eq(accountRemovals.accountId, ctx.accountId));
    await audit(deps, ctx, { type: 'account_removal_undone', description: `Account removal undone; the account is ${removal.previousState} again`, details: { state: removal.previousState } }, tx);
    return updated!;
  });
  return serializeAccount(row);
}
