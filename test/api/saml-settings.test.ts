import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { idpMetadata, startTestIdp } from '../helpers/saml-idp.ts';
import { PASSWORD } from '../helpers/security.ts';
import { sp, acs, startLogin, setUpSaml } from '../helpers/saml.ts';
import { Coffer, CofferError } from '../../sdk/client.ts';


t.test('metadata: uploaded XML, invalid documents, SSRF guard', async (t) => {
  const api = await startTestApp(t);
  const idp = await startTestIdp(t);
  const admin = await api.signUp();
  const put = (body: object) => api.request('PUT', '/v1/security/saml', { key: admin.key, body: { current_password: PASSWORD, ...body } });

  // 127.0.0.1 is not trusted in this app: the metadata URL is refused before any request.
  const local = await put({ metadata_url: idp.metadataUrl, enabled: false });
  t.equal(local.status, 400);
  t.equal(local.body.code, 'metadata_url_forbidden');
  for (const url of ['https://127.0.0.1/metadata', 'https://10.1.2.3/m', 'https://[::1]/m', 'https://169.254.169.254/latest/meta-data', 'https://localhost/m', 'ftp://example.test/m', 'https://user:pw@example.test/m']) {
    const res = await put({ metadata_url: url, enabled: false });
    t.equal(res.status, 400, url);
    t.equal(res.body.code, 'metadata_url_forbidden', url);
  }

  api.deps.config.samlMetadataTrustedHosts = ['127.0.0.1'];
  const redirect = await put({ metadata_url: idp.metadataUrl.replace('/metadata', '/redirect'), enabled: false });
  t.equal(redirect.status, 400);
  t.equal(redirect.body.code, 'metadata_fetch_failed');
  t.match(redirect.body.detail, /redirect/);
  const missing = await put({ metadata_url: idp.metadataUrl.replace('/metadata', '/nothing'), enabled: false });
  t.equal(missing.body.code, 'metadata_fetch_failed');

  const bad: [string, RegExp][] = [
    ['<md:EntityDescriptor', /well-formed/],
    ['<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', /DOCTYPE/],
    ['<root/>', /no EntityDescriptor/],
    [idpMetadata('urn:idp', 'https://idp.example.test/sso', idp.keys.certB64, { bindings: ['HTTP-POST'] }), /only HTTP-POST/],
    [idpMetadata('urn:idp', 'https://idp.example.test/sso', idp.keys.certB64).replace(/<md:KeyDescriptor[\s\S]*<\/md:KeyDescriptor>/, ''), /no signing certificate/],
    [idpMetadata('urn:idp', 'https://idp.example.test/sso', Buffer.from('not a certificate').toString('base64')), /not a valid X\.509/],
  ];
  for (const [xml, detail] of bad) {
    const res = await put({ metadata_xml: xml, enabled: false });
    t.equal(res.status, 400, xml.slice(0, 40));
    t.equal(res.body.code, 'invalid_metadata');
    t.match(res.body.detail, detail);
  }
  const both = await put({ metadata_xml: idp.metadataXml, metadata_url: idp.metadataUrl, enabled: false });
  t.equal(both.body.code, 'validation_failed');
  const nothing = await put({ enabled: false });
  t.equal(nothing.body.code, 'validation_failed');

  const uploaded = await put({ metadata_xml: idp.metadataXml, enabled: false });
  t.equal(uploaded.status, 200);
  t.match(uploaded.body, { configured: true, enabled: false, metadata_source: 'upload', metadata_url: null, idp_entity_id: idp.entityId, idp_sso_url: idp.ssoUrl });
  // Configured but not active: password sign-in still works.
  t.equal((await api.request('POST', '/v1/sessions', { body: { email: admin.body.user.email, password: PASSWORD } })).status, 201);
  // Activating later with the stored metadata.
  const on = await put({ enabled: true, confirm: true });
  t.equal(on.status, 200);
  t.equal(on.body.enabled, true);
  t.equal(on.body.metadata_source, 'upload');
});

