// A Coffer account with SAML switched on against a local identity provider, and the browser's
// side of the SAML flow (SP-initiated login, posting to the ACS), shared by the SAML tests.
import type { Test } from 'tap';
import { startTestApp, type TestApp } from './app.ts';
import { startTestIdp, type TestIdp } from './saml-idp.ts';
import { PASSWORD } from './security.ts';

export const UA = 'Mozilla/5.0 Chrome/120.0 Safari/537.36';

export function sp(api: TestApp, accountId: string) {
  const base = `${api.deps.config.publicUrl}/v1/saml/${accountId}`;
  return { entityId: `${base}/metadata`, acsUrl: `${base}/acs`, loginUrl: `${base}/login` };
}

export async function acs(api: TestApp, accountId: string, samlResponse: string, extra: Record<string, string> = {}) {
  return api.request('POST', `/v1/saml/${accountId}/acs`, {
    body: new URLSearchParams({ SAMLResponse: samlResponse, ...extra }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': UA },
  });
}

export async function startLogin(api: TestApp, idp: TestIdp, accountId: string, relay?: string) {
  const res = await fetch(`${api.url}/v1/saml/${accountId}/login${relay ? `?relay_state=${encodeURIComponent(relay)}` : ''}`, { redirect: 'manual' });
  if (res.status !== 302) throw new Error(`login: ${res.status} ${await res.text()}`);
  return idp.readAuthnRequest(res.headers.get('location')!);
}

export async function setUpSaml(t: Test) {
  const api = await startTestApp(t, { config: { samlMetadataTrustedHosts: ['127.0.0.1'] } });
  const idp = await startTestIdp(t);
  const admin = await api.signUp();
  const email = admin.body.user.email as string;
  const on = await api.request('PUT', '/v1/security/saml', { key: admin.key, body: { metadata_url: idp.metadataUrl, enabled: true, confirm: true, current_password: PASSWORD } });
  if (on.status !== 200) throw new Error(`saml: ${on.status} ${on.text}`);
  return { api, idp, admin, email, urls: sp(api, admin.accountId) };
}
