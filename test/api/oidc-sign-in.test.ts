import t from 'tap';
import { eq } from 'drizzle-orm';
import { users } from '../../db/schema.ts';
import { callback, link, setUpOidc, signInWithProvider, startLogin, PUBLIC_URL, onApp } from '../helpers/oidc.ts';

t.test('a linked Google identity signs its user in; the session works; the callback cannot be replayed', async (t) => {
  const s = await setUpOidc(t);
  s.idp.nextUser = { sub: 'google-sub-1', email: s.email };
  const linked = await link(s, s.admin.key);
  t.equal(linked.status, 200, JSON.stringify(linked.body));
  t.match(linked.body, { purpose: 'link', session: null, identity: { provider: 'google', issuer: s.idp.issuer, subject: 'google-sub-1', email: s.email } });

  const first = await signInWithProvider(s);
  t.equal(first.status, 200, JSON.stringify(first.body));
  t.equal(first.body.purpose, 'sign_in');
  t.equal(first.body.session.user.id, s.admin.userId);
  const me = await s.api.request('GET', '/v1/me', { key: first.body.session.token });
  t.equal(me.status, 200);

  // The same callback URL again (a replay of the redirect, code and state included).
  const replay = await callback(s.api, first.callbackUrl, first.cookie);
  t.equal(replay.status, 401);
  t.equal(replay.body.code, 'oidc_invalid_state');

  // The used code under a fresh request of this browser: the provider refuses it.
  const fresh = await startLogin(s.api);
  const freshState = new URL(fresh.location).searchParams.get('state')!;
  const reused = new URL(first.callbackUrl);
  reused.searchParams.set('state', freshState);
  const replayedCode = await callback(s.api, reused.href, fresh.cookie);
  t.equal(replayedCode.status, 401);
  t.equal(replayedCode.body.code, 'oidc_code_rejected');

  const audit = await s.api.request('GET', '/v1/audit?limit=100', { key: s.admin.key });
  const types = audit.body.data.map((e: { type: string }) => e.type);
  t.ok(types.includes('identity_linked'));
  t.ok(audit.body.data.some((e: { type: string; description: string }) => e.type === 'sign_in' && e.description.startsWith('Google sign in (OK)')));
});

t.test('a forged or swapped state, a callback from another browser and an ID token for another nonce are refused', async (t) => {
  const s = await setUpOidc(t);
  s.idp.nextUser = { sub: 'google-sub-2', email: s.email };
  t.equal((await link(s, s.admin.key)).status, 200);

  const { location, cookie } = await startLogin(s.api);
  const back = new URL(onApp(s.api, await s.idp.authorize(location, PUBLIC_URL)));
  const forged = new URL(back);
  forged.searchParams.set('state', 'attacker-chosen-state');
  const wrongState = await callback(s.api, forged.href, 'coffer_oidc_state=attacker-chosen-state');
  t.equal(wrongState.status, 401);
  t.equal(wrongState.body.code, 'oidc_invalid_state');

  // A login CSRF: the attacker's own callback URL, opened in the victim's browser (no cookie, or another one).
  const elsewhere = await callback(s.api, back.href);
  t.equal(elsewhere.status, 401);
  t.equal(elsewhere.body.code, 'oidc_browser_mismatch');
  const otherCookie = await callback(s.api, back.href, (await startLogin(s.api)).cookie);
  t.equal(otherCookie.body.code, 'oidc_browser_mismatch');
  // The request was not used up by those: its own browser still signs in.
  t.equal((await callback(s.api, back.href, cookie)).status, 200);

  // The provider is asked with another nonce than the one Coffer stored: the ID token answers another request.
  const wrongNonce = await signInWithProvider(s, (url) => url.searchParams.set('nonce', 'nonce-of-another-request'));
  t.equal(wrongNonce.status, 401);
  t.equal(wrongNonce.body.code, 'oidc_invalid_nonce');

  // PKCE: without Coffer's challenge the provider issues a code the verifier does not match.
  const noPkce = await signInWithProvider(s, (url) => url.searchParams.set('code_challenge', 'A'.repeat(43)));
  t.equal(noPkce.status, 401);
  t.equal(noPkce.body.code, 'oidc_code_rejected');
});

t.test('sign-in never matches by email: an identity that is not linked is refused even with the user\'s email', async (t) => {
  const s = await setUpOidc(t);
  s.idp.nextUser = { sub: 'someone-else', email: s.email, email_verified: true };
  const res = await signInWithProvider(s);
  t.equal(res.status, 401);
  t.equal(res.body.code, 'identity_not_linked');

  s.idp.nextUser = { sub: 'linked-sub', email: s.email };
  t.equal((await link(s, s.admin.key)).status, 200);
  s.idp.nextUser = { sub: 'someone-else', email: s.email, email_verified: true };
  t.equal((await signInWithProvider(s)).body.code, 'identity_not_linked', 'still not, once another identity is linked');
});

t.test('a deactivated user cannot sign in with a linked identity', async (t) => {
  const s = await setUpOidc(t);
  s.idp.nextUser = { sub: 'google-sub-3', email: s.email };
  t.equal((await link(s, s.admin.key)).status, 200);
  await s.api.deps.db.update(users).set({ state: 'deactivated' }).where(eq(users.id, s.admin.userId));
  const res = await signInWithProvider(s);
  t.equal(res.status, 401);
  t.equal(res.body.code, 'user_inactive');
});
