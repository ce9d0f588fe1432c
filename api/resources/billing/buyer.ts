// Who an invoice is addressed to (the billing details, else the account) and where billing mail goes.
import { eq } from 'drizzle-orm';
import type { Tx } from '../../../db/client.ts';
import { accounts } from '../../../db/schema.ts';
import { billingDetails, type BuyerSnapshot } from '../../../db/schema/billing.ts';
import { notFound } from '../../errors.ts';

type DetailsRow = typeof billingDetails.$inferSelect;

export function buyerOf(details: DetailsRow | undefined, account: { name: string; email: string }): BuyerSnapshot {
  if (!details) return { company_name: account.name, name: account.name, email: account.email, address: [], tax_id: null };
  const cityLine = [details.zip, details.city, details.state].filter(Boolean).join(' ');
  return {
    company_name: details.companyName,
    name: [details.title, details.firstName, details.lastName].filter(Boolean).join(' '),
    email: details.email,
    address: [details.addressLine1, details.addressLine2, details.addressLine3, cityLine, details.country].filter((x): x is string => !!x),
    tax_id: details.companyTaxId,
  };
}

export async function accountAndDetails(db: Tx, accountId: string) {
  const [row] = await db
    .select({ account: accounts, details: billingDetails })
    .from(accounts)
    .leftJoin(billingDetails, eq(billingDetails.accountId, accounts.id))
    .where(eq(accounts.id, accountId));
  if (!row) throw notFound('Account', accountId);
  return { account: row.account, details: row.details ?? undefined };
}

/** Where billing mail goes: the billing email of the details, else the account's email. */
export async function billingEmail(db: Tx, accountId: string): Promise<{ to: string; delivery: 'link' | 'attachment' }> {
  const { account, details } = await accountAndDetails(db, accountId);
  return { to: details?.email ?? account.email, delivery: details?.invoiceDelivery ?? 'attachment' };
}
