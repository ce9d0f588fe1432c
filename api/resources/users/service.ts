// User Management (seed 5.3): invite a user by email (administrator, or a custom role with chosen
// operations and services); the user confirms with a link valid 24 hours and sets a password.
// Users can be changed, deactivated (their API keys and sessions are revoked, for good: reactivation
// does not bring them back), reactivated and removed, except that the account always keeps at
// least one active administrator.
import { and, desc, eq, inArray, isNull, lt, ne, sql, type SQL } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import type { Tx } from '../../../db/client.ts';
import { accounts, partnerCustomers, sessions, users, userSecurity } from '../../../db/schema.ts';
import { newId } from '../../../db/ids.ts';
import { conflict, forbidden, invalidField, notFound, preconditionFailed } from '../../errors.ts';
import { hashPassword } from '../../passwords.ts';
import { ALL_PERMISSIONS, type Permission } from '../../permissions.ts';
import { toPage, type PageRequest } from '../../pagination.ts';
import { audit, type Transaction } from '../audit/service.ts';
import { markPasswordChanged } from '../security/service.ts';
import { assertMayGrant, assertMayManage } from './guard.ts';
import { consumeUserToken, inspectUserToken, issueUserToken } from './tokens.ts';
import { revokeUserApiKeys } from '../api-keys/service.ts';
import { SERVICES, type ManagedUser, type UserInvite, type UserUpdate } from './schemas.ts';
import { checkVersion } from '../../etag.ts';

type Row = typeof users.$inferSelect;
const USERS_LOCK = 0x55535253; // "USRS"

/** Stored and shown in the order of api/permissions.ts, whatever order they were given in. */
function canonicalPermissions(list: readonly string[]): Permission[] {
  return ALL_PERMISSIONS.filter((p) => list.includes(p));
}

