// Partners across two API processes (test/helpers/peer.ts): a key a partner minted in a customer's
// account is cached under the customer; what changes the partner's reach on replica A (the
// customer's revocation, the partner user's customers, its deactivation) applies on replica B.
import t, { type Test } from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { startPeer, untilRefused } from '../helpers/peer.ts';
import { signUpPartner } from '../helpers/partners.ts';

async function setUp(t: Test) {
  const api = await startTestApp(t);
  const b = await startPeer(t, api);
  const partner = await signUpPartner(api);
  const customer = await api.request('POST', '/v1/customers', { key: partner.key, body: { name: 'Clinic', region: 'eu-west-1', billing: 'partner' } });
  const minted = await api.request('POST', `/v1/customers/${customer.body.id}/api-keys`, { key: partner.key, body: { name: 'tool', scopes: ['backups:read'] } });
  t.equal((await b.request('GET', '/v1/tags', { key: minted.body.secret })).status, 200, 'B has cached the minted key');
  return { api, b, partner, customerId: customer.body.id as string, secret: minted.body.secret as string };
}

t.test('attack: a minted key keeps working on the replica that cached it after the customer withdrew the partner\'s access', async (t) => {
  const { api, b, customerId, secret } = await setUp(t);
  await api.database.sql`update partner_customers set revoked_at = now() where customer_account_id = ${customerId}`;
  const refused = await untilRefused(() => b.request('GET', '/v1/tags', { key: secret }));
  t.equal(refused.status, 403);
  t.equal(refused.body.code, 'access_revoked');
});

t.test('attack: a minted key keeps working on another replica after its partner user lost that customer', async (t) => {
  const { api, b, partner, secret } = await setUp(t);
  const limited = await api.request('PATCH', `/v1/users/${partner.userId}`, { key: partner.key, body: { customer_ids: [] } });
  t.equal(limited.status, 200, limited.text);
  const refused = await untilRefused(() => b.request('GET', '/v1/tags', { key: secret }));
  t.equal(refused.status, 401);
  t.equal(refused.body.code, 'api_key_revoked');
});
