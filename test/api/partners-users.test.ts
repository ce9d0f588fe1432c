// Partner users limited to some customers (customer_ids on POST/PATCH /v1/users).
import t from 'tap';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { actingFor, signUpPartner } from '../helpers/partners.ts';
import { issueApiKey } from '../../api/resources/api-keys/service.ts';
import type { Permission } from '../../api/permissions.ts';

/** A custom user of the partner with the given permissions and customers, and a key of theirs. */
async function partnerUser(api: TestApp, accountId: string, email: string, permissions: Permission[], customerIds: string[] | null) {
  const [user] = await api.database.sql`insert into users (id, account_id, email, role, permissions, customer_ids, state, password_hash)
    values (${`usr_01jd8x4z3q9v6w2k5m7n0p${email.length.toString().padStart(2, '0')}zz`}, ${accountId}, ${email}, 'custom', ${permissions}, ${customerIds}, 'active', 'x') returning id`;
  return api.deps.db.transaction((tx) => issueApiKey(tx, { accountId, userId: user!.id, held: new Set(permissions) }, { name: email }, api.clock.now()));
}

t.test('customer_ids limit a partner user to those customers; only a partner\'s own customers, within the caller\'s reach', async (t) => {
  const api = await startTestApp(t);
  const partner = await signUpPartner(api);
  const mk = async (name: string) => (await api.request('POST', '/v1/customers', { key: partner.key, body: { name, region: 'eu-west-1', billing: 'partner' } })).body.id as string;
  const a = await mk('Alpha');
  const b = await mk('Beta');
  const stranger = await api.signUp();

  const invited = await api.request('POST', '/v1/users', { key: partner.key, body: { email: 'tech@msp.test', role: 'custom', permissions: ['backups:read'], customer_ids: [a] } });
  t.equal(invited.status, 201);
  t.same(invited.body.customer_ids, [a]);
  const widened = await api.request('PATCH', `/v1/users/${invited.body.id}`, { key: partner.key, body: { customer_ids: null } });
  t.equal(widened.body.customer_ids, null);
  const foreign = await api.request('PATCH', `/v1/users/${invited.body.id}`, { key: partner.key, body: { customer_ids: [a, stranger.accountId] } });
  t.equal(foreign.status, 400);
  t.same(foreign.body.errors, [{ pointer: '/body/customer_ids/1', detail: `${stranger.accountId} is not one of your customers` }]);
  const inStandard = await api.request('POST', '/v1/users', { key: stranger.key, body: { email: 'x@stranger.test', role: 'custom', customer_ids: [] } });
  t.equal(inStandard.status, 400);
  t.equal(inStandard.body.errors[0].pointer, '/body/customer_ids');

  // A user manager limited to Alpha sees only Alpha and cannot hand out Beta, nor every customer.
  const manager = await partnerUser(api, partner.accountId, 'manager@msp.test', ['users:manage', 'customers:read', 'backups:read'], [a]);
  const seen = await api.request('GET', '/v1/customers', { key: manager.secret });
  t.same(seen.body.data.map((c: { id: string }) => c.id), [a]);
  t.equal((await api.request('GET', `/v1/customers/${b}`, { key: manager.secret })).status, 404);
  for (const customer_ids of [[b], null]) {
    const res = await api.request('POST', '/v1/users', { key: manager.secret, body: { email: `t${String(customer_ids)}@msp.test`, role: 'custom', customer_ids } });
    t.equal(res.status, 403, JSON.stringify(customer_ids));
    t.equal(res.body.code, 'cannot_grant');
  }
  t.equal((await actingFor(api, manager.secret, a)('GET', '/v1/tasks')).status, 200);
  t.equal((await actingFor(api, manager.secret, b)('GET', '/v1/tasks')).body.code, 'account_not_found');
});
