import t from 'tap';
import { eq } from 'drizzle-orm';
import { startTestApp } from '../helpers/app.ts';
import { users } from '../../db/schema.ts';
import { ALL_PERMISSIONS } from '../../api/permissions.ts';

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
  // Last use is written after the response (a read never waits for a write): poll for it briefly.
  let used = await api.request('GET', `/v1/api-keys/${created.body.id}`, { key });
  for (let i = 0; i < 50 && used.body.last_used_at === null; i++) {
    await new Promise((r) => setTimeout(r, 20));
    used = await api.request('GET', `/v1/api-keys/${created.body.id}`, { key });
  }
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
  await api.database.db.update(users).set({ role: 'custom', permissions: ['account:read', 'backups:read', 'api_keys:manage'] }).where(eq(users.id, userId));
  const tooWide = await api.request('POST', '/v1/api-keys', { key, body: { name: 'wide', scopes: ['backups:read', 'account:manage'] } });
  t.equal(tooWide.status, 403);
  t.equal(tooWide.body.code, 'scope_not_held');
  t.same(tooWide.body.errors.map((e: { pointer: string }) => e.pointer), ['/body/scopes/1']);
  const unknownScope = await api.request('POST', '/v1/api-keys', { key, body: { name: 'x', scopes: ['everything'] } });
  t.equal(unknownScope.status, 400);
});

t.test('attack: a key scoped to backups:read mints an unscoped key that reads /v1/users', async (t) => {
  const api = await startTestApp(t);
  const admin = await api.signUp();
  const scoped = await api.request('POST', '/v1/api-keys', { key: admin.key, body: { name: 'backups reader', scopes: ['backups:read'] } });
  t.equal(scoped.status, 201);
  const denied = await api.request('GET', '/v1/users', { key: scoped.body.secret });
  t.equal(denied.status, 403);

  const minted = await api.request('POST', '/v1/api-keys', { key: scoped.body.secret, body: { name: 'escape' } });
  t.equal(minted.status, 403, 'creating keys needs its own permission');
  t.equal(minted.body.code, 'permission_denied');
  t.match(minted.body.detail, /api_keys:manage/);
  const widened = await api.request('POST', '/v1/api-keys', { key: scoped.body.secret, body: { name: 'escape', scopes: ['users:manage'] } });
  t.equal(widened.status, 403);
  const keys = await api.request('GET', '/v1/api-keys', { key: admin.key });
  t.same(keys.body.data.map((k: { id: string }) => k.id), [scoped.body.id, admin.keyId], 'no key was minted');

  // Neither may it rename or revoke keys, its own included.
  const renamed = await api.request('PATCH', `/v1/api-keys/${scoped.body.id}`, { key: scoped.body.secret, body: { name: 'x' } });
  t.equal(renamed.status, 403);
  t.equal(renamed.body.code, 'permission_denied');
  const revoked = await api.request('DELETE', `/v1/api-keys/${admin.keyId}`, { key: scoped.body.secret });
  t.equal(revoked.status, 403);
  t.equal(revoked.body.code, 'permission_denied');
  t.equal((await api.request('GET', '/v1/me', { key: admin.key })).status, 200);
});

t.test('a key minted without scopes holds exactly what its creating credential holds, stored on the key', async (t) => {
  const api = await startTestApp(t);
  const admin = await api.signUp();
  t.same(admin.body.api_key.scopes, ALL_PERMISSIONS, 'the sign-up key holds every permission, explicitly');

  const minter = await api.request('POST', '/v1/api-keys', { key: admin.key, body: { name: 'minter', scopes: ['api_keys:manage', 'backups:read'] } });
  t.equal(minter.status, 201);
  t.same(minter.body.scopes, ['backups:read', 'api_keys:manage'], 'stored in the order of the permission list');
  const child = await api.request('POST', '/v1/api-keys', { key: minter.body.secret, body: { name: 'child' } });
  t.equal(child.status, 201);
  t.same(child.body.scopes, ['backups:read', 'api_keys:manage'], 'omitted scopes: the creator\'s own, never null');
  t.equal((await api.request('GET', '/v1/users', { key: child.body.secret })).status, 403, 'the child reads no more than its creator');
  const me = await api.request('GET', '/v1/me', { key: child.body.secret });
  t.same(me.body.credential.permissions, ['backups:read', 'api_keys:manage']);

  const wider = await api.request('POST', '/v1/api-keys', { key: minter.body.secret, body: { name: 'wider', scopes: ['backups:read', 'users:manage', 'account:read'] } });
  t.equal(wider.status, 403);
  t.equal(wider.body.code, 'scope_not_held');
  t.same(wider.body.errors, [
    { pointer: '/body/scopes/1', detail: '`users:manage` is not held by the credential creating this key' },
    { pointer: '/body/scopes/2', detail: '`account:read` is not held by the credential creating this key' },
  ]);
  const narrower = await api.request('POST', '/v1/api-keys', { key: minter.body.secret, body: { name: 'narrower', scopes: ['backups:read'] } });
  t.equal(narrower.status, 201);
  t.same(narrower.body.scopes, ['backups:read']);
  const list = await api.database.sql`select name, scopes from api_keys where scopes is null`;
  t.same(list, [], 'no key is stored without scopes');
});

t.test('a custom role needs api_keys:manage for its own keys; permissions granted later do not reach them', async (t) => {
  const api = await startTestApp(t);
  const admin = await api.signUp();
  await api.database.db.update(users).set({ role: 'custom', permissions: ['backups:read'] }).where(eq(users.id, admin.userId));
  const refused = await api.request('POST', '/v1/api-keys', { key: admin.key, body: { name: 'mine' } });
  t.equal(refused.status, 403);
  t.equal(refused.body.code, 'permission_denied');

  await api.database.db.update(users).set({ permissions: ['backups:read', 'api_keys:manage'] }).where(eq(users.id, admin.userId));
  const mine = await api.request('POST', '/v1/api-keys', { key: admin.key, body: { name: 'mine' } });
  t.equal(mine.status, 201);
  t.same(mine.body.scopes, ['backups:read', 'api_keys:manage']);
  await api.database.db.update(users).set({ role: 'administrator', permissions: [] }).where(eq(users.id, admin.userId));
  t.equal((await api.request('GET', '/v1/users', { key: mine.body.secret })).status, 403, 'promoting the user does not widen the key');
  t.equal((await api.request('GET', '/v1/users', { key: admin.key })).status, 200);
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
