import t from 'tap';
import { eq } from 'drizzle-orm';
import { startTestApp } from '../helpers/app.ts';
import { users } from '../../db/schema.ts';

t.test('create, list, get, rename and revoke a key; the secret is shown once', async (t) => {
  const api = await startTestApp(t);
  const { key } = await api.signUp();
  const created = await api.request('POST', '/v1/api-keys', { key, body: { name: 'ci pipeline' } });
  t.equal(created.status, 201);
  t.match(created.body.secret, /^cfk_/);
  t.equal(created.body.state, 'active');
  t.equal(created.headers.get('location'), `/v1/api-keys/${created.body.id}`);

  const got = await api.request('GET', `/v1/api-keys/${created.body.id}`, { key });
  t.equal(got.status, 200);
  t.notOk('secret' in got.body, 'the secret is never returned again');
  t.equal(got.body.name, 'ci pipeline');

  const works = await api.request('GET', '/v1/me', { key: created.body.secret });
  t.equal(works.status, 200);
  t.equal(works.body.credential.id, created.body.id);
  const used = await api.request('GET', `/v1/api-keys/${created.body.id}`, { key });
  t.type(used.body.last_used_at, 'string', 'last use is recorded');

  const renamed = await api.request('PATCH', `/v1/api-keys/${created.body.id}`, { key, body: { name: 'deploys' }, headers: { 'if-match': got.headers.get('etag')! } });
  t.equal(renamed.status, 200);
  t.equal(renamed.body.name, 'deploys');

  const revoked = await api.request('DELETE', `/v1/api-keys/${created.body.id}`, { key });
  t.equal(revoked.status, 200);
  t.equal(revoked.body.state, 'revoked');
  const rejected = await api.request('GET', '/v1/me', { key: created.body.secret });
  t.equal(rejected.status, 401, 'a revoked key stops working at once');
  t.equal(rejected.body.code, 'api_key_revoked');
  t.equal(rejected.headers.get('www-authenticate'), 'Bearer realm="coffer"');

  const again = await api.request('DELETE', `/v1/api-keys/${created.body.id}`, { key });
  t.equal(again.status, 200, 'revoking twice is a no-op');

  const list = await api.request('GET', '/v1/api-keys?state=revoked', { key });
  t.same(list.body.data.map((k: { id: string }) => k.id), [created.body.id]);
  const active = await api.request('GET', '/v1/api-keys?state=active', { key });
  t.equal(active.body.data.length, 1, 'only the sign-up key is still active');
});

t.test('missing, malformed, unknown and expired keys get 401 problems', async (t) => {
  const api = await startTestApp(t, { start: new Date('2026-01-01T00:00:00Z') });
  const { key } = await api.signUp();

  const none = await api.request('GET', '/v1/me');
  t.equal(none.status, 401);
  t.equal(none.body.code, 'unauthenticated');

  const basic = await api.request('GET', '/v1/me', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
  t.equal(basic.status, 401);
  t.equal(basic.body.code, 'invalid_credentials');

  const malformed = await api.request('GET', '/v1/me', { key: 'cfk_short' });
  t.equal(malformed.status, 401);
  t.equal(malformed.body.code, 'invalid_credentials');

  const unknown = await api.request('GET', '/v1/me', { key: 'cfk_' + 'A'.repeat(32) });
  t.equal(unknown.status, 401);
  t.equal(unknown.body.code, 'invalid_credentials');

  const past = await api.request('POST', '/v1/api-keys', { key, body: { name: 'old', expires_at: '2025-12-31T00:00:00Z' } });
  t.equal(past.status, 400);
  t.same(past.body.errors, [{ pointer: '/body/expires_at', detail: 'must be in the future' }]);

  const expiring = await api.request('POST', '/v1/api-keys', { key, body: { name: 'short-lived', expires_at: '2026-01-02T00:00:00Z' } });
  t.equal(expiring.status, 201);
  t.equal((await api.request('GET', '/v1/me', { key: expiring.body.secret })).status, 200);
  api.clock.advance(24 * 3600 * 1000);
  const expired = await api.request('GET', '/v1/me', { key: expiring.body.secret });
  t.equal(expired.status, 401);
  t.equal(expired.body.code, 'api_key_expired');
  const listed = await api.request('GET', `/v1/api-keys/${expiring.body.id}`, { key });
  t.equal(listed.body.state, 'expired');
});

t.test('scopes narrow a key to a subset of its user\'s permissions', async (t) => {
  const api = await startTestApp(t);
  const { key, userId } = await api.signUp();
  const narrow = await api.request('POST', '/v1/api-keys', { key, body: { name: 'read-only', scopes: ['account:read'] } });
  t.equal(narrow.status, 201);
  t.same(narrow.body.scopes, ['account:read']);
  t.equal((await api.request('GET', '/v1/account', { key: narrow.body.secret })).status, 200);
  const denied = await api.request('PATCH', '/v1/account', { key: narrow.body.secret, body: { name: 'nope' } });
  t.equal(denied.status, 403);
  t.equal(denied.body.code, 'permission_denied');
  const me = await api.request('GET', '/v1/me', { key: narrow.body.secret });
  t.same(me.body.credential.permissions, ['account:read']);

  // A custom-role user can only hand out what they hold.
  await api.database.db.update(users).set({ role: 'custom', permissions: ['account:read', 'backups:read'] }).where(eq(users.id, userId));
  const tooWide = await api.request('POST', '/v1/api-keys', { key, body: { name: 'wide', scopes: ['backups:read', 'account:manage'] } });
  t.equal(tooWide.status, 400);
  t.same(tooWide.body.errors.map((e: { pointer: string }) => e.pointer), ['/body/scopes/1']);
  const unknownScope = await api.request('POST', '/v1/api-keys', { key, body: { name: 'x', scopes: ['everything'] } });
  t.equal(unknownScope.status, 400);
});

t.test('pagination walks every key exactly once, newest first, across pages', async (t) => {
  const api = await startTestApp(t);
  const { key, keyId } = await api.signUp();
  const ids = [keyId];
  for (let i = 0; i < 11; i++) {
    const res = await api.request('POST', '/v1/api-keys', { key, body: { name: `k${i}` } });
    ids.push(res.body.id);
  }
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res: Awaited<ReturnType<typeof api.request>> = await api.request('GET', `/v1/api-keys?limit=5${cursor ? `&cursor=${cursor}` : ''}`, { key });
    t.equal(res.status, 200);
    t.ok(res.body.data.length <= 5);
    seen.push(...res.body.data.map((k: { id: string }) => k.id));
    cursor = res.body.next_cursor;
    pages++;
  } while (cursor);
  t.equal(pages, 3);
  t.same(seen, [...ids].reverse(), 'newest first, no gaps, no repeats');

  const bad = await api.request('GET', '/v1/api-keys?cursor=not-a-cursor', { key });
  t.equal(bad.status, 400);
  t.equal(bad.body.code, 'invalid_cursor');
  const tooMany = await api.request('GET', '/v1/api-keys?limit=101', { key });
  t.equal(tooMany.status, 400);
  t.same(tooMany.body.errors.map((e: { pointer: string }) => e.pointer), ['/query/limit']);
});
