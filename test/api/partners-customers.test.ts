// A partner's customers: creation (with an invited administrator), list with filters and CSV,
// changes, removal, keys minted in a customer's account, and the audit trail on both sides.
import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { actingFor, signUpPartner } from '../helpers/partners.ts';

t.test('a partner creates customers, lists, filters and exports them, and acts in them; a standard account cannot', async (t) => {
  const api = await startTestApp(t);
  const partner = await signUpPartner(api, 'Acme MSP');
  const post = (body: unknown) => api.request('POST', '/v1/customers', { key: partner.key, body });
  const dental = await post({ name: 'Dental Clinic', region: 'eu-west-1', billing: 'partner', admin_email: 'Boss@Dental.test' });
  t.equal(dental.status, 201);
  t.match(dental.body, { name: 'Dental Clinic', region: 'eu-west-1', state: 'trial', billing: 'partner', revoked_at: null, email: 'boss@dental.test' });
  t.equal(dental.headers.get('location'), `/v1/customers/${dental.body.id}`);
  const invitation = api.sentMail.find((m) => m.to === 'boss@dental.test');
  t.ok(invitation, 'the administrator is invited');
  const [admin] = await api.database.sql`select account_id, role, state from users where email = 'boss@dental.test'`;
  t.same({ ...admin }, { account_id: dental.body.id, role: 'administrator', state: 'invited' });
  const law = await post({ name: 'Law Firm', region: 'us-east-1', billing: 'direct' });
  t.equal(law.status, 201);
  t.equal(law.body.email, partner.body.account.email, 'without an administrator the partner\'s address stands in');

  const list = await api.request('GET', '/v1/customers', { key: partner.key });
  t.same(list.body.data.map((c: { name: string }) => c.name), ['Law Firm', 'Dental Clinic']);
  const page = await api.request('GET', '/v1/customers?limit=1', { key: partner.key });
  const next = await api.request('GET', `/v1/customers?limit=1&cursor=${page.body.next_cursor}`, { key: partner.key });
  t.same([page.body.data[0].name, next.body.data[0].name, next.body.next_cursor], ['Law Firm', 'Dental Clinic', null]);
  t.same((await api.request('GET', '/v1/customers?name=DENT', { key: partner.key })).body.data.map((c: { id: string }) => c.id), [dental.body.id]);
  t.same((await api.request('GET', '/v1/customers?region=us-east-1', { key: partner.key })).body.data.map((c: { id: string }) => c.id), [law.body.id]);
  t.same((await api.request('GET', '/v1/customers?name=%25', { key: partner.key })).body.data, [], 'a % in the filter is a character, not a wildcard');
  const csv = await api.request('GET', '/v1/customers', { key: partner.key, headers: { accept: 'text/csv' } });
  t.equal(csv.headers.get('content-type'), 'text/csv; charset=utf-8');
  t.equal(csv.text.split('\n')[0], 'id,name,email,region,state,billing,since,revoked_at,purge_time,created_at');
  t.match(csv.text, `${dental.body.id},Dental Clinic,boss@dental.test,eu-west-1,trial,partner,`);

  const changed = await api.request('PATCH', `/v1/customers/${law.body.id}`, { key: partner.key, body: { name: 'Law Firm LLP', billing: 'partner' } });
  t.match(changed.body, { name: 'Law Firm LLP', billing: 'partner' });
  const inside = await actingFor(api, partner.key, law.body.id)('GET', '/v1/account');
  t.match(inside.body, { id: law.body.id, name: 'Law Firm LLP', partner: { account_id: partner.accountId, billing: 'partner' } });

  const standard = await api.signUp();
  const refused = await api.request('POST', '/v1/customers', { key: standard.key, body: { name: 'X', region: 'eu-west-1', billing: 'direct' } });
  t.equal(refused.status, 403);
  t.equal(refused.body.code, 'not_a_partner');
  t.equal((await api.request('GET', '/v1/customers', { key: standard.key })).body.code, 'not_a_partner');
  const nested = await actingFor(api, partner.key, law.body.id)('POST', '/v1/customers', { name: 'X', region: 'eu-west-1', billing: 'direct' });
  t.equal(nested.body.code, 'not_a_partner', 'a partner acting for a customer cannot create customers of the customer');

  const taken = await post({ name: 'Again', region: 'eu-west-1', billing: 'direct', admin_email: 'boss@dental.test' });
  t.equal(taken.status, 409);
  t.equal(taken.body.code, 'email_taken');
  const badRegion = await post({ name: 'Moon', region: 'moon-1', billing: 'direct' });
  t.equal(badRegion.status, 400);
});

