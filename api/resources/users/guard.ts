// Who may act on whom. A permission says which operations a caller may use; it must not let them
// reach above themselves. `users:manage` alone would otherwise demote an administrator, revoke
// their keys or hand out permissions its holder lacks, and `security:manage` alone would swap the
// identity provider and sign in as anyone: the route's permission is necessary, and these checks
// make it sufficient only towards users no more privileged than the caller.
import { and, eq } from 'drizzle-orm';
import type { RequestContext } from '../../context.ts';
import type { Tx } from '../../../db/client.ts';
import { users } from '../../../db/schema.ts';
import { forbidden } from '../../errors.ts';
import { isPermission, type Permission } from '../../permissions.ts';

/** Refuses the request unless the caller is an administrator of the account. */
export function assertAdministrator(ctx: RequestContext, what: string) {
  if (ctx.role !== 'administrator') throw forbidden('administrator_required', `Only an administrator can ${what}.`);
}

/** What the caller may hand out: only permissions they hold, and the administrator role only as an administrator. */
export function assertMayGrant(ctx: RequestContext, role: 'administrator' | 'custom' | undefined, permissions: readonly Permission[] | undefined) {
  if (role === 'administrator' && ctx.role !== 'administrator') throw forbidden('cannot_grant', 'Only an administrator can make a user an administrator.');
  const missing = (permissions ?? []).find((p) => !ctx.permissions.has(p));
  if (missing) throw forbidden('cannot_grant', `You cannot grant \`${missing}\`, which you do not hold.`);
}

/**
 * The caller may change, deactivate, remove (or touch the keys of) this user only if the user is
 * no more privileged: an administrator only by an administrator, a custom user only by a caller
 * holding every permission that user holds. Acting on oneself is always allowed here (the
 * last-administrator rule still applies elsewhere).
 */
export function assertMayManage(ctx: RequestContext, target: { id: string; role: string; permissions: readonly string[] }) {
  // A partner acting for its customer never reaches the customer's own administrators: they must
  // always be able to withdraw the partner's access (DELETE /v1/account/partner).
  if (ctx.partnerAccountId && target.role === 'administrator') {
    throw forbidden('administrator_required', 'Only the account\'s own administrators can change an administrator, their keys or their sessions; a partner cannot.');
  }
  if (target.id === ctx.userId) return;
  if (target.role === 'administrator') assertAdministrator(ctx, 'change an administrator, their keys or their sessions');
  const above = target.permissions.filter(isPermission).find((p) => !ctx.permissions.has(p));
  if (above) throw forbidden('cannot_manage', `This user holds \`${above}\`, which you do not: only someone holding every permission of a user can manage them.`);
}

/** assertMayManage for a user known by id (in the caller's account). */
export async function assertMayManageUser(db: Tx, ctx: RequestContext, userId: string) {
  if (userId === ctx.userId) return;
  const [target] = await db
    .select({ id: users.id, role: users.role, permissions: users.permissions })
    .from(users)
    .where(and(eq(users.accountId, ctx.accountId), eq(users.id, userId)));
  if (target) assertMayManage(ctx, target);
}
