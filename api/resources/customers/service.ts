// A partner's customers. Only a partner account has them (403 `not_a_partner` otherwise), a partner
// user limited to some customers (users.customer_ids) sees only those, and another partner's
// customer is a 404 like any other tenant's row. What the partner does inside a customer's account
// runs with a context for that account (customerContext), so it is audited in both logs.
import { and, desc, eq, ilike, isNotNull, isNull, lt, sql, type SQL } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { accounts, partnerCustomers, users } from '../../../db/schema.ts';
import { newId } from '../../../db/ids.ts';
import { conflict, forbidden, invalidField, notFound, preconditionFailed } from '../../errors.ts';
import { toCsv } from '../../csv.ts';
import { REGION_IDS } from '../../regions.ts';
import { toPage, type PageRequest } from '../../pagination.ts';
import { audit } from '../audit/service.ts';
import { TRIAL_DAYS } from '../accounts/service.ts';
import { requestRemoval } from '../accounts/lifecycle-service.ts';
import { issueApiKey } from '../api-keys/service.ts';
import type { ApiKeyCreate } from '../api-keys/schemas.ts';
import { inviteUser } from '../users/service.ts';
import { assertMayGrant } from '../users/guard.ts';
import type { Customer, CustomerCreate, CustomerUpdate } from './schemas.ts';

type AccountRow = typeof accounts.$inferSelect;
type LinkRow = typeof partnerCustomers.$inferSelect;

export const notAPartner = () =>
  forbidden('not_a_partner', 'Only a partner account manages customers (sign up with `"kind": "partner"`); a partner acting for a customer sends this without the Coffer-Account header.');

/** The caller's account, which must be a partner's. */
export async function assertPartner(deps: AppDeps, ctx: RequestContext): Promise<AccountRow> {
  const [row] = await deps.db.select().from(accounts).where(eq(accounts.id, ctx.accountId));
  if (!row || row.kind !== 'partner' || ctx.partnerAccountId) throw notAPartner();
  return row;
}

export function serializeCustomer(account: AccountRow, link: LinkRow): Customer {
  return {
    id: account.id,
    name: account.name,
    email: account.email,
    region: account.region,
    state: account.state,
    billing: link.billing,
    since: link.createdAt.toISOString(),
    revoked_at: link.revokedAt?.toISOString() ?? null,
    purge_time: account.purgeAt?.toISOString() ?? null,
    created_at: account.createdAt.toISOString(),
  };
}

/** The partner acting in its customer's account: what it does there is audited in both logs. */
export function customerContext(ctx: RequestContext, customer: AccountRow): RequestContext {
  return { ...ctx, accountId: customer.id, partnerAccountId: ctx.accountId, accountState: customer.state };
}

/** The partner's customers this user may see. */
function reach(ctx: RequestContext): SQL[] {
  const where = [eq(partnerCustomers.partnerAccountId, ctx.accountId)];
  if (ctx.customerIds) where.push(sql`${partnerCustomers.customerAccountId} = any(${sql.param([...ctx.customerIds])}::text[])`);
  return where;
}

async function find(deps: AppDeps, ctx: RequestContext, id: string) {
  await assertPartner(deps, ctx);
  const [row] = await deps.db
    .select({ account: accounts, link: partnerCustomers })
    .from(partnerCustomers)
    .innerJoin(accounts, eq(accounts.id, partnerCustomers.customerAccountId))
    .where(and(...reach(ctx), eq(partnerCustomers.customerAccountId, id)));
  if (!row) throw notFound('Customer', id);
  return row;
}

/** A customer the partner may still act for (its access not revoked). */
async function findManaged(deps: AppDeps, ctx: RequestContext, id: string) {
  const row = await find(deps, ctx, id);
  if (row.link.revokedAt) throw forbidden('access_revoked', `The administrator of account ${id} has withdrawn your access to it.`);
  return row;
}

export async function createCustomer(deps: AppDeps, ctx: RequestContext, input: CustomerCreate): Promise<Customer> {
  const partner = await assertPartner(deps, ctx);
  if (!REGION_IDS.has(input.region)) throw invalidField('/body/region', `unknown region "${input.region}"; see GET /v1/regions`);
  const email = input.admin_email?.trim().toLowerCase();
  if (email) {
    assertMayGrant(ctx, 'administrator', undefined);
    const [taken] = await deps.db.select({ id: users.id }).from(users).where(sql`lower(${users.email}) = ${email}`);
    if (taken) throw conflict('email_taken', 'A user with this email address already exists: invite that user\'s account instead (POST /v1/partner-invitations).');
  }
  const now = deps.clock.now();
  const created = await deps.db.transaction(async (tx) => {
    const [account] = await tx.insert(accounts).values({
      id: newId('acct'), name: input.name, email: email ?? partner.email, region: input.region, kind: 'standard', state: 'trial',
      trialEndsAt: new Date(now.getTime() + TRIAL_DAYS * 86_400_000), createdAt: now, updatedAt: now,
    }).returning();
    const [link] = await tx.insert(partnerCustomers).values({ customerAccountId: account!.id, partnerAccountId: ctx.accountId, billing: input.billing, createdAt: now }).returning();
    await audit(deps, customerContext(ctx, account!), {
      type: 'customer_created', description: `Account "${account!.name}" created by the partner "${partner.name}" (billing: ${input.billing})`,
      details: { customer_account_id: account!.id, billing: input.billing, region: input.region },
    }, tx);
    return { account: account!, link: link! };
  });
  if (email) await inviteUser(deps, customerContext(ctx, created.account), { email, role: 'administrator' });
  return serializeCustomer(created.account, created.link);
}

