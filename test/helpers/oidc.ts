// Sign-in with an OpenID Connect provider, driven as a browser would: Coffer's login redirect (and
// its state cookie), the provider, and Coffer's callback.
import type { Test } from 'tap';
import { startTestApp, type SignedUp, type TestApp } from './app.ts';
import { startOidcProvider, type TestOidcProvider } from './oidc-provider.ts';

/** What Coffer believes its address is; callbacks are taken at this prefix and sent to the test app. */
export const PUBLIC_URL = 'http://coffer.test';
export const CALLBACK = `${PUBLIC_URL}/v1/oidc/google/callback`;

export interface OidcSetup { api: TestApp; idp: TestOidcProvider; admin: SignedUp; email: string }

export async function setUpOidc(t: Test): Promise<OidcSetup> {
  const idp = await startOidcProvider(t, { redirectUri: CALLBACK });
  const api = await startTestApp(t, { config: { publicUrl: PUBLIC_URL, oidc: { google: { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret } } } });
  const email = `admin-${Math.random().toString(36).slice(2, 8)}@acme.test`;
  const admin = await api.signUp({ email });
  return { api, idp, admin, email };
}

/** The callback URL (on the test app) the provider sent the browser back to. */
export function onApp(api: TestApp, callbackUrl: string): string {
  return api.url + callbackUrl.slice(PUBLIC_URL.length);
}

export async function callback(api: TestApp, url: string, cookie?: string) {
  const res = await fetch(url, { headers: cookie ? { cookie } : {} });
  await api.settled();
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

/** GET …/login: the provider URL and the cookie the browser was given. */
export async function startLogin(api: TestApp) {
  const res = await fetch(`${api.url}/v1/oidc/google/login`, { redirect: 'manual' });
  if (res.status !== 302) throw new Error(`login: ${res.status} ${await res.text()}`);
  const cookie = res.headers.getSetCookie()[0]!.split(';')[0]!;
  return { location: res.headers.get('location')!, cookie };
}

/** A whole sign-in as `idp.nextUser`, optionally changing the authorization URL on its way (an attack). */
export async function signInWithProvider(s: { api: TestApp; idp: TestOidcProvider }, tamper: (authorizeUrl: URL) => void = () => {}) {
  const { location, cookie } = await startLogin(s.api);
  const url = new URL(location);
  tamper(url);
  const back = await s.idp.authorize(url.href, PUBLIC_URL);
  return { ...(await callback(s.api, onApp(s.api, back), cookie)), callbackUrl: onApp(s.api, back), cookie };
}

/** POST /v1/me/identities → the provider (as `idp.nextUser`) → the callback. */
export async function link(s: { api: TestApp; idp: TestOidcProvider }, key: string) {
  const started = await s.api.request('POST', '/v1/me/identities', { key, body: { provider: 'google' } });
  if (started.status !== 201) throw new Error(`link: ${started.status} ${started.text}`);
  const back = await s.idp.authorize(started.body.authorize_url, PUBLIC_URL);
  return callback(s.api, onApp(s.api, back));
}
