// The OpenID Connect client side of sign-in with Google / Microsoft, through openid-client:
// discovery (once per provider and process), the authorization URL with state, nonce and a PKCE
// challenge (S256), and the code exchange that checks the ID token (signature from the provider's
// JWKS, issuer, audience, expiry, nonce) and the authorization response (state, RFC 9207 `iss`).
import * as client from 'openid-client';
import type { AppDeps } from '../../deps.ts';
import type { OidcProviderConfig, OidcProviderName } from '../../config.ts';
import { ApiError } from '../../errors.ts';

const discovered = new Map<string, Promise<client.Configuration>>();

export function providerConfig(deps: Pick<AppDeps, 'config'>, provider: OidcProviderName): OidcProviderConfig {
  const config = deps.config.oidc?.[provider];
  if (!config) {
    throw new ApiError(404, 'oidc_provider_not_configured', 'Not Found', `Sign-in with ${provider} is not configured on this installation (COFFER_OIDC_${provider.toUpperCase()}_CLIENT_ID).`);
  }
  return config;
}

export function redirectUri(deps: Pick<AppDeps, 'config'>, provider: OidcProviderName): string {
  return `${deps.config.publicUrl}/v1/oidc/${provider}/callback`;
}

/** The provider's configuration from its discovery document; a failure is not remembered. */
export async function clientFor(deps: Pick<AppDeps, 'config'>, provider: OidcProviderName): Promise<client.Configuration> {
  const config = providerConfig(deps, provider);
  const key = `${config.issuer}\n${config.clientId}`;
  let pending = discovered.get(key);
  if (!pending) {
    // Plain http is accepted by api/config.ts only for a provider on this machine.
    const insecure = config.issuer.startsWith('http:') ? [client.allowInsecureRequests] : [];
    pending = client.discovery(new URL(config.issuer), config.clientId, { redirect_uris: [redirectUri(deps, provider)] }, client.ClientSecretPost(config.clientSecret), { execute: insecure, timeout: 10 });
    discovered.set(key, pending);
    pending.catch(() => discovered.delete(key));
  }
  try {
    return await pending;
  } catch (err) {
    throw new ApiError(503, 'oidc_provider_unavailable', 'Service Unavailable', `The ${provider} sign-in service could not be reached (${(err as Error).message}); try again later.`);
  }
}

export interface AuthorizationRequest { url: string; state: string; nonce: string; codeVerifier: string }

export async function authorizationRequest(deps: Pick<AppDeps, 'config'>, provider: OidcProviderName): Promise<AuthorizationRequest> {
  const config = await clientFor(deps, provider);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const codeVerifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri(deps, provider),
    scope: 'openid email profile',
    response_type: 'code',
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  });
  return { url: url.href, state, nonce, codeVerifier };
}

export interface VerifiedIdentity { issuer: string; subject: string; email: string | null; emailVerified: boolean }

/** The claim an ID token check failed on: openid-client wraps oauth4webapi's error, whose cause names it. */
function failedClaim(err: unknown): string | undefined {
  for (let e = err as { cause?: unknown; claim?: unknown } | undefined, depth = 0; e && typeof e === 'object' && depth < 4; e = e.cause as typeof e, depth++) {
    if (typeof e.claim === 'string') return e.claim;
  }
  return undefined;
}

/** Classifies openid-client's refusal; a nonce mismatch is told apart because it means a token minted for another request. */
function refusal(err: unknown): ApiError {
  const message = (err as Error).message ?? String(err);
  if (failedClaim(err) === 'nonce') {
    return new ApiError(401, 'oidc_invalid_nonce', 'Unauthorized', 'The ID token does not answer this sign-in (its nonce differs): start again.');
  }
  if ((err as { error?: unknown }).error === 'invalid_grant') {
    return new ApiError(401, 'oidc_code_rejected', 'Unauthorized', 'The provider refused the authorization code (already used, expired, or not issued for this request): start again.');
  }
  return new ApiError(401, 'oidc_invalid_response', 'Unauthorized', `The provider's answer is not acceptable: ${message}`);
}

/** Exchanges the code (with the PKCE verifier) and returns who the ID token says signed in. */
export async function exchangeCode(
  deps: Pick<AppDeps, 'config'>,
  provider: OidcProviderName,
  callbackQuery: string,
  expected: { state: string; nonce: string; codeVerifier: string },
): Promise<VerifiedIdentity> {
  const config = await clientFor(deps, provider);
  const current = new URL(redirectUri(deps, provider));
  current.search = callbackQuery;
  let tokens;
  try {
    tokens = await client.authorizationCodeGrant(config, current, { expectedState: expected.state, expectedNonce: expected.nonce, pkceCodeVerifier: expected.codeVerifier });
  } catch (err) {
    throw refusal(err);
  }
  const claims = tokens.claims();
  if (!claims) throw new ApiError(401, 'oidc_invalid_response', 'Unauthorized', 'The provider answered without an ID token.');
  return {
    issuer: claims.iss,
    subject: claims.sub,
    email: typeof claims.email === 'string' ? claims.email : null,
    emailVerified: claims.email_verified === true,
  };
}
