// /oauth2/authorize (auto-approves as the team's first admin, or for user scopes only as the personal
// account, giving a user-linked token) and /oauth2/token (code + refresh grants).
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SCOPES, USER_SCOPES, type TeamState } from './state.ts';
import { recordSecret } from '../helpers/secret-record.ts';

export interface AppCredentials {
  appKey?: string;
  appSecret?: string;
}

const CODE_TTL_MS = 10 * 60 * 1000;

function oauthError(res: ServerResponse, status: number, error: string, description: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error, error_description: description }));
}

export function authorize(state: TeamState, app: AppCredentials, url: URL, res: ServerResponse): void {
  const q = url.searchParams;
  const clientId = q.get('client_id') ?? '';
  if (!clientId || (app.appKey && clientId !== app.appKey)) {
    res.writeHead(400, { 'Content-Type': 'text/plain' }).end('Invalid client_id: app not found');
    return;
  }
  if (q.get('response_type') !== 'code') {
    res.writeHead(400, { 'Content-Type': 'text/plain' }).end('Invalid response_type: only "code" is supported');
    return;
  }
  // An app that asks for user scopes only gets a token linked to the approving account (the personal
  // account when the emulator has one), not a team token.
  const scopes = q.get('scope')?.split(/\s+/).filter(Boolean);
  const userOnly = scopes !== undefined && scopes.length > 0 && !scopes.some((sc) => sc.startsWith('team_') || sc.startsWith('members.') || sc.startsWith('groups.') || sc.startsWith('events.') || sc.startsWith('sessions.'));
  const approver = userOnly ? state.personalAccount ?? state.firstAdmin() : state.firstAdmin(); // throws (→ 500) on a team without an admin: nobody could approve
  const code = state.ids.nextOpaque('emu-code-');
  const redirectUri = q.get('redirect_uri') ?? undefined;
  recordSecret('Dropbox OAuth code', code);
  state.authCodes.set(code, {
    code, clientId, redirectUri, used: false, expiresAtMs: state.clock() + CODE_TTL_MS,
    codeChallenge: q.get('code_challenge') ?? undefined,
    tokenAccessType: q.get('token_access_type') ?? 'online',
    ...(userOnly ? { userId: approver.teamMemberId } : {}),
  });
  if (!redirectUri) {
    // No redirect: Dropbox shows the code for the user to paste.
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end(code);
    return;
  }
  const target = new URL(redirectUri);
  target.searchParams.set('code', code);
  const st = q.get('state');
  if (st !== null) target.searchParams.set('state', st);
  res.writeHead(302, { Location: target.toString() }).end();
}

/** Params may come from the query string (JS SDK), a form body (Python SDK) and HTTP Basic credentials. */
function collectParams(req: IncomingMessage, url: URL, body: Buffer): Map<string, string> {
  const params = new Map<string, string>(url.searchParams);
  const type = req.headers['content-type'] ?? '';
  if (body.length && type.startsWith('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.set(k, v);
  }
  const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    params.set('client_id', decoded.slice(0, i));
    params.set('client_secret', decoded.slice(i + 1));
  }
  return params;
}

export function token(state: TeamState, app: AppCredentials, req: IncomingMessage, url: URL, body: Buffer, res: ServerResponse): void {
  const p = collectParams(req, url, body);
  const clientId = p.get('client_id');
  const secret = p.get('client_secret');
  if (app.appKey && clientId !== app.appKey) return oauthError(res, 400, 'invalid_client', 'Invalid client_id or client_secret');
  // PKCE clients send no secret; otherwise a configured secret must match.
  if (app.appSecret && secret !== undefined && secret !== app.appSecret) return oauthError(res, 400, 'invalid_client', 'Invalid client_id or client_secret');
  const grant = p.get('grant_type');

  if (grant === 'authorization_code') {
    const code = state.authCodes.get(p.get('code') ?? '');
    if (!code || code.used || code.expiresAtMs < state.clock()) return oauthError(res, 400, 'invalid_grant', "code doesn't exist or has expired");
    code.used = true; // single use, even when the rest of the exchange fails
    if (clientId !== undefined && clientId !== code.clientId) return oauthError(res, 400, 'invalid_grant', 'code was issued to a different client');
    if (code.redirectUri !== undefined && p.get('redirect_uri') !== code.redirectUri) return oauthError(res, 400, 'invalid_grant', 'redirect_uri mismatch');
    if (code.codeChallenge) {
      const verifier = p.get('code_verifier') ?? '';
      if (createHash('sha256').update(verifier).digest('base64url') !== code.codeChallenge) return oauthError(res, 400, 'invalid_grant', 'invalid code verifier');
    } else if (app.appSecret && secret === undefined) return oauthError(res, 400, 'invalid_client', 'No client_secret provided');
    const offline = code.tokenAccessType === 'offline' || code.tokenAccessType === 'legacy';
    if (code.userId) {
      const user = state.member(code.userId);
      const access = offline ? state.accessTokens.get(state.issueUserTokens(user, code.clientId).accessToken)! : state.issueAccessToken(undefined, user.teamMemberId);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({
        access_token: access.token, token_type: 'bearer', expires_in: state.accessTokenTtlSeconds,
        ...(offline ? { refresh_token: access.refreshToken } : {}),
        scope: USER_SCOPES, uid: user.accountId.replace(/^dbid:/, ''), account_id: user.accountId,
      }));
      return;
    }
    const access = offline ? state.accessTokens.get(state.issueTeamTokens(code.clientId).accessToken)! : state.issueAccessToken();
    const admin = state.firstAdmin();
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({
      access_token: access.token,
      token_type: 'bearer',
      expires_in: state.accessTokenTtlSeconds,
      ...(offline ? { refresh_token: access.refreshToken } : {}),
      scope: SCOPES,
      uid: admin.accountId.replace(/^dbid:/, ''),
      team_id: state.team.id,
    }));
    return;
  }

  if (grant === 'refresh_token') {
    const rt = state.refreshTokens.get(p.get('refresh_token') ?? '');
    if (!rt || rt.revoked) return oauthError(res, 400, 'invalid_grant', 'refresh token is invalid or revoked');
    if (clientId !== undefined && clientId !== rt.clientId) return oauthError(res, 400, 'invalid_grant', 'refresh token was issued to a different client');
    const access = state.issueAccessToken(rt.token);
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({
      access_token: access.token, token_type: 'bearer', expires_in: state.accessTokenTtlSeconds,
    }));
    return;
  }

  oauthError(res, 400, 'unsupported_grant_type', `grant_type "${grant ?? ''}" is not supported`);
}
