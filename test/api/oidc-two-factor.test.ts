// Sign-in with a provider obeys the account's policies: the user's TOTP, enforced 2FA, SAML.
import t from 'tap';
import type { TestApp } from '../helpers/app.ts';
import { samlConfigs } from '../../db/schema.ts';
import { totpCode } from '../helpers/security.ts';
import { link, setUpOidc, signInWithProvider } from '../helpers/oidc.ts';

async function enableTotp(api: TestApp, key: string): Promise<string> {
  const setup = await api.request('POST', '/v1/me/2fa', { key });
  const secret = setup.body.secret as string;
  const confirmed = await api.request('POST', '/v1/me/2fa/confirm', { key, body: { code: totpCode(secret, api.clock.now()) } });
  if (confirmed.status !== 200) throw new Error(`2fa: ${confirmed.status} ${confirmed.text}`);
  api.clock.advance(30_000); // the next code is a new time-step
  return secret;
}

t.test('Google does not skip the user\'s TOTP: the callback asks for the code, and the token gives one session', async (t) => {
  const s = await setUpOidc(t);
  s.idp.nextUser = { sub: 'google-2fa', email: s.email };
  t.equal((await link(s, s.admin.key)).status, 200);
  const secret = await enableTotp(s.api, s.admin.key);

  const res = await signInWithProvider(s);
  t.equal(res.status, 401);
  t.equal(res.body.code, 'totp_required');
  t.equal(res.body.session, undefined, 'no session before the code');
  const token = res.body.two_factor_token as string;

  const wrong = await s.api.request('POST', '/v1/oidc/two-factor', { body: { two_factor_token: token, totp_code: '000000' } });
  t.equal(wrong.status, 401);
  t.equal(wrong.body.code, 'invalid_totp_code');

  const ok = await s.api.request('POST', '/v1/oidc/two-factor', { body: { two_factor_token: token, totp_code: totpCode(secret, s.api.clock.now()) } });
  t.equal(ok.status, 201, ok.text);
  t.equal(ok.body.user.id, s.admin.userId);
  t.equal((await s.api.request('GET', '/v1/me', { key: ok.body.token })).status, 200);

  s.api.clock.advance(30_000);
  const again = await s.api.request('POST', '/v1/oidc/two-factor', { body: { two_factor_token: token, totp_code: totpCode(secret, s.api.clock.now()) } });
  t.equal(again.status, 401);
  t.equal(again.body.code, 'invalid_two_factor_token', 'one session per token');

  const forged = await s.api.request('POST', '/v1/oidc/two-factor', { body: { two_factor_token: 'not-a-sealed-token', totp_code: '123456' } });
  t.equal(forged.body.code, 'invalid_two_factor_token');
});

t.test('an account that enforces 2FA refuses a provider sign-in by a user without TOTP', async (t) => {
  const s = await setUpOidc(t);
  s.idp.nextUser = { sub: 'google-enforced', email: s.email };
  t.equal((await link(s, s.admin.key)).status, 200);
  t.equal((await s.api.request('PATCH', '/v1/security/policy', { key: s.admin.key, body: { enforce_2fa: true } })).status, 200);
  const res = await signInWithProvider(s);
  t.equal(res.status, 403);
  t.equal(res.body.code, 'two_factor_setup_required');
});

t.test('SAML replaces every other way in: a linked Google identity is refused while the account signs in with SAML', async (t) => {
  const s = await setUpOidc(t);
  s.idp.nextUser = { sub: 'google-saml', email: s.email };
  t.equal((await link(s, s.admin.key)).status, 200);
  const now = s.api.clock.now();
  await s.api.deps.db.insert(samlConfigs).values({
    accountId: s.admin.accountId, metadataXml: '<EntityDescriptor/>', idpEntityId: 'https://idp.example.test', idpSsoUrl: 'https://idp.example.test/sso',
    idpCertificates: [], enabled: true, activatedAt: now, createdAt: now, updatedAt: now,
  });
  const res = await signInWithProvider(s);
  t.equal(res.status, 403);
  t.equal(res.body.code, 'saml_required');
  t.match(res.body.detail, `/v1/saml/${s.admin.accountId}/login`);
});
