// Partners seeded straight into the database: an account made a partner and customer links, as
// the partner sign-up and POST /v1/customers will make them. Tests of the roll-ups use these until
// those routes exist; then they can sign partners up and create customers through the API.
import type { PartnerBilling } from '../../db/schema/partners.ts';
import type { SignedUp, TestApp } from './app.ts';

export async function makePartner(app: TestApp, accountId: string): Promise<void> {
  await app.deps.sql`update accounts set kind = 'partner' where id = ${accountId}`;
}

export async function linkCustomer(app: TestApp, partnerId: string, customerId: string, billing: PartnerBilling = 'partner'): Promise<void> {
  await app.deps.sql`insert into partner_customers (partner_account_id, customer_account_id, billing) values (${partnerId}, ${customerId}, ${billing})`;
}

export async function revokeCustomer(app: TestApp, customerId: string): Promise<void> {
  await app.deps.sql`update partner_customers set revoked_at = ${app.clock.now().toISOString()} where customer_account_id = ${customerId}`;
}

// Helpers of the partners-*.test.ts files (acting for a customer with the Coffer-Account header).

export const PASSWORD = 'correct horse battery staple';

export async function signUpPartner(api: TestApp, name = 'MSP'): Promise<SignedUp> {
  return api.signUp({ name, kind: 'partner' });
}

/** Brings an existing account under the partner, as an accepted invitation does. */
export async function link(api: TestApp, partner: SignedUp, customer: SignedUp, billing: PartnerBilling = 'partner') {
  await linkCustomer(api, partner.accountId, customer.accountId, billing);
}

/** A request of the partner's credential acting for `account` (the Coffer-Account header). */
export function actingFor(api: TestApp, key: string, account: string) {
  return (method: string, path: string, body?: unknown) => api.request(method, path, { key, body, headers: { 'coffer-account': account } });
}
