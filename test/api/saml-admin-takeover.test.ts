// SAML decides who may sign in as anyone, so changing it is an administrator's act with a fresh
// proof of who they are, and signing in through it does not skip a user's TOTP.
import t from 'tap';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { startTestIdp } from '../helpers/saml-idp.ts';
import { acs, setUpSaml, sp, startLogin } from '../helpers/saml.ts';
import { inviteAndConfirm, PASSWORD, sessionFor, totpCode } from '../helpers/security.ts';

async function enableTotp(api: TestApp, key: string): Promise<string> {
  const setup = await api.request('POST', '/v1/me/2fa', { key });
  const secret = setup.body.secret as string;
  const confirmed = await api.request('POST', '/v1/me/2fa/confirm', { key, body: { code: totpCode(secret, api.clock.now()) } });
  if (confirmed.status !== 200) throw new Error(`2fa: ${confirmed.status} ${confirmed.text}`);
  api.clock.advance(30_000); // the next code is a new time-step
  return secret;
}

t.test('a security:manage user cannot switch SAML to their own IdP and sign in as the administrator', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url } });
  const admin = await api.signUp();
  const attacker = await inviteAndConfirm(api, smtp, admin.key, { permissions: ['security:manage'] });
  const session = await sessionFor(api, attacker.email);
  const evilIdp = await startTestIdp(t);

  const takeover = await api.request('PUT', '/v1/security/saml', {
    key: session, body: { metadata_xml: evilIdp.metadataXml, enabled: true, confirm: true },
  });
  t.equal(takeover.status, 403);
  t.equal(takeover.body.code, 'administrator_required');
  const settings = await api.request('GET', '/v1/security/saml', { key: session });
  t.equal(settings.status, 200, 'reading the settings stays with security:manage');
  t.match(settings.body, { configured: false, enabled: false, idp_entity_id: null });

  // The rest of the attack: an assertion for the administrator signed by the attacker's IdP.
  const urls = sp(api, admin.accountId);
  const forged = evilIdp.response({ nameId: admin.body.user.email, audience: urls.entityId, recipient: urls.acsUrl });
  const signIn = await acs(api, admin.accountId, forged);
  t.equal(signIn.status, 409);
  t.equal(signIn.body.code, 'saml_not_enabled');

  // Nor may they loosen the security policy the administrators live under.
  const policy = await api.request('PATCH', '/v1/security/policy', { key: session, body: { enforce_2fa: true } });
  t.equal(policy.status, 403);
  t.equal(policy.body.code, 'administrator_required');
  t.equal((await api.request('GET', '/v1/security/policy', { key: session })).body.enforce_2fa, false);
  t.equal((await api.request('PATCH', '/v1/security/policy', { key: admin.key, body: { password_expiration_days: 90 } })).status, 200, 'an administrator may');
});

t.test('a stolen administrator credential cannot change SAML without the password (or TOTP code)', async (t) => {
  const api = await startTestApp(t);
  const idp = await startTestIdp(t);
  const admin = await api.signUp();
  const put = (body: object, key = admin.key) => api.request('PUT', '/v1/security/saml', { key, body: { metadata_xml: idp.metadataXml, enabled: true, confirm: true, ...body } });

  const bare = await put({});
  t.equal(bare.status, 403);
  t.equal(bare.body.code, 'step_up_required');
  t.match(bare.body.detail, '`current_password`');
  const wrong = await put({ current_password: 'not the password at all' });
  t.equal(wrong.status, 403);
  t.equal(wrong.body.code, 'step_up_failed');
  const audited = await api.database.sql`select type, status, details from audit_events where account_id = ${admin.accountId} and type = 'step_up_failed'`;
  t.same(audited.map((a) => [a.status, a.details.factor]), [['failed', 'password']]);
  t.equal((await api.request('GET', '/v1/security/saml', { key: admin.key })).body.configured, false, 'nothing changed');

  // An API key (no human at the keyboard) proves it with the same field.
  const ok = await put({ current_password: PASSWORD });
  t.equal(ok.status, 200, ok.text);
  t.equal(ok.body.enabled, true);
  t.equal(ok.body.idp_performs_mfa, false, 'the identity provider is not trusted for MFA by default');
  const [event] = await api.database.sql`select details from audit_events where account_id = ${admin.accountId} and type = 'settings_changed' order by seq desc limit 1`;
  t.equal(event!.details.confirmed_with, 'password');

  // With two-factor authentication on, the password is not enough: the code is the proof.
  const secret = await enableTotp(api, admin.key);
  const pwOnly = await api.request('PUT', '/v1/security/saml', { key: admin.key, body: { enabled: false, current_password: PASSWORD } });
  t.equal(pwOnly.status, 403);
  t.equal(pwOnly.body.code, 'step_up_required');
  t.match(pwOnly.body.detail, '`totp_code`');
  const badCode = await api.request('PUT', '/v1/security/saml', { key: admin.key, body: { enabled: false, totp_code: totpCode(secret, new Date(api.clock.now().getTime() + 600_000)) } });
  t.equal(badCode.body.code, 'step_up_failed');
  const code = totpCode(secret, api.clock.now());
  const off = await api.request('PUT', '/v1/security/saml', { key: admin.key, body: { enabled: false, totp_code: code } });
  t.equal(off.status, 200, off.text);
  t.equal(off.body.enabled, false);
  const reused = await api.request('PUT', '/v1/security/saml', { key: admin.key, body: { enabled: false, totp_code: code } });
  t.equal(reused.body.code, 'step_up_failed', 'a code proves it once');
});

