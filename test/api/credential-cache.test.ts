// The credential cache (api/credential-cache.ts) across two API processes on one database: a
// change made through one replica is honoured by the other before the cache would expire, and
// the cache's own expiry is honoured when no notification comes.
import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { startPeer, untilRefused } from '../helpers/peer.ts';
import { CREDENTIAL_CACHE_MS } from '../../api/credential-cache.ts';

t.test('attack: a key revoked on replica A keeps working on replica B, which cached it', async (t) => {
  const api = await startTestApp(t);
  const b = await startPeer(t, api);
  const admin = await api.signUp();
  const created = await api.request('POST', '/v1/api-keys', { key: admin.key, body: { name: 'leaked', scopes: ['backups:read'] } });
  t.equal(created.status, 201);
  const leaked = created.body.secret as string;
  t.equal((await b.request('GET', '/v1/me', { key: leaked })).status, 200, 'B has resolved (and cached) the key');

  const revoked = await api.request('DELETE', `/v1/api-keys/${created.body.id}`, { key: admin.key });
  t.equal(revoked.status, 200, 'revoked on A');
  const refused = await untilRefused(() => b.request('GET', '/v1/me', { key: leaked }));
  t.equal(refused.status, 401, 'B refuses the key without waiting for its cache to expire');
  t.equal(refused.body.code, 'api_key_revoked');
  t.equal((await b.request('GET', '/v1/me', { key: admin.key })).status, 200, 'the account\'s other keys still work on B');
});

t.test('attack: a session ended on replica A keeps working on replica B', async (t) => {
  const api = await startTestApp(t);
  const b = await startPeer(t, api);
  const admin = await api.signUp();
  const email = admin.body.user.email as string;
  const signedIn = await api.request('POST', '/v1/sessions', { body: { email, password: 'correct horse battery staple' } });
  t.equal(signedIn.status, 201);
  const session = signedIn.body.token as string;
  t.equal((await b.request('GET', '/v1/me', { key: session })).status, 200);
  t.equal((await api.request('DELETE', '/v1/sessions/current', { key: session })).status, 204, 'signed out on A');
  const refused = await untilRefused(() => b.request('GET', '/v1/me', { key: session }));
  t.equal(refused.status, 401);
  t.equal(refused.body.code, 'session_revoked');
});

t.test('a change no notification announces is honoured once the cache entry expires', async (t) => {
  const api = await startTestApp(t);
  const admin = await api.signUp();
  t.equal((await api.request('GET', '/v1/me', { key: admin.key })).status, 200, 'cached');
  // session_replication_role = replica skips triggers: the revocation is written without a NOTIFY
  // (as if the notification were lost), so only the cache's expiry can end the key.
  await api.database.sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`update api_keys set revoked_at = now() where id = ${admin.keyId}`;
  });
  const stale = await api.request('GET', '/v1/me', { key: admin.key });
  t.equal(stale.status, 200, 'still served from the cache: the lookup is not repeated per request');
  api.clock.advance(CREDENTIAL_CACHE_MS - 1);
  t.equal((await api.request('GET', '/v1/me', { key: admin.key })).status, 200, 'until the entry is CREDENTIAL_CACHE_MS old');
  api.clock.advance(1);
  const refused = await api.request('GET', '/v1/me', { key: admin.key });
  t.equal(refused.status, 401, 'then the key is looked up again');
  t.equal(refused.body.code, 'api_key_revoked');
});

t.test('a cached key still expires at its expiry time, not when the cache entry does', async (t) => {
  const api = await startTestApp(t);
  const admin = await api.signUp();
  const expiresAt = new Date(api.clock.now().getTime() + 2_000).toISOString();
  const created = await api.request('POST', '/v1/api-keys', { key: admin.key, body: { name: 'short', scopes: ['backups:read'], expires_at: expiresAt } });
  t.equal(created.status, 201, created.text);
  t.equal((await api.request('GET', '/v1/me', { key: created.body.secret })).status, 200, 'cached');
  api.clock.advance(2_000);
  const refused = await api.request('GET', '/v1/me', { key: created.body.secret });
  t.equal(refused.status, 401);
  t.equal(refused.body.code, 'api_key_expired');
});

t.test('attack: each replica allows the per-key request rate, so N replicas allow N times it', async (t) => {
  const api = await startTestApp(t, { config: { rateLimitPerMinute: 4 } });
  const b = await startPeer(t, api);
  const admin = await api.signUp();
  const remaining: (string | null)[] = [];
  for (const ask of [api.request, b.request, api.request, b.request]) {
    const res = await ask('GET', '/v1/me', { key: admin.key });
    t.equal(res.status, 200);
    remaining.push(res.headers.get('ratelimit-remaining'));
  }
  t.same(remaining, ['3', '2', '1', '0'], 'one budget, whichever replica answers (cached or not)');
  for (const ask of [api.request, b.request]) {
    const limited = await ask('GET', '/v1/me', { key: admin.key });
    t.equal(limited.status, 429);
    t.equal(limited.body.code, 'rate_limited');
    t.equal(limited.headers.get('ratelimit-remaining'), '0');
  }
  api.clock.advance(60_000);
  t.equal((await b.request('GET', '/v1/me', { key: admin.key })).headers.get('ratelimit-remaining'), '3', 'a new window after a minute');
});
