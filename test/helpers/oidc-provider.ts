// A real OpenID Connect provider for tests (oidc-provider, the certified implementation) on a real
// socket on 127.0.0.1, with one confidential client whose redirect URI is Coffer's callback. Its
// login and consent screens are replaced by `nextUser`: whoever the test says is signed in at the
// provider. `authorize(url)` plays the browser between Coffer's redirect and the provider's
// redirect back (cookies included) and returns the callback URL the provider sent it to.
import type { Test } from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

export interface ProviderUser { sub: string; email: string; email_verified?: boolean }

export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Who is signed in at the provider when it is next asked. */
  nextUser: ProviderUser;
  /** Follows the provider's redirects from `authorizeUrl` until it sends the browser to `redirectPrefix`; that URL. */
  authorize(authorizeUrl: string, redirectPrefix: string): Promise<string>;
}

export async function startOidcProvider(t: Test, opts: { redirectUri: string }): Promise<TestOidcProvider> {
  const clientId = 'coffer-test';
  const clientSecret = 'coffer-test-secret-0123456789abcdef';
  const users = new Map<string, ProviderUser>();
  const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  let provider!: Provider;
  const state: TestOidcProvider = {
    issuer: '', clientId, clientSecret, nextUser: { sub: 'subject-1', email: 'someone@example.test' },
    async authorize(authorizeUrl, redirectPrefix) {
      // A new cookie jar each time: each authorization signs in whoever `nextUser` names now.
      const jar = new Map<string, string>();
      let url = authorizeUrl;
      for (let hop = 0; hop < 10; hop++) {
        if (url.startsWith(redirectPrefix)) return url;
        const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
        for (const c of res.headers.getSetCookie()) {
          const [pair] = c.split(';');
          const i = pair!.indexOf('=');
          jar.set(pair!.slice(0, i), pair!.slice(i + 1));
        }
        const location = res.headers.get('location');
        if (!location) throw new Error(`the provider answered ${res.status} without a redirect: ${await res.text()}`);
        url = new URL(location, url).href;
      }
      throw new Error('too many redirects at the provider');
    },
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith('/interaction/')) {
      void interaction(req, res).catch((err) => { res.statusCode = 500; res.end(String(err)); });
      return;
    }
    provider.callback()(req, res);
  });
  // The screens a person would see: log in as `nextUser`, then consent to what the client asks.
  async function interaction(req: IncomingMessage, res: ServerResponse) {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === 'login') {
      users.set(state.nextUser.sub, state.nextUser);
      await provider.interactionFinished(req, res, { login: { accountId: state.nextUser.sub } }, { mergeWithLastSubmission: false });
      return;
    }
    const grant = new provider.Grant({ accountId: details.session!.accountId, clientId: details.params.client_id });
    grant.addOIDCScope(String(details.params.scope ?? 'openid'));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  state.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  provider = new Provider(state.issuer, {
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [opts.redirectUri], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_post' }],
    jwks: { keys: [{ ...jwk, kid: 'test', use: 'sig', alg: 'RS256' }] },
    cookies: { keys: ['test-cookie-key-0123456789'] },
    pkce: { required: () => true },
    // Like Google, put the scope's claims (email) into the ID token itself.
    conformIdTokenClaims: false,
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx: unknown, id: string) => {
      const user = users.get(id);
      return user && { accountId: id, claims: async () => ({ sub: user.sub, email: user.email, email_verified: user.email_verified ?? true }) };
    },
  });
  return state;
}
