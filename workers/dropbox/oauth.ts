// Dropbox OAuth 2 (code flow with offline access, so we get a refresh token). Token calls go to
// /oauth2/token with form-encoded parameters, as Dropbox documents; errors come back as
// `{ error, error_description }` and surface as DropboxAuthError.
import type { DropboxConfig } from './config.ts';
import { authorizeBase, tokenUrl, type Fetch } from './transport.ts';

export class DropboxAuthError extends Error {
  /** `invalid_grant` means the refresh token was revoked or the code is bad: reconnect. */
  readonly code: string;
  readonly status: number;
  constructor(code: string, status: number, description: string) {
    super(`Dropbox OAuth: ${code}${description ? ` (${description})` : ''}`);
    this.name = 'DropboxAuthError';
    this.code = code;
    this.status = status;
  }
}

export class DropboxNotConfiguredError extends Error {
  constructor() {
    super('COFFER_DROPBOX_APP_KEY and COFFER_DROPBOX_APP_SECRET are not configured');
    this.name = 'DropboxNotConfiguredError';
  }
}

function credentials(config: DropboxConfig): { appKey: string; appSecret: string } {
  if (!config.appKey || !config.appSecret) throw new DropboxNotConfiguredError();
  return { appKey: config.appKey, appSecret: config.appSecret };
}

/**
 * The scopes a Professional (individual) account is asked for: user scopes only, so Dropbox links
 * the token to that one account rather than to a team (docs/dropbox.md §1.4). Business tasks ask
 * for none here and get the app's configured (team) scopes.
 */
export const PERSONAL_SCOPES = ['account_info.read', 'files.metadata.read', 'files.content.read', 'files.content.write'];

export function buildAuthorizeUrl(config: DropboxConfig, opts: { state: string; redirectUri: string; scopes?: string[] }): string {
  const { appKey } = credentials(config);
  const url = new URL(authorizeBase(config.apiUrl) + '/oauth2/authorize');
  url.searchParams.set('client_id', appKey);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('token_access_type', 'offline');
  url.searchParams.set('state', opts.state);
  url.searchParams.set('redirect_uri', opts.redirectUri);
  if (opts.scopes) url.searchParams.set('scope', opts.scopes.join(' '));
  return url.toString();
}

export interface TokenGrant {
  accessToken: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  refreshToken?: string;
  teamId?: string;
  accountId?: string;
}

async function tokenRequest(config: DropboxConfig, fetch: Fetch, params: Record<string, string>, now: () => number): Promise<TokenGrant> {
  const { appKey, appSecret } = credentials(config);
  const body = new URLSearchParams({ ...params, client_id: appKey, client_secret: appSecret });
  const res = await fetch(tokenUrl(config.apiUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: body.toString(),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // plain-text errors (e.g. 400 for a malformed request, 5xx pages)
  }
  if (!res.ok) throw new DropboxAuthError(String(json.error ?? `http_${res.status}`), res.status, String(json.error_description ?? text.slice(0, 200)));
  if (typeof json.access_token !== 'string') throw new DropboxAuthError('invalid_response', res.status, 'no access_token in the token response');
  const expiresIn = typeof json.expires_in === 'number' ? json.expires_in : 14_400;
  return {
    accessToken: json.access_token,
    expiresAt: now() + expiresIn * 1000,
    refreshToken: typeof json.refresh_token === 'string' ? json.refresh_token : undefined,
    teamId: typeof json.team_id === 'string' ? json.team_id : undefined,
    accountId: typeof json.account_id === 'string' ? json.account_id : undefined,
  };
}

export function exchangeCode(config: DropboxConfig, fetch: Fetch, code: string, redirectUri: string, now = Date.now) {
  return tokenRequest(config, fetch, { grant_type: 'authorization_code', code, redirect_uri: redirectUri }, now);
}

export function refreshAccessToken(config: DropboxConfig, fetch: Fetch, refreshToken: string, now = Date.now) {
  return tokenRequest(config, fetch, { grant_type: 'refresh_token', refresh_token: refreshToken }, now);
}
