// A partner's credential acting for a customer with the Coffer-Account header (api/plugins/auth.ts).
import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { actingFor, link, PASSWORD, signUpPartner } from '../helpers/partners.ts';

t.test('a partner signs up as such; with Coffer-Account its key runs in its customer\'s account, and the customer sees its partner', async (t) => {
  const api = await startTestApp(t);
  const partner = await signUpPartner(api, 'Acme MSP');
  const customer = await api.signUp({ name: 'Dental Clinic' });
  await link(api, partner, customer);

  const own = await api.request('GET', '/v1/account', { key: partner.key });
  t.match(own.body, { id: partner.accountId, kind: 'partner', partner: null });

  const asCustomer = actingFor(api, partner.key, customer.accountId);
  const account = await asCustomer('GET', '/v1/account');
  t.equal(account.status, 200);
  t.match(account.body, { id: customer.accountId, name: 'Dental Clinic', kind: 'standard' });
  t.match(account.body.partner, { account_id: partner.accountId, name: 'Acme MSP', billing: 'partner', revoked_at: null });
  const seenByCustomer = await api.request('GET', '/v1/account', { key: customer.key });
  t.same(seenByCustomer.body.partner, account.body.partner, 'the customer\'s own view names the same partner');

  const me = await asCustomer('GET', '/v1/me');
  t.equal(me.status, 200);
  t.equal(me.body.user.id, partner.userId, 'the partner user stays who it is');
  t.equal(me.body.user.account_id, partner.accountId);
  t.equal(me.body.account.id, customer.accountId);
  t.equal(me.body.partner_account_id, partner.accountId);
  const plain = await api.request('GET', '/v1/me', { key: partner.key });
  t.equal(plain.body.partner_account_id, null);
  t.equal(plain.body.account.id, partner.accountId, 'without the header the key runs in its own account');

  const same = await api.request('GET', '/v1/account', { key: partner.key, headers: { 'coffer-account': partner.accountId } });
  t.equal(same.body.id, partner.accountId, 'the header naming the partner\'s own account is its own account');

  // A change made for the customer lands in the customer's account.
  const tag = await asCustomer('POST', '/v1/tags', { name: 'managed' });
  t.equal(tag.status, 201);
  // The customer's own administrator is out of the partner's reach: it must stay able to revoke.
  for (const [method, path, body] of [['PATCH', `/v1/users/${customer.userId}`, { role: 'custom' }], ['DELETE', `/v1/users/${customer.userId}`], ['DELETE', `/v1/api-keys/${customer.keyId}`]] as const) {
    const res = await asCustomer(method, path, body);
    t.equal(res.status, 403, `${method} ${path}`);
    t.equal(res.body.code, 'administrator_required');
  }
  t.equal((await api.request('GET', '/v1/me', { key: customer.key })).body.user.role, 'administrator');
  const tags = await api.request('GET', '/v1/tags', { key: customer.key });
  t.same(tags.body.data.map((x: { name: string }) => x.name), ['managed']);
  t.same((await api.request('GET', '/v1/tags', { key: partner.key })).body.data, []);
});

t.test('probing with the header: another partner\'s customer, a stranger\'s account and a made-up id get the same 404', async (t) => {
  const api = await startTestApp(t);
  const partner = await signUpPartner(api);
  const rival = await signUpPartner(api, 'Rival MSP');
  const theirs = await api.signUp();
  const stranger = await api.signUp();
  await link(api, rival, theirs);
  const bodies = [];
  for (const id of [theirs.accountId, stranger.accountId, 'acct_00000000000000000000000000', rival.accountId, 'not-an-id']) {
    const res = await actingFor(api, partner.key, id)('GET', '/v1/account');
    t.equal(res.status, 404, id);
    bodies.push({ ...res.body, request_id: undefined, detail: res.body.detail.replace(id, '<id>') });
  }
  t.match(bodies[0], { code: 'account_not_found', status: 404, detail: 'Account <id> does not exist or is not one of your customers.' });
  for (const b of bodies.slice(1)) t.same(b, bodies[0]);
  const write = await actingFor(api, partner.key, theirs.accountId)('POST', '/v1/tags', { name: 'pwned' });
  t.equal(write.status, 404);
  t.same((await api.request('GET', '/v1/tags', { key: theirs.key })).body.data, [], 'nothing was written');
});

t.test('a non-partner credential with the header is refused with 403, even for an account it could otherwise see', async (t) => {
  const api = await startTestApp(t);
  const partner = await signUpPartner(api);
  const customer = await api.signUp();
  const other = await api.signUp();
  await link(api, partner, customer);
  for (const target of [partner.accountId, other.accountId]) {
    const res = await actingFor(api, customer.key, target)('GET', '/v1/account');
    t.equal(res.status, 403);
    t.equal(res.body.code, 'not_a_partner');
  }
  const own = await actingFor(api, customer.key, customer.accountId)('GET', '/v1/account');
  t.equal(own.body.id, customer.accountId, 'naming its own account is harmless');
});