export function serializeManagedUser(row: Row, twoFactor: boolean): ManagedUser {
  const admin = row.role === 'administrator';
  return {
    id: row.id,
    account_id: row.accountId,
    email: row.email,
    name: row.name,
    role: row.role,
    permissions: admin ? [...ALL_PERMISSIONS] : ALL_PERMISSIONS.filter((p) => row.permissions.includes(p)),
    services: admin ? [...SERVICES] : row.services.filter((s): s is (typeof SERVICES)[number] => (SERVICES as readonly string[]).includes(s)),
    state: row.state,
    two_factor_enabled: twoFactor,
    customer_ids: row.customerIds,
    email_confirmed_at: row.emailConfirmedAt?.toISOString() ?? null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

async function withTwoFactor(db: Tx, rows: Row[]): Promise<ManagedUser[]> {
  if (!rows.length) return [];
  const enabled = await db
    .select({ userId: userSecurity.userId })
    .from(userSecurity)
    .where(and(inArray(userSecurity.userId, rows.map((r) => r.id)), eq(userSecurity.totpState, 'enabled')));
  const on = new Set(enabled.map((e) => e.userId));
  return rows.map((r) => serializeManagedUser(r, on.has(r.id)));
}

async function one(db: Tx, row: Row) {
  return (await withTwoFactor(db, [row]))[0]!;
}

/** The emails of the account's active administrators (who get security notifications). */
export async function administratorEmails(db: Tx, accountId: string): Promise<string[]> {
  const rows = await db
    .select({ email: users.email })
    .from(users)
    .where(and(eq(users.accountId, accountId), eq(users.role, 'administrator'), eq(users.state, 'active')));
  return rows.map((r) => r.email);
}

function confirmationLink(deps: AppDeps, token: string) {
  return `${deps.config.publicUrl}/v1/users/confirm?token=${token}`;
}

async function sendConfirmation(deps: AppDeps, user: Row, token: string, invitedBy: string | null) {
  await deps.mailer.send({
    to: user.email,
    subject: 'Confirm your Coffer account',
    text: [
      `Hello${user.name ? ` ${user.name}` : ''},`,
      '',
      `${invitedBy ?? 'An administrator'} added you to a Coffer account. Confirm your email address and choose a password:`,
      '',
      confirmationLink(deps, token),
      '',
      'The link is valid for 24 hours. Open it to check it, then POST the token and your new password to /v1/users/confirm.',
      'If you did not expect this, ignore this message.',
    ].join('\n'),
  });
}

function isUniqueViolation(err: unknown) {
  return (err as { code?: string }).code === '23505' || (err as { cause?: { code?: string } }).cause?.code === '23505';
}

/**
 * A partner user's customers: only in a partner account (not while acting for a customer), only
 * the partner's own customers, and only within the caller's own reach (a user limited to some
 * customers cannot hand out the others, nor all of them).
 */
async function checkCustomerIds(deps: AppDeps, ctx: RequestContext, ids: readonly string[] | null | undefined) {
  if (ids === undefined) return;
  const [account] = await deps.db.select({ kind: accounts.kind }).from(accounts).where(eq(accounts.id, ctx.accountId));
  if (account?.kind !== 'partner' || ctx.partnerAccountId) throw invalidField('/body/customer_ids', 'only the users of a partner account act for customers');
  if (ctx.customerIds && (ids === null || ids.some((id) => !ctx.customerIds!.includes(id)))) {
    throw forbidden('cannot_grant', 'You can only give a user customers you may act for yourself.');
  }
  if (!ids?.length) return;
  const known = await deps.db.select({ id: partnerCustomers.customerAccountId }).from(partnerCustomers)
    .where(and(eq(partnerCustomers.partnerAccountId, ctx.accountId), inArray(partnerCustomers.customerAccountId, [...ids])));
  const missing = ids.findIndex((id) => !known.some((k) => k.id === id));
  if (missing >= 0) throw invalidField(`/body/customer_ids/${missing}`, `${ids[missing]} is not one of your customers`);
}

export async function inviteUser(deps: AppDeps, ctx: RequestContext, input: UserInvite) {
  assertMayGrant(ctx, input.role, input.permissions);
  await checkCustomerIds(deps, ctx, input.customer_ids);
  const now = deps.clock.now();
  const email = input.email.trim().toLowerCase();
  let created: { row: Row; token: string; inviter: string | null };
  try {
    created = await deps.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(users)
        .values({
          id: newId('usr'), accountId: ctx.accountId, email, name: input.name ?? null, role: input.role,
          permissions: input.role === 'administrator' ? [] : canonicalPermissions(input.permissions ?? []),
          services: input.services ?? [...SERVICES], customerIds: input.customer_ids ?? null, passwordHash: null, state: 'invited', createdAt: now, updatedAt: now,
        })
        .returning();
      const { token } = await issueUserToken(tx, { accountId: ctx.accountId, userId: row!.id }, 'confirm', now);
      const event = await audit(deps, ctx, {
        type: 'user_invited', task: email,
        description: `Invited ${email} as ${input.role === 'administrator' ? 'an administrator' : `a custom role (${(input.permissions ?? []).join(', ') || 'no permissions'})`}`,
        details: { user_id: row!.id, role: input.role, permissions: input.permissions ?? [], services: input.services ?? [...SERVICES] },
      }, tx);
      return { row: row!, token, inviter: event.performed_by };
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict('email_taken', 'A user with this email address already exists.');
    throw err;
  }
  await sendConfirmation(deps, created.row, created.token, created.inviter);
  return one(deps.db, created.row);
}

export async function resendConfirmation(deps: AppDeps, ctx: RequestContext, id: string) {
  const row = await find(deps.db, ctx, id);
  assertMayManage(ctx, row);
  if (row.state !== 'invited') throw conflict('not_invited', 'Only an invited user who has not confirmed yet can be sent a new confirmation.');
  const { token } = await deps.db.transaction((tx) => issueUserToken(tx, { accountId: ctx.accountId, userId: row.id }, 'confirm', deps.clock.now()));
  const [me] = await deps.db.select({ email: users.email }).from(users).where(eq(users.id, ctx.userId));
  await sendConfirmation(deps, row, token, me?.email ?? null);
  return one(deps.db, row);
}

export function inspectConfirmation(deps: AppDeps, token: string) {
  return inspectUserToken(deps, ['confirm'], token);
}

/** Public: the invited user sets a password with the emailed token and becomes active. */
export async function confirmUser(deps: AppDeps, input: { token: string; password: string }, meta: { ip: string; userAgent: string | undefined }) {
  const passwordHash = await hashPassword(input.password);
  const now = deps.clock.now();
  const row = await deps.db.transaction(async (tx) => {
    const { user } = await consumeUserToken(deps, tx, ['confirm'], input.token);
    if (user.state !== 'invited') throw conflict('not_invited', 'This user is not waiting for confirmation.');
    const [updated] = await tx
      .update(users)
      .set({ passwordHash, state: 'active', emailConfirmedAt: now, version: sql`${users.version} + 1`, updatedAt: now })
      .where(eq(users.id, user.id))
      .returning();
    await markPasswordChanged(tx, user, now);
    await audit(deps, user.accountId, {
      type: 'user_confirmed', task: user.email, description: `${user.email} confirmed their email address and set a password`,
      performedBy: { userId: user.id, email: user.email }, ip: meta.ip, userAgent: meta.userAgent ?? null,
    }, tx);
    return updated!;
  });
  return one(deps.db, row);
}

async function find(db: Tx, ctx: RequestContext, id: string): Promise<Row> {
  const [row] = await db.select().from(users).where(and(eq(users.accountId, ctx.accountId), eq(users.id, id)));
  if (!row) throw notFound('User', id);
  return row;
}

export async function listUsers(deps: AppDeps, ctx: RequestContext, page: PageRequest, filter: { state?: Row['state']; role?: Row['role'] }) {
  const where: (SQL | undefined)[] = [eq(users.accountId, ctx.accountId)];
  if (filter.state) where.push(eq(users.state, filter.state));
  if (filter.role) where.push(eq(users.role, filter.role));
  if (page.after) where.push(lt(users.id, page.after));
  const rows = await deps.db.select().from(users).where(and(...where)).orderBy(desc(users.id)).limit(page.limit + 1);
  const page_ = toPage(rows, page.limit, (r) => r);
  return { data: await withTwoFactor(deps.db, page_.data), next_cursor: page_.next_cursor };
}

export async function getUser(deps: AppDeps, ctx: RequestContext, id: string) {
  const row = await find(deps.db, ctx, id);
  return { user: await one(deps.db, row), version: row.version };
}

/** Inside a transaction holding the account's user lock: is there another active administrator? */
async function assertNotLastAdministrator(tx: Transaction, accountId: string, userId: string, what: string) {
  const [other] = await tx
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.accountId, accountId), eq(users.role, 'administrator'), eq(users.state, 'active'), ne(users.id, userId)))
    .limit(1);
  if (!other) throw conflict('last_administrator', `This is the account's last active administrator, who cannot be ${what}; make another user an administrator first.`);
}