export interface CustomerFilter {
  name?: string;
  region?: string;
  access?: 'active' | 'revoked';
}

/** The filters of GET /v1/customers (a health filter joins here once health roll-ups exist). */
function conditions(ctx: RequestContext, filter: CustomerFilter): (SQL | undefined)[] {
  const where: (SQL | undefined)[] = [...reach(ctx)];
  if (filter.name) where.push(ilike(accounts.name, `%${filter.name.replace(/[\\%_]/g, (c) => `\\${c}`)}%`));
  if (filter.region) where.push(eq(accounts.region, filter.region));
  if (filter.access === 'active') where.push(isNull(partnerCustomers.revokedAt));
  if (filter.access === 'revoked') where.push(isNotNull(partnerCustomers.revokedAt));
  return where;
}

export async function listCustomers(deps: AppDeps, ctx: RequestContext, page: PageRequest, filter: CustomerFilter) {
  await assertPartner(deps, ctx);
  const where = conditions(ctx, filter);
  if (page.after) where.push(lt(partnerCustomers.customerAccountId, page.after));
  const rows = await deps.db
    .select({ id: partnerCustomers.customerAccountId, account: accounts, link: partnerCustomers })
    .from(partnerCustomers)
    .innerJoin(accounts, eq(accounts.id, partnerCustomers.customerAccountId))
    .where(and(...where))
    .orderBy(desc(partnerCustomers.customerAccountId))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, (r) => serializeCustomer(r.account, r.link));
}

export const CSV_MAX_ROWS = 100_000;
export const CSV_COLUMNS = ['id', 'name', 'email', 'region', 'state', 'billing', 'since', 'revoked_at', 'purge_time', 'created_at'] as const;

export async function exportCustomersCsv(deps: AppDeps, ctx: RequestContext, filter: CustomerFilter): Promise<string> {
  await assertPartner(deps, ctx);
  const rows = await deps.db
    .select({ account: accounts, link: partnerCustomers })
    .from(partnerCustomers)
    .innerJoin(accounts, eq(accounts.id, partnerCustomers.customerAccountId))
    .where(and(...conditions(ctx, filter)))
    .orderBy(desc(partnerCustomers.customerAccountId))
    .limit(CSV_MAX_ROWS);
  return toCsv(rows.map((r) => {
    const c = serializeCustomer(r.account, r.link);
    return CSV_COLUMNS.map((k) => c[k] ?? '');
  }), { columns: [...CSV_COLUMNS] });
}

/** The customer with its version (the account's, which every change of the customer bumps) for the ETag. */
export async function getCustomer(deps: AppDeps, ctx: RequestContext, id: string) {
  const row = await find(deps, ctx, id);
  return { customer: serializeCustomer(row.account, row.link), version: row.account.version };
}

export async function updateCustomer(deps: AppDeps, ctx: RequestContext, id: string, patch: CustomerUpdate, expected: number | undefined) {
  const current = await findManaged(deps, ctx, id);
  if (expected !== undefined && expected !== current.account.version) throw preconditionFailed(`Customer ${id} is at version ${current.account.version}.`);
  const now = deps.clock.now();
  const updated = await deps.db.transaction(async (tx) => {
    const [account] = await tx
      .update(accounts).set({ ...(patch.name !== undefined ? { name: patch.name } : {}), version: sql`${accounts.version} + 1`, updatedAt: now })
      .where(and(eq(accounts.id, id), eq(accounts.version, current.account.version))).returning();
    if (!account) throw preconditionFailed(`Customer ${id} changed while this request ran; fetch it again.`);
    const [link] = patch.billing === undefined || patch.billing === current.link.billing ? [current.link] : await tx
      .update(partnerCustomers).set({ billing: patch.billing }).where(eq(partnerCustomers.customerAccountId, id)).returning();
    const before = { name: current.account.name, billing: current.link.billing };
    const after = { name: account!.name, billing: link!.billing };
    await audit(deps, customerContext(ctx, current.account), {
      type: 'customer_updated', description: `Customer settings changed by the partner: ${JSON.stringify(before)} → ${JSON.stringify(after)}`,
      details: { customer_account_id: id, before, after },
    }, tx);
    return { account, link: link! };
  });
  return { customer: serializeCustomer(updated.account, updated.link), version: updated.account.version };
}

/** The account-removal grace period of POST /v1/account/removal, started by the partner. */
export async function removeCustomer(deps: AppDeps, ctx: RequestContext, id: string, approved: boolean): Promise<Customer> {
  const current = await findManaged(deps, ctx, id);
  await requestRemoval(deps, customerContext(ctx, current.account), { approve_data_removal: approved });
  return (await getCustomer(deps, ctx, id)).customer;
}

/** A key living in the customer's account, held by the partner user who mints it (POST /v1/customers/{id}/api-keys). */
export async function createCustomerApiKey(deps: AppDeps, ctx: RequestContext, id: string, input: ApiKeyCreate) {
  const current = await findManaged(deps, ctx, id);
  if (!ctx.permissions.has('api_keys:manage')) throw forbidden('permission_denied', 'This operation needs the `api_keys:manage` permission.');
  const acting = customerContext(ctx, current.account);
  return deps.db.transaction(async (tx) => {
    const key = await issueApiKey(tx, { accountId: id, userId: ctx.userId, held: ctx.permissions }, input, deps.clock.now());
    await audit(deps, acting, {
      type: 'api_key_created', description: `API key "${key.name}" (${key.prefix}…) created by the partner in this account`,
      details: { api_key_id: key.id, scopes: key.scopes, expires_at: key.expires_at, before: null, after: { name: key.name, prefix: key.prefix, scopes: key.scopes, expires_at: key.expires_at } },
    }, tx);
    return key;
  });
}
