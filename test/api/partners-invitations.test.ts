// An existing account comes under a partner only with its administrator's consent, and its
// administrator can withdraw the partner's access at any time, effective on the next request.
import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { actingFor, signUpPartner } from '../helpers/partners.ts';
import { issueApiKey } from '../../api/resources/api-keys/service.ts';

t.test('invite by account id or admin email; only the account\'s own administrator accepts; then the partner acts for it', async (t) => {
  const api = await startTestApp(t);
  const partner = await signUpPartner(api, 'Acme MSP');
  const shop = await api.signUp({ name: 'Shop' });
  const byId = await api.request('POST', '/v1/partner-invitations', { key: partner.key, body: { account_id: shop.accountId, billing: 'direct' } });
  t.equal(byId.status, 201);
  t.match(byId.body, { partner_account_id: partner.accountId, partner_name: 'Acme MSP', customer_account_id: shop.accountId, customer_name: 'Shop', billing: 'direct', state: 'pending' });
  t.ok(api.sentMail.find((m) => m.to.includes(shop.body.user.email) && m.subject === 'Acme MSP asks to manage your Coffer account'));
  const byEmail = await api.request('POST', '/v1/partner-invitations', { key: partner.key, body: { admin_email: shop.body.user.email.toUpperCase(), billing: 'partner' } });
  t.equal(byEmail.body.customer_account_id, shop.accountId);

  // Before accepting, the partner cannot act for the account.
  t.equal((await actingFor(api, partner.key, shop.accountId)('GET', '/v1/account')).status, 404);
  // The partner cannot accept on the account's behalf.
  const self = await actingFor(api, partner.key, shop.accountId)('POST', `/v1/account/partner-invitations/${byId.body.id}/accept`);
  t.equal(self.status, 404, 'it cannot even act for the account yet');
  const received = await api.request('GET', '/v1/account/partner-invitations?state=pending', { key: shop.key });
  t.same(received.body.data.map((i: { id: string }) => i.id), [byEmail.body.id, byId.body.id]);
  const declined = await api.request('POST', `/v1/account/partner-invitations/${byId.body.id}/decline`, { key: shop.key });
  t.equal(declined.body.state, 'declined');
  const again = await api.request('POST', `/v1/account/partner-invitations/${byId.body.id}/accept`, { key: shop.key });
  t.equal(again.status, 409);
  t.equal(again.body.code, 'invitation_not_pending');
  const accepted = await api.request('POST', `/v1/account/partner-invitations/${byEmail.body.id}/accept`, { key: shop.key });
  t.equal(accepted.status, 200);
  t.equal(accepted.body.state, 'accepted');

  t.equal((await actingFor(api, partner.key, shop.accountId)('GET', '/v1/account')).body.name, 'Shop');
  const customers = await api.request('GET', '/v1/customers', { key: partner.key });
  t.match(customers.body.data, [{ id: shop.accountId, billing: 'partner', revoked_at: null }]);
  const sent = await api.request('GET', '/v1/partner-invitations', { key: partner.key });
  t.same(sent.body.data.map((i: { state: string }) => i.state), ['accepted', 'declined']);
  const partnerLog = await api.request('GET', '/v1/audit?type=partner_invitation_accepted', { key: partner.key });
  t.equal(partnerLog.body.data.length, 1, 'the acceptance is in the partner\'s log too');
  const dup = await api.request('POST', '/v1/partner-invitations', { key: partner.key, body: { account_id: shop.accountId, billing: 'direct' } });
  t.equal(dup.status, 409);
  t.equal(dup.body.code, 'already_customer');
});

t.test('invitations cannot probe: unknown, partner and non-administrator targets are one 404; a custom user cannot accept', async (t) => {
  const api = await startTestApp(t);
  const partner = await signUpPartner(api);
  const rival = await signUpPartner(api, 'Rival');
  const shop = await api.signUp();
  const clerk = await api.request('POST', '/v1/users', { key: shop.key, body: { email: 'clerk@shop.test', role: 'custom', permissions: ['account:manage'] } });
  t.equal(clerk.status, 201);
  const bodies = [];
  for (const body of [{ account_id: 'acct_00000000000000000000000000' }, { account_id: rival.accountId }, { admin_email: 'nobody@nowhere.test' }, { admin_email: 'clerk@shop.test' }]) {
    const res = await api.request('POST', '/v1/partner-invitations', { key: partner.key, body: { ...body, billing: 'direct' } });
    t.equal(res.status, 404, JSON.stringify(body));
    bodies.push({ ...res.body, request_id: undefined });
  }
  for (const b of bodies.slice(1)) t.same(b, bodies[0]);
  t.equal(bodies[0].code, 'account_not_found');
  const both = await api.request('POST', '/v1/partner-invitations', { key: partner.key, body: { account_id: shop.accountId, admin_email: shop.body.user.email, billing: 'direct' } });
  t.equal(both.status, 400);
  const standard = await api.request('POST', '/v1/partner-invitations', { key: shop.key, body: { account_id: partner.accountId, billing: 'direct' } });
  t.equal(standard.body.code, 'not_a_partner');

  const inv = await api.request('POST', '/v1/partner-invitations', { key: partner.key, body: { account_id: shop.accountId, billing: 'direct' } });
  t.equal((await api.request('POST', `/v1/account/partner-invitations/${inv.body.id}/accept`, { key: rival.key })).status, 404, 'another account sees no such invitation');
  await api.database.sql`update users set state = 'active', password_hash = 'x' where id = ${clerk.body.id}`;
  const clerkKey = await api.deps.db.transaction((tx) => issueApiKey(tx, { accountId: shop.accountId, userId: clerk.body.id, held: new Set(['account:manage'] as const) }, { name: 'clerk' }, api.clock.now()));
  const byClerk = await api.request('POST', `/v1/account/partner-invitations/${inv.body.id}/accept`, { key: clerkKey.secret });
  t.equal(byClerk.status, 403, 'account:manage is not enough: only an administrator accepts');
  t.equal(byClerk.body.code, 'administrator_required');
  const cancelled = await api.request('DELETE', `/v1/partner-invitations/${inv.body.id}`, { key: partner.key });
  t.equal(cancelled.body.state, 'cancelled');
  const late = await api.request('POST', `/v1/account/partner-invitations/${inv.body.id}/accept`, { key: shop.key });
  t.equal(late.body.code, 'invitation_not_pending');
  const expiring = await api.request('POST', '/v1/partner-invitations', { key: partner.key, body: { account_id: shop.accountId, billing: 'direct' } });
  api.clock.advance(15 * 86_400_000);
  const expired = await api.request('POST', `/v1/account/partner-invitations/${expiring.body.id}/accept`, { key: shop.key });
  t.equal(expired.status, 410);
  t.equal(expired.body.code, 'invitation_expired');
});

