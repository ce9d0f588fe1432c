import t from 'tap';
import { Dropbox, DropboxAuth } from 'dropbox';
import { startEmulator } from './server.ts';
import { emulatorFetch, rejection } from './sdk-harness.ts';

const REDIRECT = 'http://localhost:7777/callback';

t.test('authorization code flow, refresh, invalid_grant, expiry, revoke', async (t) => {
  let now = Date.parse('2026-03-01T12:00:00Z');
  const emu = await startEmulator({ appKey: 'key1', appSecret: 'secret1', clock: () => now });
  t.teardown(() => emu.close());
  const admin = emu.state.addMember({ email: 'root@x.test', admin: true });
  const f = emulatorFetch(emu);
  const auth = new DropboxAuth({ clientId: 'key1', clientSecret: 'secret1', fetch: f });

  const authUrl = String(await auth.getAuthenticationUrl(REDIRECT, 'st4te', 'code', 'offline'));
  t.match(authUrl, /token_access_type=offline/);
  const redirect = await f(authUrl, { redirect: 'manual' });
  t.equal(redirect.status, 302);
  const loc = new URL(redirect.headers.get('location')!);
  t.equal(loc.origin + loc.pathname, REDIRECT);
  t.equal(loc.searchParams.get('state'), 'st4te');
  const code = loc.searchParams.get('code')!;

  const exchanged = (await auth.getAccessTokenFromCode(REDIRECT, code)).result as Record<string, unknown>;
  t.equal(exchanged.token_type, 'bearer');
  t.equal(exchanged.expires_in, 14400);
  t.equal(exchanged.team_id, emu.state.team.id);
  t.equal(exchanged.uid, admin.accountId.replace('dbid:', ''));
  t.type(exchanged.refresh_token, 'string');
  t.match(exchanged.scope, /members\.read/);

  const reuse = await rejection(() => auth.getAccessTokenFromCode(REDIRECT, code));
  t.equal(reuse.status, 400);
  t.equal(reuse.error.error, 'invalid_grant');

  // A fresh code with the wrong redirect_uri.
  const loc2 = new URL((await f(authUrl, { redirect: 'manual' })).headers.get('location')!);
  const mismatch = await rejection(() => auth.getAccessTokenFromCode('http://localhost:7777/other', loc2.searchParams.get('code')!));
  t.equal(mismatch.error.error, 'invalid_grant');

  // Refresh through the SDK (query-string params, empty body).
  const refreshing = new DropboxAuth({ clientId: 'key1', clientSecret: 'secret1', refreshToken: String(exchanged.refresh_token), fetch: f });
  const team = new Dropbox({ auth: refreshing, fetch: f });
  const info = await team.teamGetInfo();
  t.equal(info.result.team_id, emu.state.team.id);
  const firstToken = refreshing.getAccessToken();
  t.not(firstToken, exchanged.access_token);

  // Form-body refresh with HTTP Basic credentials (Python SDK style).
  const form = await f('https://api.dropboxapi.com/oauth2/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: 'Basic ' + Buffer.from('key1:secret1').toString('base64') },
    body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(String(exchanged.refresh_token))}`,
  });
  t.equal(form.status, 200);
  t.same(Object.keys((await form.json()) as object).sort(), ['access_token', 'expires_in', 'token_type']);

  const wrongSecret = await f(`https://api.dropboxapi.com/oauth2/token?grant_type=refresh_token&refresh_token=${exchanged.refresh_token}&client_id=key1&client_secret=nope`, { method: 'POST' });
  t.equal(wrongSecret.status, 400);
  t.equal(((await wrongSecret.json()) as { error: string }).error, 'invalid_client');

  // Expiry: a token-only client (no refresh) gets 401 expired_access_token after the TTL.
  const fixed = new Dropbox({ accessToken: firstToken, fetch: f });
  t.equal((await fixed.teamGetInfo()).status, 200);
  now += 14400 * 1000;
  const expired = await rejection(() => fixed.teamGetInfo());
  t.equal(expired.status, 401);
  t.equal(expired.error.error['.tag'], 'expired_access_token');
  t.match(expired.error.error_summary, /^expired_access_token\/\.*$/);

  // Revoked refresh tokens → invalid_grant on refresh.
  emu.state.revokeRefreshTokens();
  const dead = await rejection(() => refreshing.refreshAccessToken());
  t.equal(dead.status, 400);
  t.equal(dead.error.error, 'invalid_grant');
});

t.test('online access (no token_access_type=offline) gets no refresh token', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  emu.state.addMember({ email: 'root@x.test', admin: true });
  const f = emulatorFetch(emu);
  const redirect = await f(`https://www.dropbox.com/oauth2/authorize?client_id=k&response_type=code&redirect_uri=${encodeURIComponent(REDIRECT)}`, { redirect: 'manual' });
  const code = new URL(redirect.headers.get('location')!).searchParams.get('code')!;
  t.equal(new URL(redirect.headers.get('location')!).searchParams.has('state'), false);
  const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: 'k', client_secret: 's' });
  const res = await f('https://api.dropboxapi.com/oauth2/token', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: body.toString() });
  const json = (await res.json()) as Record<string, unknown>;
  t.equal(res.status, 200);
  t.equal(json.refresh_token, undefined);
  t.equal(json.team_id, emu.state.team.id);
  const bad = await f('https://api.dropboxapi.com/oauth2/token?grant_type=password', { method: 'POST' });
  t.equal(bad.status, 400);
  t.equal(((await bad.json()) as { error: string }).error, 'unsupported_grant_type');
});

t.test('auth/token/revoke kills the token and its refresh token', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  emu.state.addMember({ email: 'root@x.test', admin: true });
  const f = emulatorFetch(emu);
  const { refreshToken } = emu.state.issueTeamTokens('any-key');
  const auth = new DropboxAuth({ clientId: 'any-key', clientSecret: 'whatever', refreshToken, fetch: f });
  const dbx = new Dropbox({ auth, fetch: f });
  await dbx.teamGetInfo();
  const token = auth.getAccessToken();
  const revoked = await dbx.authTokenRevoke();
  t.equal(revoked.status, 200);
  const after = await rejection(() => new Dropbox({ accessToken: token, fetch: f }).teamGetInfo());
  t.equal(after.status, 401);
  t.equal(after.error.error['.tag'], 'invalid_access_token');
  const refresh = await rejection(() => auth.refreshAccessToken());
  t.equal(refresh.error.error, 'invalid_grant');
});
