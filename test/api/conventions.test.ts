import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { maintenanceJob } from '../../workers/jobs/maintenance.ts';

t.test('every error is an RFC 9457 problem with a request id', async (t) => {
  const api = await startTestApp(t);
  const { key } = await api.signUp();

  const notFound = await api.request('GET', '/v1/nowhere', { key });
  t.equal(notFound.status, 404);
  t.equal(notFound.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  t.match(notFound.body, { type: 'urn:coffer:problem:route_not_found', title: 'Not Found', status: 404, code: 'route_not_found', instance: '/v1/nowhere' });
  t.equal(notFound.body.request_id, notFound.headers.get('x-request-id'));

  const wrongMethod = await api.request('PUT', '/v1/account', { key, body: {} });
  t.equal(wrongMethod.status, 405);
  t.equal(wrongMethod.headers.get('allow'), 'GET, PATCH');

  const unknownKey = await api.request('GET', '/v1/api-keys/key_00000000000000000000000000', { key });
  t.equal(unknownKey.status, 404);
  t.equal(unknownKey.body.code, 'not_found');

  const malformedId = await api.request('GET', '/v1/api-keys/nope', { key });
  t.equal(malformedId.status, 400);
  t.same(malformedId.body.errors.map((e: { pointer: string }) => e.pointer), ['/params/id']);

  const text = await api.request('POST', '/v1/api-keys', { key, body: 'name=x', headers: { 'content-type': 'text/plain' } });
  t.equal(text.status, 415);
  t.equal(text.body.code, 'unsupported_media_type');

  const badJson = await api.request('POST', '/v1/api-keys', { key, body: '{"name":', headers: { 'content-type': 'application/json' } });
  t.equal(badJson.status, 400);
  t.equal(badJson.body.code, 'malformed_json');

  const huge = await api.request('POST', '/v1/api-keys', { key, body: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }) });
  t.equal(huge.status, 413);
  t.equal(huge.body.code, 'body_too_large');

  const traced = await api.request('GET', '/v1/me', { key, headers: { 'x-request-id': 'trace-1234' } });
  t.equal(traced.headers.get('x-request-id'), 'trace-1234', 'a well-formed incoming request id is kept');
  const hostile = await api.request('GET', '/v1/me', { key, headers: { 'x-request-id': 'bad id with spaces <script>' } });
  t.match(hostile.headers.get('x-request-id'), /^req_/, 'a malformed one is replaced');
});

t.test('an unexpected error is a 500 that leaks nothing', async (t) => {
  const api = await startTestApp(t, {
    extend: (app) => {
      app.get('/v1/test-explode', { config: { public: true } }, async () => {
        throw new Error('password=hunter2 at /srv/coffer/db.ts:42');
      });
    },
  });
  const res = await api.request('GET', '/v1/test-explode');
  t.equal(res.status, 500);
  t.equal(res.body.code, 'internal_error');
  t.notMatch(res.text, /hunter2|db\.ts|stack/);
  t.match(res.body.request_id, /^req_/);
});

t.test('Idempotency-Key: replay, mismatch, and keys scoped per account', async (t) => {
  const api = await startTestApp(t);
  const { key } = await api.signUp();
  const b = await api.signUp();
  const headers = { 'idempotency-key': 'create-ci-key-1' };

  const first = await api.request('POST', '/v1/api-keys', { key, body: { name: 'ci' }, headers });
  t.equal(first.status, 201);
  const replay = await api.request('POST', '/v1/api-keys', { key, body: { name: 'ci' }, headers });
  t.equal(replay.status, 201);
  t.equal(replay.headers.get('idempotent-replayed'), 'true');
  t.same(replay.body, first.body, 'the stored response, secret included, is returned again');
  t.equal(replay.headers.get('location'), first.headers.get('location'));
  const list = await api.request('GET', '/v1/api-keys', { key });
  t.equal(list.body.data.length, 2, 'the retry created nothing');

  const mismatch = await api.request('POST', '/v1/api-keys', { key, body: { name: 'other' }, headers });
  t.equal(mismatch.status, 422);
  t.equal(mismatch.body.code, 'idempotency_key_reused');

  const otherAccount = await api.request('POST', '/v1/api-keys', { key: b.key, body: { name: 'ci' }, headers });
  t.equal(otherAccount.status, 201, 'another account may use the same key string');
  t.not(otherAccount.body.id, first.body.id);

  const stored = await api.database.sql`select response_body from idempotency_keys where key = 'create-ci-key-1'`;
  t.equal(stored.length, 2);
  for (const row of stored) t.notMatch(row.response_body, /cfk_/, 'stored responses are sealed, not plain text');

  const invalid = await api.request('POST', '/v1/api-keys', { key, body: { name: 'x' }, headers: { 'idempotency-key': 'has spaces in it' } });
  t.equal(invalid.status, 400);
  t.equal(invalid.body.code, 'invalid_idempotency_key');

  // A failed request is stored too (the same request would fail the same way)...
  const failing = await api.request('POST', '/v1/api-keys', { key, body: { name: 'x', scopes: ['account:read'], expires_at: '2000-01-01T00:00:00Z' }, headers: { 'idempotency-key': 'k2' } });
  t.equal(failing.status, 400);
  // ...and after 24 hours a key is forgotten.
  api.clock.advance(24 * 3600 * 1000 + 1);
  const later = await api.request('POST', '/v1/api-keys', { key, body: { name: 'ci' }, headers });
  t.equal(later.status, 201);
  t.not(later.body.id, first.body.id, 'an expired key runs the request again');
  const purge = await maintenanceJob(api.deps);
  t.equal(purge.idempotency_keys_removed, 2, 'the maintenance job removes expired keys');
});

t.test('rate limits per API key, with RateLimit headers and Retry-After', async (t) => {
  // Sign-up is two public requests per account, counted per IP: four fit in a limit of four.
  const api = await startTestApp(t, { config: { rateLimitPerMinute: 4 } });
  const a = await api.signUp();
  const b = await api.signUp();
  for (let i = 0; i < 4; i++) {
    const ok = await api.request('GET', '/v1/me', { key: a.key });
    t.equal(ok.status, 200);
    t.equal(ok.headers.get('ratelimit-limit'), '4');
    t.equal(ok.headers.get('ratelimit-remaining'), String(3 - i));
  }
  const limited = await api.request('GET', '/v1/me', { key: a.key });
  t.equal(limited.status, 429);
  t.equal(limited.body.code, 'rate_limited');
  t.ok(Number(limited.headers.get('retry-after')) > 0);
  t.equal((await api.request('GET', '/v1/me', { key: b.key })).status, 200, 'another key has its own budget');
});
