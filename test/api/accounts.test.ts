import t from 'tap';
import { startTestApp } from '../helpers/app.ts';

t.test('sign-up creates a trial account, its administrator and a working first API key', async (t) => {
  const start = new Date('2026-03-01T10:00:00Z');
  const api = await startTestApp(t, { start });
  const res = await api.request('POST', '/v1/accounts', {
    body: { name: 'Pizza Perfecto', email: 'Bob.Smith@Example.test', password: 'correct horse battery staple', region: 'eu-west-1', user_name: 'Bob' },
  });
  t.equal(res.status, 201);
  t.equal(res.headers.get('location'), '/v1/account');
  const { account, user, api_key } = res.body;
  t.match(account.id, /^acct_[0-9a-z]{26}$/);
  t.equal(account.name, 'Pizza Perfecto');
  t.equal(account.email, 'bob.smith@example.test', 'email is normalised to lower case');
  t.equal(account.state, 'trial');
  t.equal(account.region, 'eu-west-1');
  t.equal(account.trial_ends_at, '2026-03-15T10:00:00.000Z', 'trial ends 14 days out');
  t.equal(user.role, 'administrator');
  t.equal(user.account_id, account.id);
  t.ok(user.permissions.includes('users:manage'));
  t.notOk('password' in user || 'password_hash' in user, 'no password material in the response');
  t.match(api_key.secret, /^cfk_[0-9A-Za-z]{32}$/);
  t.equal(api_key.prefix, api_key.secret.slice(0, 12));

  const me = await api.request('GET', '/v1/me', { key: api_key.secret });
  t.equal(me.status, 200);
  t.equal(me.body.account.id, account.id);
  t.equal(me.body.user.id, user.id);
  t.equal(me.body.credential.id, api_key.id);
  t.equal(me.body.credential.kind, 'api_key');

  const stored = await api.database.sql`select secret_hash, prefix from api_keys where id = ${api_key.id}`;
  t.equal(stored.length, 1);
  t.not(stored[0]!.secret_hash.toString('utf8'), api_key.secret, 'only a hash is stored');
  const raw = await api.database.sql`select count(*)::int as n from api_keys where encode(secret_hash, 'escape') like ${'%' + api_key.secret + '%'}`;
  t.equal(raw[0]!.n, 0);
});

t.test('sign-up validation names each bad field by JSON pointer', async (t) => {
  const api = await startTestApp(t);
  const res = await api.request('POST', '/v1/accounts', { body: { name: '', email: 'not-an-email', password: 'short', region: 'eu-west-1', extra: 1 } });
  t.equal(res.status, 400);
  t.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  t.equal(res.body.code, 'validation_failed');
  t.equal(res.body.status, 400);
  t.match(res.body.request_id, /^req_/);
  const pointers = res.body.errors.map((e: { pointer: string }) => e.pointer).sort();
  t.same(pointers, ['/body/email', '/body/extra', '/body/name', '/body/password']);

  const missing = await api.request('POST', '/v1/accounts', { body: { name: 'A', password: 'long enough password' } });
  t.equal(missing.status, 400);
  t.same(missing.body.errors.map((e: { pointer: string }) => e.pointer).sort(), ['/body/email', '/body/region']);

  const region = await api.request('POST', '/v1/accounts', { body: { name: 'A', email: 'a@example.test', password: 'long enough password', region: 'mars-1' } });
  t.equal(region.status, 400);
  t.same(region.body.errors, [{ pointer: '/body/region', detail: 'unknown region "mars-1"; see GET /v1/regions' }]);
});

t.test('an email address can sign up once', async (t) => {
  const api = await startTestApp(t);
  await api.signUp({ email: 'taken@example.test' });
  const again = await api.request('POST', '/v1/accounts', {
    body: { name: 'Other', email: 'TAKEN@example.test', password: 'another long password', region: 'us-east-1' },
  });
  t.equal(again.status, 409);
  t.equal(again.body.code, 'email_taken');
});

t.test('sign-up can be turned off', async (t) => {
  const api = await startTestApp(t, { config: { signupEnabled: false } });
  const res = await api.request('POST', '/v1/accounts', { body: { name: 'A', email: 'a@example.test', password: 'long enough password', region: 'us-east-1' } });
  t.equal(res.status, 403);
  t.equal(res.body.code, 'signup_disabled');
});

t.test('account: read with ETag, rename with If-Match, 412 when stale, 304 when unchanged', async (t) => {
  const api = await startTestApp(t);
  const { key } = await api.signUp();
  const first = await api.request('GET', '/v1/account', { key });
  t.equal(first.status, 200);
  t.equal(first.headers.get('etag'), '"v1"');

  const notModified = await api.request('GET', '/v1/account', { key, headers: { 'if-none-match': '"v1"' } });
  t.equal(notModified.status, 304);

  const renamed = await api.request('PATCH', '/v1/account', { key, body: { name: 'Renamed' }, headers: { 'if-match': '"v1"' } });
  t.equal(renamed.status, 200);
  t.equal(renamed.body.name, 'Renamed');
  t.equal(renamed.headers.get('etag'), '"v2"');

  const stale = await api.request('PATCH', '/v1/account', { key, body: { name: 'Lost update' }, headers: { 'if-match': '"v1"' } });
  t.equal(stale.status, 412);
  t.equal(stale.body.code, 'precondition_failed');
  const after = await api.request('GET', '/v1/account', { key });
  t.equal(after.body.name, 'Renamed', 'a stale If-Match changes nothing');

  const badMatch = await api.request('PATCH', '/v1/account', { key, body: { name: 'x' }, headers: { 'if-match': 'nonsense' } });
  t.equal(badMatch.status, 400);
  t.equal(badMatch.body.code, 'invalid_if_match');

  const region = await api.request('PATCH', '/v1/account', { key, body: { region: 'us-east-1' } });
  t.equal(region.status, 400, 'region is read-only');
  t.same(region.body.errors.map((e: { pointer: string }) => e.pointer), ['/body/region']);
});

t.test('regions are listed without credentials', async (t) => {
  const api = await startTestApp(t);
  const res = await api.request('GET', '/v1/regions');
  t.equal(res.status, 200);
  t.ok(res.body.data.length >= 5);
  t.ok(res.body.data.some((r: { id: string; name: string }) => r.id === 'eu-west-1' && r.name === 'Europe (Ireland)'));
});
