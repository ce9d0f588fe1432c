// Partners seeded straight into the database: an account made a partner and customer links, as
// the partner sign-up and POST /v1/customers will make them. Tests of the roll-ups use these until
// those routes exist; then they can sign partners up and create customers through the API.
import type { PartnerBilling } from '../../db/schema/partners.ts';
import type { TestApp } from './app.ts';

export async function makePartner(app: TestApp, accountId: string): Promise<void> {
  await app.deps.sql`update accounts set kind = 'partner' where id = ${accountId}`;
}

export async function linkCustomer(app: TestApp, partnerId: string, customerId: string, billing: PartnerBilling = 'partner'): Promise<void> {
  await app.deps.sql`insert into partner_customers (partner_account_id, customer_account_id, billing) values (${partnerId}, ${customerId}, ${billing})`;
}

export async function revokeCustomer(app: TestApp, customerId: string): Promise<void> {
  await app.deps.sql`update partner_customers set revoked_at = ${app.clock.now().toISOString()} where customer_account_id = ${customerId}`;
}
