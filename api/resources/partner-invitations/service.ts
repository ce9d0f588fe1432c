// Partner invitations and the customer's side of a partner link. Only an administrator of the
// invited account may accept or decline, and only in its own right (a partner acting for an account
// cannot accept on its behalf, nor revoke). An unknown account, a partner account, or an email
// that is no administrator's are one 404 `account_not_found`, so invitations cannot probe.
import { and, desc, eq, gt, lt, lte, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { accounts, partnerCustomers, partnerInvitations, users } from '../../../db/schema.ts';
import { newId } from '../../../db/ids.ts';
import { ApiError, badRequest, conflict, forbidden, notFound } from '../../errors.ts';
import { toPage, type PageRequest } from '../../pagination.ts';
import { audit } from '../audit/service.ts';
import { assertAdministrator } from '../users/guard.ts';
import { administratorEmails } from '../users/service.ts';
import { assertPartner } from '../customers/service.ts';
import type { PartnerInvitation, PartnerInvitationCreate } from './schemas.ts';

export const INVITATION_TTL_MS = 14 * 86_400_000;

type Row = typeof partnerInvitations.$inferSelect;
const partner = alias(accounts, 'partner');
const customer = alias(accounts, 'customer');

function serialize(row: Row, partnerName: string, customerName: string, now: Date): PartnerInvitation {
  const expired = row.state === 'pending' && row.expiresAt <= now;
  return {
    id: row.id,
    partner_account_id: row.partnerAccountId,
    partner_name: partnerName,
    customer_account_id: row.customerAccountId,
    customer_name: customerName,
    billing: row.billing,
    state: expired ? 'expired' : row.state,
    created_at: row.createdAt.toISOString(),
    expires_at: row.expiresAt.toISOString(),
    decided_at: row.decidedAt?.toISOString() ?? null,
  };
}

const select = (deps: AppDeps) => deps.db
  .select({ row: partnerInvitations, partnerName: partner.name, customerName: customer.name })
  .from(partnerInvitations)
  .innerJoin(partner, eq(partner.id, partnerInvitations.partnerAccountId))
  .innerJoin(customer, eq(customer.id, partnerInvitations.customerAccountId));

const accountNotFound = () => new ApiError(404, 'account_not_found', 'Not Found', 'No account that can be invited matches; check the account id or the administrator\'s email.');

/** Only the account's own administrator, in the account's own right. */
function assertOwnAdministrator(ctx: RequestContext, what: string) {
  if (ctx.partnerAccountId) throw forbidden('administrator_required', `Only an administrator of the account itself can ${what}; a partner cannot do it on the account's behalf.`);
  assertAdministrator(ctx, what);
}

async function target(deps: AppDeps, input: PartnerInvitationCreate): Promise<typeof accounts.$inferSelect> {
  if ((input.account_id === undefined) === (input.admin_email === undefined)) {
    throw badRequest('validation_failed', 'Give either `account_id` or `admin_email`.', [{ pointer: '/body', detail: 'exactly one of account_id and admin_email' }]);
  }
  let accountId = input.account_id;
  if (input.admin_email) {
    const [admin] = await deps.db.select({ accountId: users.accountId }).from(users)
      .where(and(sql`lower(${users.email}) = ${input.admin_email.trim().toLowerCase()}`, eq(users.role, 'administrator'), eq(users.state, 'active')));
    accountId = admin?.accountId;
  }
  const [row] = accountId ? await deps.db.select().from(accounts).where(eq(accounts.id, accountId)) : [];
  if (!row || row.kind !== 'standard') throw accountNotFound();
  return row;
}

export async function invite(deps: AppDeps, ctx: RequestContext, input: PartnerInvitationCreate): Promise<PartnerInvitation> {
  const me = await assertPartner(deps, ctx);
  const invited = await target(deps, input);
  const [link] = await deps.db.select().from(partnerCustomers).where(eq(partnerCustomers.customerAccountId, invited.id));
  if (link && link.partnerAccountId === ctx.accountId && !link.revokedAt) throw conflict('already_customer', `Account ${invited.id} is your customer already.`);
  const now = deps.clock.now();
  const row = await deps.db.transaction(async (tx) => {
    const [row] = await tx.insert(partnerInvitations).values({
      id: newId('pinv'), partnerAccountId: ctx.accountId, customerAccountId: invited.id, billing: input.billing, state: 'pending',
      invitedBy: ctx.userId, createdAt: now, expiresAt: new Date(now.getTime() + INVITATION_TTL_MS),
    }).returning();
    await audit(deps, ctx, {
      type: 'partner_invited', description: `Invited account "${invited.name}" (${invited.id}) to be managed by this partner (billing: ${input.billing})`,
      details: { invitation_id: row!.id, customer_account_id: invited.id, billing: input.billing },
    }, tx);
    return row!;
  });
  const to = await administratorEmails(deps.db, invited.id);
  if (to.length) {
    await deps.mailer.send({
      to,
      subject: `${me.name} asks to manage your Coffer account`,
      text: [
        `The partner "${me.name}" asks to manage the Coffer account "${invited.name}": to see and change its backups, settings and users on your behalf${input.billing === 'partner' ? ', and to be invoiced for it' : ''}.`,
        '',
        `An administrator of the account can accept (POST /v1/account/partner-invitations/${row.id}/accept) or decline it until ${row.expiresAt.toISOString()}.`,
        'After accepting, you can withdraw the partner\'s access at any time (DELETE /v1/account/partner).',
      ].join('\n'),
    });
  }
  return serialize(row, me.name, invited.name, now);
}

export async function listSent(deps: AppDeps, ctx: RequestContext, page: PageRequest, state: PartnerInvitation['state'] | undefined) {
  await assertPartner(deps, ctx);
  return list(deps, eq(partnerInvitations.partnerAccountId, ctx.accountId), page, state);
}

export async function listReceived(deps: AppDeps, ctx: RequestContext, page: PageRequest, state: PartnerInvitation['state'] | undefined) {
  assertOwnAdministrator(ctx, 'see the account\'s partner invitations');
  return list(deps, eq(partnerInvitations.customerAccountId, ctx.accountId), page, state);
}

async function list(deps: AppDeps, scope: SQL, page: PageRequest, state: PartnerInvitation['state'] | undefined) {
  const now = deps.clock.now();
  const where: (SQL | undefined)[] = [scope];
  if (state === 'expired') where.push(eq(partnerInvitations.state, 'pending'), lte(partnerInvitations.expiresAt, now));
  else if (state === 'pending') where.push(eq(partnerInvitations.state, 'pending'), gt(partnerInvitations.expiresAt, now));
  else if (state) where.push(eq(partnerInvitations.state, state));
  if (page.after) where.push(lt(partnerInvitations.id, page.after));
  const rows = await select(deps).where(and(...where)).orderBy(desc(partnerInvitations.id)).limit(page.limit + 1);
  return toPage(rows.map((r) => ({ ...r, id: r.row.id })), page.limit, (r) => serialize(r.row, r.partnerName, r.customerName, now));
}

async function findPending(deps: AppDeps, scope: SQL, id: string) {
  const [found] = await select(deps).where(and(scope, eq(partnerInvitations.id, id)));
  if (!found) throw notFound('Partner invitation', id);
  if (found.row.state !== 'pending') throw conflict('invitation_not_pending', `This invitation is ${found.row.state} already.`);
  if (found.row.expiresAt <= deps.clock.now()) throw new ApiError(410, 'invitation_expired', 'Gone', 'This invitation has expired; the partner can send a new one.');
  return found;
}

export async function cancel(deps: AppDeps, ctx: RequestContext, id: string): Promise<PartnerInvitation> {
  await assertPartner(deps, ctx);
  const found = await findPending(deps, eq(partnerInvitations.partnerAccountId, ctx.accountId), id);
  return decide(deps, ctx, found, 'cancelled');
}

export async function accept(deps: AppDeps, ctx: RequestContext, id: string): Promise<PartnerInvitation> {
  assertOwnAdministrator(ctx, 'accept a partner invitation');
  const found = await findPending(deps, eq(partnerInvitations.customerAccountId, ctx.accountId), id);
  return decide(deps, ctx, found, 'accepted');
}

export async function decline(deps: AppDeps, ctx: RequestContext, id: string): Promise<PartnerInvitation> {
  assertOwnAdministrator(ctx, 'decline a partner invitation');
  const found = await findPending(deps, eq(partnerInvitations.customerAccountId, ctx.accountId), id);
  return decide(deps, ctx, found, 'declined');
}

type Found = Awaited<ReturnType<typeof findPending>>;

async function decide(deps: AppDeps, ctx: RequestContext, found: Found, state: 'accepted' | 'declined' | 'cancelled') {
  const now = deps.clock.now();
  const { row: inv } = found;
  const updated = await deps.db.transaction(async (tx) => {
    const [updated] = await tx.update(partnerInvitations).set({ state, decidedAt: now, decidedBy: ctx.userId })
      .where(and(eq(partnerInvitations.id, inv.id), eq(partnerInvitations.state, 'pending'))).returning();
    if (!updated) throw conflict('invitation_not_pending', 'This invitation was decided meanwhile.');
    if (state === 'accepted') {
      await tx.execute(sql`select 1 from ${partnerCustomers} where ${partnerCustomers.customerAccountId} = ${inv.customerAccountId} for update`);
      const [link] = await tx.select().from(partnerCustomers).where(eq(partnerCustomers.customerAccountId, inv.customerAccountId));
      if (link && !link.revokedAt && link.partnerAccountId !== inv.partnerAccountId) {
        throw conflict('already_managed', 'This account is managed by another partner; withdraw that partner\'s access first (DELETE /v1/account/partner).');
      }
      const values = { partnerAccountId: inv.partnerAccountId, billing: inv.billing, createdAt: now, revokedAt: null, revokedBy: null };
      await tx.insert(partnerCustomers).values({ customerAccountId: inv.customerAccountId, ...values })
        .onConflictDoUpdate({ target: partnerCustomers.customerAccountId, set: values });
    }
    const description = `Partner invitation ${inv.id} from "${found.partnerName}" for "${found.customerName}" ${state}`;
    const details = { invitation_id: inv.id, partner_account_id: inv.partnerAccountId, customer_account_id: inv.customerAccountId, billing: inv.billing };
    const type = `partner_invitation_${state}`;
    // Each side's log records the decision.
    await audit(deps, ctx, { type, description, details }, tx);
    const other = ctx.accountId === inv.partnerAccountId ? inv.customerAccountId : inv.partnerAccountId;
    await audit(deps, other, { type, description, details, performedBy: null, ip: ctx.ip, userAgent: ctx.userAgent ?? null }, tx);
    return updated;
  });
  return serialize(updated, found.partnerName, found.customerName, now);
}

/** DELETE /v1/account/partner: the customer's administrator withdraws the partner's access, at once. */
export async function revokePartner(deps: AppDeps, ctx: RequestContext) {
  assertOwnAdministrator(ctx, 'withdraw the partner\'s access');
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const [link] = await tx.update(partnerCustomers).set({ revokedAt: now, revokedBy: ctx.userId })
      .where(and(eq(partnerCustomers.customerAccountId, ctx.accountId), sql`${partnerCustomers.revokedAt} is null`)).returning();
    if (!link) throw notFound('Partner');
    const [p] = await tx.select({ name: accounts.name }).from(accounts).where(eq(accounts.id, link.partnerAccountId));
    const description = `Access of the partner "${p?.name ?? link.partnerAccountId}" withdrawn by the account's administrator`;
    const details = { partner_account_id: link.partnerAccountId, customer_account_id: ctx.accountId };
    await audit(deps, ctx, { type: 'partner_access_revoked', description, details }, tx);
    await audit(deps, link.partnerAccountId, { type: 'partner_access_revoked', description: `${description} (customer ${ctx.accountId})`, details, performedBy: null, ip: ctx.ip, userAgent: ctx.userAgent ?? null }, tx);
    return {
      account_id: link.partnerAccountId, name: p?.name ?? '', billing: link.billing,
      since: link.createdAt.toISOString(), revoked_at: link.revokedAt!.toISOString(),
    };
  });
}
