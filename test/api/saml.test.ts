import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { makeIdpKeys, startTestIdp, type TestIdp } from '../helpers/saml-idp.ts';
import { PASSWORD } from '../helpers/security.ts';
import { sp, acs, startLogin, setUpSaml } from '../helpers/saml.ts';
import { newId } from '../../db/ids.ts';


t.test('configure by metadata URL, confirm activation, sign in through the IdP', async (t) => {
  const api = await startTestApp(t, { config: { samlMetadataTrustedHosts: ['127.0.0.1'] } });
  const idp = await startTestIdp(t);
  const admin = await api.signUp();
  const urls = sp(api, admin.accountId);

  const before = await api.request('GET', '/v1/security/saml', { key: admin.key });
  t.equal(before.status, 200);
  t.match(before.body, { configured: false, enabled: false, sign_in_method: 'password', metadata_source: null, idp_entity_id: null, sp_entity_id: urls.entityId, sp_acs_url: urls.acsUrl });
  t.equal(before.headers.get('etag'), '"v0"');

  const noConfirm = await api.request('PUT', '/v1/security/saml', { key: admin.key, body: { metadata_url: idp.metadataUrl, enabled: true, current_password: PASSWORD } });
  t.equal(noConfirm.status, 400);
  t.equal(noConfirm.body.code, 'confirmation_required');
  t.same(noConfirm.body.errors, [{ pointer: '/body/confirm', detail: 'must be true to activate SAML' }]);
  const stillPassword = await api.request('POST', '/v1/sessions', { body: { email: admin.body.user.email, password: PASSWORD } });
  t.equal(stillPassword.status, 201, 'nothing changed without confirmation');

  const stale = await api.request('PUT', '/v1/security/saml', { key: admin.key, body: { metadata_url: idp.metadataUrl, enabled: true, confirm: true, current_password: PASSWORD }, headers: { 'if-match': '"v7"' } });
  t.equal(stale.status, 412);

  const on = await api.request('PUT', '/v1/security/saml', { key: admin.key, body: { metadata_url: idp.metadataUrl, enabled: true, confirm: true, current_password: PASSWORD }, headers: { 'if-match': '"v0"' } });
  t.equal(on.status, 200, on.text);
  t.match(on.body, {
    provider: 'okta', configured: true, enabled: true, sign_in_method: 'saml', metadata_source: 'url', metadata_url: idp.metadataUrl,
    idp_entity_id: idp.entityId, idp_sso_url: idp.ssoUrl,
  });
  t.equal(on.body.idp_certificates.length, 1);
  t.match(on.body.idp_certificates[0], { subject: 'CN=test-idp.example.test', fingerprint_sha256: /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/ });
  t.equal(on.headers.get('etag'), '"v1"');
  t.ok(on.body.activated_at);

  // Password sign-in is now refused with a clear code, and the refusal is audited.
  const pw = await api.request('POST', '/v1/sessions', { body: { email: admin.body.user.email, password: PASSWORD } });
  t.equal(pw.status, 403);
  t.equal(pw.body.code, 'saml_required');
  t.match(pw.body.detail, urls.loginUrl);
  const wrongPw = await api.request('POST', '/v1/sessions', { body: { email: admin.body.user.email, password: 'not the password!' } });
  t.equal(wrongPw.body.code, 'invalid_credentials', 'a wrong password does not learn that SAML is on');

  // SP metadata (public).
  const md = await api.request('GET', `/v1/saml/${admin.accountId}/metadata`);
  t.equal(md.status, 200);
  t.match(md.headers.get('content-type'), /^application\/samlmetadata\+xml/);
  t.match(md.text, `entityID="${urls.entityId}"`);
  t.match(md.text, `Location="${urls.acsUrl}"`);

  // SP-initiated login.
  const res = await fetch(`${api.url}/v1/saml/${admin.accountId}/login?relay_state=%2Fdashboard`, { redirect: 'manual' });
  t.equal(res.status, 302);
  const location = res.headers.get('location')!;
  t.ok(location.startsWith(idp.ssoUrl + '?SAMLRequest='), location);
  const authn = idp.readAuthnRequest(location);
  t.equal(authn.acsUrl, urls.acsUrl);
  t.equal(authn.issuer, urls.entityId);
  t.equal(authn.relayState, '/dashboard');
  const stored = await api.database.sql`select account_id from saml_requests where id = ${authn.id}`;
  t.equal(stored[0]?.account_id, admin.accountId, 'the request id is remembered for the account');

  const signed = idp.response({ inResponseTo: authn.id, nameId: admin.body.user.email.toUpperCase(), audience: urls.entityId, recipient: urls.acsUrl });
  const ok = await acs(api, admin.accountId, signed, { RelayState: '/dashboard' });
  t.equal(ok.status, 201, ok.text);
  t.match(ok.body.token, /^cfs_[0-9A-Za-z]{32}$/);
  t.equal(ok.body.user.id, admin.userId);
  const me = await api.request('GET', '/v1/me', { key: ok.body.token });
  t.equal(me.status, 200);
  t.equal(me.body.credential.kind, 'session');
  t.equal((await api.database.sql`select count(*)::int as n from saml_requests where id = ${authn.id}`)[0]!.n, 0, 'the request id is used up');

  // Replaying the same response is refused.
  const replay = await acs(api, admin.accountId, signed);
  t.equal(replay.status, 401);
  t.equal(replay.body.code, 'saml_replayed');

  const audit = await api.request('GET', '/v1/audit?limit=100', { key: admin.key });
  const events = audit.body.data as { type: string; status: string; description: string; details: any }[];
  const success = events.find((e) => e.type === 'sign_in' && e.details?.method === 'saml');
  t.ok(success, 'SAML sign-in audited');
  t.match(success!.description, /^SAML sign in \(OK\) Chrome from ip-127\.0\.0\.1$/);
  t.ok(events.find((e) => e.type === 'sign_in_failed' && e.details?.code === 'saml_replayed'), 'replay audited');
  t.ok(events.find((e) => e.type === 'sign_in_failed' && /password sign-in disabled/.test(e.description)), 'refused password sign-in audited');
  t.ok(events.find((e) => e.type === 'settings_changed' && /SAML activated/.test(e.description)), 'activation audited');

  // Deactivating brings password sign-in back; the ACS then refuses.
  const off = await api.request('PUT', '/v1/security/saml', { key: admin.key, body: { enabled: false, current_password: PASSWORD } });
  t.equal(off.status, 200);
  t.match(off.body, { enabled: false, configured: true, sign_in_method: 'password', idp_entity_id: idp.entityId, activated_at: null });
  t.equal((await api.request('POST', '/v1/sessions', { body: { email: admin.body.user.email, password: PASSWORD } })).status, 201);
  const disabledLogin = await api.request('GET', `/v1/saml/${admin.accountId}/login`);
  t.equal(disabledLogin.status, 409);
  t.equal(disabledLogin.body.code, 'saml_not_enabled');
  const disabledAcs = await acs(api, admin.accountId, signed);
  t.equal(disabledAcs.status, 409);
  t.equal(disabledAcs.body.code, 'saml_not_enabled');
});

