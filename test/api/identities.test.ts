import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { link, setUpOidc, signInWithProvider } from '../helpers/oidc.ts';

t.test('linked identities are listed, unlinked (audited), and then sign nobody in; another account sees none of them', async (t) => {
  const s = await setUpOidc(t);
  s.idp.nextUser = { sub: 'google-list', email: s.email.toUpperCase() };
  const linked = await link(s, s.admin.key);
  t.equal(linked.status, 200, 'the email matches whatever its case');
  const list = await s.api.request('GET', '/v1/me/identities', { key: s.admin.key });
  t.equal(list.status, 200);
  t.same(list.body.data.map((i: { id: string }) => i.id), [linked.body.identity.id]);
  t.equal(list.body.data[0].last_used_at, null);

  t.equal((await signInWithProvider(s)).status, 200);
  t.not((await s.api.request('GET', '/v1/me/identities', { key: s.admin.key })).body.data[0].last_used_at, null);

  const other = await s.api.signUp({ email: `other-${Math.random().toString(36).slice(2, 8)}@beta.test` });
  t.same((await s.api.request('GET', '/v1/me/identities', { key: other.key })).body.data, []);
  const foreign = await s.api.request('DELETE', `/v1/me/identities/${linked.body.identity.id}`, { key: other.key });
  t.equal(foreign.status, 404);

  const removed = await s.api.request('DELETE', `/v1/me/identities/${linked.body.identity.id}`, { key: s.admin.key });
  t.equal(removed.status, 204);
  t.same((await s.api.request('GET', '/v1/me/identities', { key: s.admin.key })).body.data, []);
  t.equal((await signInWithProvider(s)).body.code, 'identity_not_linked');
  const audit = await s.api.request('GET', '/v1/audit?limit=100', { key: s.admin.key });
  const unlinked = audit.body.data.find((e: { type: string }) => e.type === 'identity_unlinked');
  t.ok(unlinked, 'identity_unlinked is audited');
  t.equal((await s.api.request('DELETE', `/v1/me/identities/${linked.body.identity.id}`, { key: s.admin.key })).status, 404);
});

t.test('an authorize URL passed to someone else does not link their identity to the sender', async (t) => {
  const s = await setUpOidc(t);
  // The sender starts a link; the person who opens it is signed in at Google as themselves.
  s.idp.nextUser = { sub: 'victim-sub', email: 'victim@elsewhere.test' };
  const res = await link(s, s.admin.key);
  t.equal(res.status, 403);
  t.equal(res.body.code, 'identity_email_mismatch');
  t.same((await s.api.request('GET', '/v1/me/identities', { key: s.admin.key })).body.data, []);
});

t.test('one identity signs in one Coffer user: linking it to a second is a conflict', async (t) => {
  const s = await setUpOidc(t);
  s.idp.nextUser = { sub: 'shared-sub', email: s.email };
  t.equal((await link(s, s.admin.key)).status, 200);
  const email = `second-${Math.random().toString(36).slice(2, 8)}@beta.test`;
  const second = await s.api.signUp({ email });
  s.idp.nextUser = { sub: 'shared-sub', email };
  const res = await link(s, second.key);
  t.equal(res.status, 409);
  t.equal(res.body.code, 'identity_already_linked');
});

t.test('a provider the installation has no client for is a 404 problem', async (t) => {
  const api = await startTestApp(t);
  const admin = await api.signUp();
  const start = await api.request('POST', '/v1/me/identities', { key: admin.key, body: { provider: 'microsoft' } });
  t.equal(start.status, 404);
  t.equal(start.body.code, 'oidc_provider_not_configured');
  const login = await fetch(`${api.url}/v1/oidc/google/login`, { redirect: 'manual' });
  t.equal(login.status, 404);
  t.equal((await login.json()).code, 'oidc_provider_not_configured');
});
