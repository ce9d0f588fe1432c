// Who a partner roll-up covers: the caller must be a partner account, and its customers are the
// accounts linked to it whose administrators have not revoked its access. One query each.
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { forbidden } from '../../errors.ts';
import { containsPattern } from '../../../db/like.ts';
import type { AccountState } from '../../../db/schema/accounts.ts';
import type { PartnerBilling } from '../../../db/schema/partners.ts';

export interface CustomerRow {
  id: string;
  name: string;
  region: string;
  state: AccountState;
  billing: PartnerBilling;
}

/** 403 `not_a_partner` unless the account the request runs in is a partner. */
export async function requirePartner(deps: AppDeps, ctx: RequestContext): Promise<void> {
  const [row] = await deps.sql<{ kind: string }[]>`select kind from accounts where id = ${ctx.accountId}`;
  if (row?.kind !== 'partner') throw forbidden('not_a_partner', 'Only a partner account has customers; this account is a standard one.');
}

/** The partner's current customers (revoked ones left out), by account id, optionally filtered by name substring and region. */
export async function customersOf(deps: AppDeps, ctx: RequestContext, filter: { name?: string; region?: string } = {}): Promise<CustomerRow[]> {
  const { sql } = deps;
  const name = filter.name ? sql`and a.name ilike ${containsPattern(filter.name)}` : sql``;
  const region = filter.region ? sql`and a.region = ${filter.region}` : sql``;
  return sql<CustomerRow[]>`
    select a.id, a.name, a.region, a.state, pc.billing
    from partner_customers pc join accounts a on a.id = pc.customer_account_id
    where pc.partner_account_id = ${ctx.accountId} and pc.revoked_at is null ${name} ${region}
    order by a.id`;
}