t.test('SAML sign-in does not skip TOTP: the code is asked for after the IdP, unless the IdP is trusted for MFA', async (t) => {
  const { api, idp, admin, email, urls } = await setUpSaml(t);
  const secret = await enableTotp(api, admin.key);
  // Issued on Coffer's clock, which the test moves forward for new TOTP time-steps.
  const assertion = async () => idp.response({ inResponseTo: (await startLogin(api, idp, admin.accountId)).id, nameId: email, audience: urls.entityId, recipient: urls.acsUrl, issuedAt: api.clock.now() });
  const sessions = async () => (await api.database.sql`select count(*)::int as n from sessions where user_id = ${admin.userId}`)[0]!.n;

  const first = await acs(api, admin.accountId, await assertion());
  t.equal(first.status, 401);
  t.equal(first.body.code, 'totp_required');
  t.equal(first.body.token, undefined, 'no session token yet');
  t.type(first.body.two_factor_token, 'string');
  t.equal(await sessions(), 0);
  const twoFactor = (body: object, accountId = admin.accountId) => api.request('POST', `/v1/saml/${accountId}/two-factor`, { body });

  // The token is bound to the account, expires, and allows three attempts.
  const other = await api.signUp();
  t.equal((await twoFactor({ two_factor_token: first.body.two_factor_token, totp_code: totpCode(secret, api.clock.now()) }, other.accountId)).body.code, 'invalid_two_factor_token');
  t.equal((await twoFactor({ two_factor_token: 's1.forged', totp_code: '123456' })).body.code, 'invalid_two_factor_token');
  const wrongCode = totpCode(secret, new Date(api.clock.now().getTime() + 600_000));
  for (let i = 0; i < 3; i++) {
    const wrong = await twoFactor({ two_factor_token: first.body.two_factor_token, totp_code: wrongCode });
    t.equal(wrong.status, 401);
    t.equal(wrong.body.code, 'invalid_totp_code');
  }
  const usedUp = await twoFactor({ two_factor_token: first.body.two_factor_token, totp_code: totpCode(secret, api.clock.now()) });
  t.equal(usedUp.body.code, 'invalid_two_factor_token', 'three wrong codes use the token up');
  t.equal(await sessions(), 0);

  const second = await acs(api, admin.accountId, await assertion());
  const done = await twoFactor({ two_factor_token: second.body.two_factor_token, totp_code: totpCode(secret, api.clock.now()) });
  t.equal(done.status, 201, done.text);
  t.match(done.body.token, /^cfs_/);
  t.equal(done.body.user.id, admin.userId);
  t.equal(done.body.user.two_factor_enabled, true);
  api.clock.advance(30_000);
  const again = await twoFactor({ two_factor_token: second.body.two_factor_token, totp_code: totpCode(secret, api.clock.now()) });
  t.equal(again.body.code, 'invalid_two_factor_token', 'one session per token');

  const third = await acs(api, admin.accountId, await assertion());
  t.equal(await sessions(), 1);

  // An administrator may declare that the identity provider performs MFA: then SAML alone suffices.
  api.clock.advance(30_000);
  const trust = await api.request('PUT', '/v1/security/saml', { key: admin.key, body: { enabled: true, idp_performs_mfa: true, totp_code: totpCode(secret, api.clock.now()) } });
  t.equal(trust.status, 200, trust.text);
  t.equal(trust.body.idp_performs_mfa, true);
  const direct = await acs(api, admin.accountId, await assertion());
  t.equal(direct.status, 201, direct.text);
  t.equal(await sessions(), 2);

  // Last, as it moves Coffer's clock past what the SAML library (on the machine's clock) accepts.
  api.clock.advance(5 * 60_000 + 1);
  const late = await twoFactor({ two_factor_token: third.body.two_factor_token, totp_code: totpCode(secret, api.clock.now()) });
  t.equal(late.body.code, 'invalid_two_factor_token', 'the token lasts 5 minutes');
  t.equal(await sessions(), 2);
});

t.test('SAML sign-in respects an enforced 2FA policy for users without TOTP', async (t) => {
  const { api, idp, admin, email, urls } = await setUpSaml(t);
  t.equal((await api.request('PATCH', '/v1/security/policy', { key: admin.key, body: { enforce_2fa: true } })).status, 200);
  const res = await acs(api, admin.accountId, idp.response({ inResponseTo: (await startLogin(api, idp, admin.accountId)).id, nameId: email, audience: urls.entityId, recipient: urls.acsUrl }));
  t.equal(res.status, 403);
  t.equal(res.body.code, 'two_factor_setup_required');
});