t.test('revoked access is refused on the very next request with 403 access_revoked', async (t) => {
  const api = await startTestApp(t);
  const partner = await signUpPartner(api);
  const customer = await api.signUp();
  await link(api, partner, customer);
  const asCustomer = actingFor(api, partner.key, customer.accountId);
  t.equal((await asCustomer('GET', '/v1/account')).status, 200);
  await api.database.sql`update partner_customers set revoked_at = now() where customer_account_id = ${customer.accountId}`;
  const refused = await asCustomer('GET', '/v1/account');
  t.equal(refused.status, 403);
  t.equal(refused.body.code, 'access_revoked');
  t.equal((await api.request('GET', '/v1/account', { key: partner.key })).status, 200, 'its own account still works');
});

t.test('the header on a public route is ignored: public routes act for nobody', async (t) => {
  const api = await startTestApp(t);
  const stranger = await api.signUp();
  const res = await api.request('GET', '/v1/regions', { headers: { 'coffer-account': stranger.accountId } });
  t.equal(res.status, 200);
  const signIn = await api.request('POST', '/v1/sessions', { body: { email: stranger.body.user.email, password: PASSWORD }, headers: { 'coffer-account': 'acct_00000000000000000000000000' } });
  t.equal(signIn.status, 201, 'signing in with the header signs into the user\'s own account');
  const me = await api.request('GET', '/v1/me', { key: signIn.body.token });
  t.equal(me.body.account.id, stranger.accountId);
});

t.test('a partner session token acts for a customer like a key; its own-user operations are refused while acting', async (t) => {
  const api = await startTestApp(t);
  const partner = await signUpPartner(api);
  const customer = await api.signUp();
  await link(api, partner, customer);
  const session = await api.request('POST', '/v1/sessions', { body: { email: partner.body.user.email, password: PASSWORD } });
  t.equal(session.status, 201);
  const asCustomer = actingFor(api, session.body.token, customer.accountId);
  t.equal((await asCustomer('GET', '/v1/account')).body.id, customer.accountId);
  for (const [method, path, body] of [['GET', '/v1/me/2fa'], ['GET', '/v1/sessions'], ['POST', '/v1/me/password', { current_password: PASSWORD, new_password: 'another horse battery staple' }], ['DELETE', '/v1/sessions/current']] as const) {
    const res = await asCustomer(method, path, body);
    t.equal(res.status, 403, `${method} ${path}`);
    t.equal(res.body.code, 'own_user_only');
  }
  t.equal((await api.request('GET', '/v1/me/2fa', { key: session.body.token })).status, 200, 'without the header they work');
});

t.test('a partner user limited to some customers gets 404 for the others; permissions are the partner user\'s, nothing more', async (t) => {
  const api = await startTestApp(t);
  const partner = await signUpPartner(api);
  const a = await api.signUp();
  const b = await api.signUp();
  await link(api, partner, a);
  await link(api, partner, b);
  // A custom partner user who may read backups of customer A only, with a key of its own.
  const [user] = await api.database.sql`insert into users (id, account_id, email, role, permissions, customer_ids, state, password_hash)
    values ('usr_01jd8x4z3q9v6w2k5m7n0p1r8s', ${partner.accountId}, 'tech@msp.test', 'custom', ${['backups:read', 'api_keys:manage']}, ${[a.accountId]}, 'active', 'x') returning id`;
  const { issueApiKey } = await import('../../api/resources/api-keys/service.ts');
  const key = await api.deps.db.transaction((tx) => issueApiKey(tx, { accountId: partner.accountId, userId: user!.id, held: new Set(['backups:read', 'api_keys:manage'] as const) }, { name: 'tech' }, api.clock.now()));
  t.equal((await actingFor(api, key.secret, a.accountId)('GET', '/v1/tasks')).status, 200);
  const denied = await actingFor(api, key.secret, a.accountId)('GET', '/v1/account');
  t.equal(denied.status, 403);
  t.equal(denied.body.code, 'permission_denied', 'account:read is not the partner user\'s');
  const other = await actingFor(api, key.secret, b.accountId)('GET', '/v1/tasks');
  t.equal(other.status, 404);
  t.equal(other.body.code, 'account_not_found');
  // Widened to every customer: the very next request sees it.
  await api.database.sql`update users set customer_ids = null where id = ${user!.id}`;
  t.equal((await actingFor(api, key.secret, b.accountId)('GET', '/v1/tasks')).status, 200);
});

t.test('a customer being removed is read-only for its partner too', async (t) => {
  const api = await startTestApp(t);
  const partner = await signUpPartner(api);
  const customer = await api.signUp();
  await link(api, partner, customer);
  const removal = await api.request('POST', '/v1/account/removal', { key: customer.key, body: { approve_data_removal: true } });
  t.equal(removal.status, 202);
  const asCustomer = actingFor(api, partner.key, customer.accountId);
  t.equal((await asCustomer('GET', '/v1/account')).body.state, 'pending_deletion');
  const write = await asCustomer('POST', '/v1/tags', { name: 'late' });
  t.equal(write.status, 409);
  t.equal(write.body.code, 'account_pending_deletion');
  await api.database.sql`delete from accounts where id = ${customer.accountId}`;
  const gone = await asCustomer('GET', '/v1/account');
  t.equal(gone.status, 404, 'a purged customer is no account at all');
  t.equal(gone.body.code, 'account_not_found');
});