t.test('every bad response is rejected with a clear code and audited', async (t) => {
  const { api, idp, admin, email, urls } = await setUpSaml(t);
  const good = async (o: Partial<Parameters<TestIdp['response']>[0]> = {}) => {
    const authn = await startLogin(api, idp, admin.accountId);
    return idp.response({ inResponseTo: authn.id, nameId: email, audience: urls.entityId, recipient: urls.acsUrl, ...o });
  };
  const cases: [string, () => Promise<string>, string][] = [
    ['forged (signed with another key)', async () => good({ signWith: makeIdpKeys('attacker.example.test') }), 'saml_invalid_signature'],
    ['tampered after signing', async () => good({ tamper: (xml) => xml.replace(`>${email}<`, '>intruder@example.test<') }), 'saml_invalid_signature'],
    ['tampered audience after signing', async () => good({ tamper: (xml) => xml.replace(`<saml2:Audience>${urls.entityId}`, '<saml2:Audience>https://elsewhere.example.test') }), 'saml_invalid_signature'],
    ['expired', async () => good({ issuedAt: new Date(Date.now() - 3600_000), notOnOrAfter: new Date(Date.now() - 600_000) }), 'saml_expired'],
    ['not yet valid', async () => good({ notBefore: new Date(Date.now() + 600_000) }), 'saml_not_yet_valid'],
    ['wrong audience', async () => good({ audience: 'https://other-sp.example.test/metadata' }), 'saml_wrong_audience'],
    ['answers no request of ours', async () => idp.response({ inResponseTo: '_unknown_request_id', nameId: email, audience: urls.entityId, recipient: urls.acsUrl }), 'saml_invalid_in_response_to'],
    ['unsolicited (no InResponseTo)', async () => idp.response({ nameId: email, audience: urls.entityId, recipient: urls.acsUrl }), 'saml_invalid_in_response_to'],
    ['wrong recipient', async () => good({ recipient: 'https://evil.example.test/acs' }), 'saml_wrong_recipient'],
    ['unknown user', async () => good({ nameId: 'stranger@example.test' }), 'saml_unknown_user'],
    ['not base64 XML', async () => Buffer.from('<not-saml/>').toString('base64'), 'saml_invalid_response'],
  ];
  for (const [label, make, code] of cases) {
    const res = await acs(api, admin.accountId, await make());
    t.equal(res.status, 401, `${label}: ${res.text}`);
    t.equal(res.body.code, code, label);
    t.equal(res.body.token, undefined);
  }
  const sessions = await api.database.sql`select count(*)::int as n from sessions where account_id = ${admin.accountId}`;
  t.equal(sessions[0]!.n, 0, 'no session was started');
  const failures = await api.database.sql`select details from audit_events where account_id = ${admin.accountId} and type = 'sign_in_failed' order by seq`;
  t.same(failures.map((f) => f.details.code), cases.map((c) => c[2]), 'every failure audited with its code');

  // A request id can be answered only once, even by a fresh assertion.
  const authn = await startLogin(api, idp, admin.accountId);
  const first = await acs(api, admin.accountId, idp.response({ inResponseTo: authn.id, nameId: email, audience: urls.entityId, recipient: urls.acsUrl }));
  t.equal(first.status, 201);
  const again = await acs(api, admin.accountId, idp.response({ inResponseTo: authn.id, nameId: email, audience: urls.entityId, recipient: urls.acsUrl }));
  t.equal(again.status, 401);
  t.equal(again.body.code, 'saml_invalid_in_response_to');

  // A deactivated user is refused.
  await api.database.sql`update users set state = 'deactivated' where id = ${admin.userId}`;
  const inactive = await acs(api, admin.accountId, await good());
  t.equal(inactive.status, 401);
  t.equal(inactive.body.code, 'user_inactive');

  // Outside an enabled IP allowlist, a valid response signs nobody in.
  await api.database.sql`update users set state = 'active' where id = ${admin.userId}`;
  await api.database.sql`insert into account_security (account_id, ip_allowlist_enabled) values (${admin.accountId}, true)
    on conflict (account_id) do update set ip_allowlist_enabled = true`;
  await api.database.sql`insert into ip_rules (id, account_id, kind, cidr, created_at, updated_at)
    values (${newId('ipr')}, ${admin.accountId}, 'cidr', '10.0.0.0/8', now(), now())`;
  const outside = await acs(api, admin.accountId, await good());
  t.equal(outside.status, 403);
  t.equal(outside.body.code, 'access_denied');

  // The form must carry SAMLResponse.
  const empty = await api.request('POST', `/v1/saml/${admin.accountId}/acs`, { body: 'RelayState=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.equal(empty.status, 400);
  t.equal(empty.body.code, 'validation_failed');
});