async function lockUsers(tx: Transaction, accountId: string) {
  await tx.execute(sql`select pg_advisory_xact_lock(${USERS_LOCK}, hashtext(${accountId}))`);
}

export async function updateUser(deps: AppDeps, ctx: RequestContext, id: string, patch: UserUpdate, expected: number | undefined) {
  assertMayGrant(ctx, patch.role, patch.permissions);
  await checkCustomerIds(deps, ctx, patch.customer_ids);
  const row = await deps.db.transaction(async (tx) => {
    await lockUsers(tx, ctx.accountId);
    const current = await find(tx, ctx, id);
    assertMayManage(ctx, current);
    checkVersion(expected, current.version, `User ${id}`);
    const role = patch.role ?? current.role;
    if (current.role === 'administrator' && role !== 'administrator' && current.state === 'active') {
      await assertNotLastAdministrator(tx, ctx.accountId, id, 'demoted');
    }
    const permissions = role === 'administrator' ? [] : canonicalPermissions(patch.permissions ?? (current.role === 'administrator' ? [] : current.permissions));
    const [updated] = await tx
      .update(users)
      .set({
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        role, permissions,
        ...(patch.services !== undefined ? { services: patch.services } : {}),
        ...(patch.customer_ids !== undefined ? { customerIds: patch.customer_ids } : {}),
        version: current.version + 1, updatedAt: deps.clock.now(),
      })
      .where(and(eq(users.accountId, ctx.accountId), eq(users.id, id), eq(users.version, current.version)))
      .returning();
    if (!updated) throw preconditionFailed(`User ${id} changed while this request ran; fetch it again.`);
    const before = serializeManagedUser(current, false);
    const after = serializeManagedUser(updated, false);
    const permissionsChanged = before.role !== after.role || before.permissions.join() !== after.permissions.join() || before.services.join() !== after.services.join()
      || String(before.customer_ids) !== String(after.customer_ids);
    await audit(deps, ctx, {
      type: permissionsChanged ? 'permissions_changed' : 'user_updated', task: current.email,
      description: permissionsChanged
        ? `Permissions of ${current.email} changed: ${before.role} [${before.permissions.join(', ')}] → ${after.role} [${after.permissions.join(', ')}]`
        : `User ${current.email} updated`,
      details: {
        user_id: id,
        before: { role: before.role, permissions: before.permissions, services: before.services, name: before.name, customer_ids: before.customer_ids },
        after: { role: after.role, permissions: after.permissions, services: after.services, name: after.name, customer_ids: after.customer_ids },
      },
    }, tx);
    return updated;
  });
  return { user: await one(deps.db, row), version: row.version };
}