t.test('tenant isolation and permissions', async (t) => {
  const { api, idp, admin, email, urls } = await setUpSaml(t);
  const other = await api.signUp();
  const otherUrls = sp(api, other.accountId);

  const mine = await api.request('GET', '/v1/security/saml', { key: other.key });
  t.equal(mine.status, 200);
  t.equal(mine.body.configured, false, 'B sees its own settings, not A\'s');
  t.equal(mine.body.sp_entity_id, otherUrls.entityId);

  // B has no SAML: its login and ACS refuse; A's response posted to B's ACS signs nobody in.
  const authn = await startLogin(api, idp, admin.accountId);
  const forA = idp.response({ inResponseTo: authn.id, nameId: email, audience: urls.entityId, recipient: urls.acsUrl });
  t.equal((await acs(api, other.accountId, forA)).body.code, 'saml_not_enabled');
  t.equal((await api.request('GET', `/v1/saml/${other.accountId}/login`)).body.code, 'saml_not_enabled');

  // B trusts the same IdP: A's assertion is still not for B (audience), and A's user is not B's.
  const onB = await api.request('PUT', '/v1/security/saml', { key: other.key, body: { metadata_xml: idp.metadataXml, enabled: true, confirm: true, current_password: PASSWORD } });
  t.equal(onB.status, 200);
  const authnB0 = await startLogin(api, idp, other.accountId);
  const crossed = await acs(api, other.accountId, idp.response({ inResponseTo: authnB0.id, nameId: other.body.user.email, audience: urls.entityId, recipient: otherUrls.acsUrl }));
  t.equal(crossed.status, 401);
  t.equal(crossed.body.code, 'saml_wrong_audience');
  const authnB = await startLogin(api, idp, other.accountId);
  const aUserAtB = await acs(api, other.accountId, idp.response({ inResponseTo: authnB.id, nameId: email, audience: otherUrls.entityId, recipient: otherUrls.acsUrl }));
  t.equal(aUserAtB.body.code, 'saml_unknown_user', 'a user of A cannot sign in to B');
  // A request id of A cannot be answered at B.
  const authnA = await startLogin(api, idp, admin.accountId);
  const stolen = await acs(api, other.accountId, idp.response({ inResponseTo: authnA.id, nameId: other.body.user.email, audience: otherUrls.entityId, recipient: otherUrls.acsUrl }));
  t.equal(stolen.body.code, 'saml_invalid_in_response_to');
  // A's request id still works at A.
  const atA = await acs(api, admin.accountId, idp.response({ inResponseTo: authnA.id, nameId: email, audience: urls.entityId, recipient: urls.acsUrl }));
  t.equal(atA.status, 201);
  t.equal(atA.body.user.id, admin.userId);

  const unknown = 'acct_' + '0'.repeat(26);
  t.equal((await api.request('GET', `/v1/saml/${unknown}/metadata`)).status, 404);
  t.equal((await api.request('GET', `/v1/saml/${unknown}/login`)).status, 404);
  t.equal((await acs(api, unknown, forA)).status, 404);
  t.equal((await api.request('GET', '/v1/saml/not-an-id/metadata')).status, 400);

  // Permission: security:manage.
  const key = await api.request('POST', '/v1/api-keys', { key: admin.key, body: { name: 'read only', scopes: ['account:read'] } });
  t.equal(key.status, 201, key.text);
  const denied = await api.request('GET', '/v1/security/saml', { key: key.body.secret });
  t.equal(denied.status, 403);
  t.equal(denied.body.code, 'permission_denied');
  t.equal((await api.request('PUT', '/v1/security/saml', { key: key.body.secret, body: { enabled: false } })).status, 403);
  t.equal((await api.request('GET', '/v1/security/saml')).status, 401);
});

t.test('through the SDK: configure and read the SAML settings', async (t) => {
  const api = await startTestApp(t);
  const idp = await startTestIdp(t);
  const a = await api.signUp();
  const coffer = new Coffer({ baseUrl: api.url, apiKey: a.key });
  const err = (await coffer.put('/v1/security/saml', { body: { metadata_xml: idp.metadataXml, enabled: true, current_password: PASSWORD } }).catch((e: unknown) => e)) as CofferError;
  t.ok(err instanceof CofferError);
  t.equal(err.code, 'confirmation_required');
  const on = await coffer.put('/v1/security/saml', { body: { metadata_xml: idp.metadataXml, enabled: true, confirm: true, current_password: PASSWORD } });
  t.equal(on.sign_in_method, 'saml');
  const read = await coffer.get('/v1/security/saml');
  t.equal(read.idp_entity_id, idp.entityId);
});