t.test('another partner\'s customer, the partner itself and a stranger are 404 on every customer operation', async (t) => {
  const api = await startTestApp(t);
  const partner = await signUpPartner(api);
  const rival = await signUpPartner(api, 'Rival');
  const theirs = await api.request('POST', '/v1/customers', { key: rival.key, body: { name: 'Theirs', region: 'eu-west-1', billing: 'direct' } });
  const stranger = await api.signUp();
  for (const id of [theirs.body.id, partner.accountId, stranger.accountId]) {
    for (const [method, path, body] of [
      ['GET', `/v1/customers/${id}`], ['PATCH', `/v1/customers/${id}`, { name: 'pwned' }],
      ['DELETE', `/v1/customers/${id}?approve_data_removal=true`], ['POST', `/v1/customers/${id}/api-keys`, { name: 'pwned' }],
    ] as const) {
      const res = await api.request(method, path, { key: partner.key, body });
      t.equal(res.status, 404, `${method} ${path}`);
    }
  }
  t.equal((await api.request('GET', `/v1/customers/${theirs.body.id}`, { key: rival.key })).body.name, 'Theirs', 'unchanged');
  t.equal((await api.request('GET', '/v1/account', { key: stranger.key })).body.state, 'trial', 'not being removed');
});

t.test('removing a customer starts the account-removal grace period, in both audit logs with the partner named', async (t) => {
  const api = await startTestApp(t);
  const partner = await signUpPartner(api);
  const c = await api.request('POST', '/v1/customers', { key: partner.key, body: { name: 'Shop', region: 'eu-west-1', billing: 'partner' } });
  const unapproved = await api.request('DELETE', `/v1/customers/${c.body.id}?approve_data_removal=false`, { key: partner.key });
  t.equal(unapproved.status, 400);
  t.equal(unapproved.body.code, 'approval_required');
  const removed = await api.request('DELETE', `/v1/customers/${c.body.id}?approve_data_removal=true`, { key: partner.key });
  t.equal(removed.status, 202);
  t.equal(removed.body.state, 'pending_deletion');
  t.ok(removed.body.purge_time);

  const inCustomer = await actingFor(api, partner.key, c.body.id)('GET', '/v1/audit?type=account_removal_requested');
  t.equal(inCustomer.body.data.length, 1);
  t.same(inCustomer.body.data[0].actor, { user_id: partner.userId, account_id: partner.accountId, partner_account_id: partner.accountId });
  const created = await actingFor(api, partner.key, c.body.id)('GET', '/v1/audit?type=customer_created');
  t.equal(created.body.data.length, 1, 'the creation is in the customer\'s log');
  const inPartner = await api.request('GET', '/v1/audit?type=account_removal_requested', { key: partner.key });
  t.equal(inPartner.body.data.length, 1);
  t.match(inPartner.body.data[0], { performed_by_user_id: partner.userId, description: new RegExp(`^For customer ${c.body.id}: Account removal approved`) });
  t.equal(inPartner.body.data[0].details.customer_account_id, c.body.id);
  const own = await api.request('GET', '/v1/audit', { key: partner.key });
  t.same(own.body.data.find((e: { type: string }) => e.type === 'customer_created').actor.partner_account_id, partner.accountId);
  t.equal((await api.request('GET', '/v1/audit/verify', { key: partner.key })).body.intact, true, 'the partner\'s chain holds');
  t.equal((await actingFor(api, partner.key, c.body.id)('GET', '/v1/audit/verify')).body.intact, true, 'so does the customer\'s');
});