export async function deactivateUser(deps: AppDeps, ctx: RequestContext, id: string, expected: number | undefined) {
  const row = await deps.db.transaction(async (tx) => {
    await lockUsers(tx, ctx.accountId);
    const current = await find(tx, ctx, id);
    assertMayManage(ctx, current);
    checkVersion(expected, current.version, `User ${id}`);
    if (current.state === 'deactivated') return current;
    if (current.role === 'administrator' && current.state === 'active') await assertNotLastAdministrator(tx, ctx.accountId, id, 'deactivated');
    const now = deps.clock.now();
    const [updated] = await tx
      .update(users)
      .set({ state: 'deactivated', version: current.version + 1, updatedAt: now })
      .where(eq(users.id, id))
      .returning();
    await tx.update(sessions).set({ revokedAt: now }).where(and(eq(sessions.accountId, ctx.accountId), eq(sessions.userId, id), isNull(sessions.revokedAt)));
    // Revoked, not merely refused while inactive: reactivating the user must not revive keys that
    // were handed out (or leaked) before, so the user makes new ones.
    const keys = await revokeUserApiKeys(tx, ctx.accountId, id, now);
    await audit(deps, ctx, { type: 'user_deactivated', task: current.email, description: `User ${current.email} deactivated`, details: { user_id: id, api_keys_revoked: keys } }, tx);
    return updated!;
  });
  return { user: await one(deps.db, row), version: row.version };
}

export async function reactivateUser(deps: AppDeps, ctx: RequestContext, id: string, expected: number | undefined) {
  const row = await deps.db.transaction(async (tx) => {
    const current = await find(tx, ctx, id);
    assertMayManage(ctx, current);
    checkVersion(expected, current.version, `User ${id}`);
    if (current.state !== 'deactivated') return current;
    const state = current.passwordHash ? 'active' : 'invited';
    const [updated] = await tx
      .update(users)
      .set({ state, version: current.version + 1, updatedAt: deps.clock.now() })
      .where(eq(users.id, id))
      .returning();
    await audit(deps, ctx, { type: 'user_reactivated', task: current.email, description: `User ${current.email} reactivated (${state})`, details: { user_id: id } }, tx);
    return updated!;
  });
  return { user: await one(deps.db, row), version: row.version };
}

/** Removes the user with their API keys, sessions and tokens; the audit log keeps their email. */
export async function deleteUser(deps: AppDeps, ctx: RequestContext, id: string, expected: number | undefined) {
  await deps.db.transaction(async (tx) => {
    await lockUsers(tx, ctx.accountId);
    const current = await find(tx, ctx, id);
    assertMayManage(ctx, current);
    checkVersion(expected, current.version, `User ${id}`);
    if (current.role === 'administrator' && current.state === 'active') await assertNotLastAdministrator(tx, ctx.accountId, id, 'removed');
    await tx.delete(users).where(and(eq(users.accountId, ctx.accountId), eq(users.id, id)));
    await audit(deps, ctx, { type: 'user_deleted', task: current.email, description: `User ${current.email} removed`, details: { user_id: id } }, tx);
  });
}
