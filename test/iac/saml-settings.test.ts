// coffer_saml_settings through plan and apply: uploaded metadata and the step-up password are
// write-only; enabling is the confirmation; destroy deactivates SAML, which needs the step-up proof.
import t from 'tap';
import { adminIac } from '../helpers/iac-admin.ts';
import { idpMetadata, makeIdpKeys } from '../helpers/saml-idp.ts';

t.test('coffer_saml_settings: configure, activate, write-only metadata and password, destroy needs the proof', async (t) => {
  const h = await adminIac(t);
  const xml = idpMetadata('https://idp.example.test', 'https://idp.example.test/sso', makeIdpKeys().certB64);
  const config = (enabled: boolean, mfa: boolean) => `
resource "coffer_saml_settings" "main" {
  enabled          = ${enabled}
  idp_performs_mfa = ${mfa}
  metadata_xml     = <<EOT
${xml}
EOT
  metadata_xml_version = 1
  current_password     = "correct horse battery staple"
}
`;
  await h.config(config(false, false));
  t.same(h.actions((await h.apply()).plan), { 'coffer_saml_settings.main': 'create' });
  t.match((await h.api.request('GET', '/v1/security/saml', { key: h.admin.key })).body, { configured: true, enabled: false, idp_entity_id: 'https://idp.example.test', metadata_source: 'upload' });
  const stored = JSON.stringify((await h.backend.read())!.state);
  t.notOk(stored.includes('correct horse'), 'the step-up password is not in state');
  t.notOk(stored.includes('EntityDescriptor'), 'nor the uploaded metadata');
  t.same(h.actions(await h.plan()), {}, 'No changes');

  await h.config(config(true, true));
  t.same(h.actions((await h.apply()).plan), { 'coffer_saml_settings.main': 'update' });
  t.match((await h.api.request('GET', '/v1/security/saml', { key: h.admin.key })).body, { enabled: true, sign_in_method: 'saml', idp_performs_mfa: true });
  t.same(h.actions(await h.plan()), {});

  await t.rejects(h.destroy(), /deactivating SAML needs the caller's step-up proof.*set enabled = false with current_password/s);
  t.equal((await h.api.request('GET', '/v1/security/saml', { key: h.admin.key })).body.enabled, true, 'still active');
  await h.config(config(false, true));
  await h.apply();
  await h.destroy();
  t.match((await h.api.request('GET', '/v1/security/saml', { key: h.admin.key })).body, { enabled: false, sign_in_method: 'password' });
});