t.test('the customer\'s administrator withdraws access: the partner\'s next request and its minted keys are refused; both sides list the minted key', async (t) => {
  const api = await startTestApp(t);
  const partner = await signUpPartner(api);
  const c = await api.request('POST', '/v1/customers', { key: partner.key, body: { name: 'Clinic', region: 'eu-west-1', billing: 'partner' } });
  const minted = await api.request('POST', `/v1/customers/${c.body.id}/api-keys`, { key: partner.key, body: { name: 'rmm tool', scopes: ['backups:read', 'account:read'] } });
  t.equal(minted.status, 201);
  t.same(minted.body.scopes, ['account:read', 'backups:read']);
  const inside = await api.request('GET', '/v1/account', { key: minted.body.secret });
  t.equal(inside.body.id, c.body.id, 'the minted key lives in the customer\'s account, no header needed');
  const listed = await actingFor(api, partner.key, c.body.id)('GET', '/v1/api-keys');
  t.same(listed.body.data.map((k: { id: string }) => k.id), [minted.body.id], 'the partner sees it acting for the customer');
  t.equal((await api.request('GET', '/v1/me', { key: minted.body.secret })).body.partner_account_id, partner.accountId);
  const elsewhere = await api.request('GET', '/v1/account', { key: minted.body.secret, headers: { 'coffer-account': partner.accountId } });
  t.equal(elsewhere.status, 403, 'a minted key acts in its customer\'s account only, not in the partner\'s');
  t.equal(elsewhere.body.code, 'not_a_partner');

  // The customer's administrator: a user invited into the customer account, here made directly.
  const adminKey = await api.deps.db.transaction(async (tx) => {
    await tx.execute(`insert into users (id, account_id, email, role, state, password_hash) values ('usr_01jd8x4z3q9v6w2k5m7n0p1r8t', '${c.body.id}', 'boss@clinic.test', 'administrator', 'active', 'x')`);
    const { issueApiKey } = await import('../../api/resources/api-keys/service.ts');
    const { ALL_PERMISSIONS } = await import('../../api/permissions.ts');
    return issueApiKey(tx, { accountId: c.body.id, userId: 'usr_01jd8x4z3q9v6w2k5m7n0p1r8t', held: new Set(ALL_PERMISSIONS) }, { name: 'admin' }, api.clock.now());
  });
  const seen = await api.request('GET', '/v1/api-keys', { key: adminKey.secret });
  t.ok(seen.body.data.some((k: { id: string; user_id: string }) => k.id === minted.body.id && k.user_id === partner.userId), 'the customer sees the partner\'s key');

  const refusedForPartner = await actingFor(api, partner.key, c.body.id)('DELETE', '/v1/account/partner');
  t.equal(refusedForPartner.status, 403);
  t.equal(refusedForPartner.body.code, 'administrator_required', 'a partner cannot revoke for the customer');
  const revoked = await api.request('DELETE', '/v1/account/partner', { key: adminKey.secret });
  t.equal(revoked.status, 200);
  t.match(revoked.body, { account_id: partner.accountId, billing: 'partner' });
  t.ok(revoked.body.revoked_at);

  for (const res of [await actingFor(api, partner.key, c.body.id)('GET', '/v1/account'), await api.request('GET', '/v1/account', { key: minted.body.secret })]) {
    t.equal(res.status, 403);
    t.equal(res.body.code, 'access_revoked');
  }
  const patch = await api.request('PATCH', `/v1/customers/${c.body.id}`, { key: partner.key, body: { name: 'x' } });
  t.equal(patch.body.code, 'access_revoked');
  t.match((await api.request('GET', `/v1/customers/${c.body.id}`, { key: partner.key })).body, { id: c.body.id, revoked_at: revoked.body.revoked_at }, 'the partner still sees it was its customer');
  t.match((await api.request('GET', '/v1/account', { key: adminKey.secret })).body.partner, { account_id: partner.accountId, revoked_at: revoked.body.revoked_at });
  t.equal((await api.request('DELETE', '/v1/account/partner', { key: adminKey.secret })).status, 404, 'nothing left to revoke');
  const partnerLog = await api.request('GET', '/v1/audit?type=partner_access_revoked', { key: partner.key });
  t.equal(partnerLog.body.data.length, 1);
});
