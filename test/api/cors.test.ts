// CORS for browser applications: an allowed origin gets its preflight answered before
// authentication and may read the headers a client needs (ETag, Location, the rate-limit and
// replay headers); any other origin gets no CORS header (the browser keeps the answer from the
// page), and without COFFER_CORS_ORIGINS nothing changes.
import t from 'tap';
import { ConfigError, loadConfig } from '#api/config.ts';
import { startTestApp } from '../helpers/app.ts';

const APP = 'https://app.example.test';
const EVIL = 'https://evil.example.test';

t.test('configured origins', async (t) => {
  const api = await startTestApp(t, { config: { corsOrigins: [APP, 'http://localhost:5173'] } });
  const admin = await api.signUp();

  t.test('a browser on an allowed origin gets its preflight answered without credentials', async (t) => {
    const pre = await api.request('OPTIONS', '/v1/tags', {
      headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, idempotency-key' },
    });
    t.equal(pre.status, 204);
    t.equal(pre.headers.get('access-control-allow-origin'), APP);
    t.equal(pre.headers.get('access-control-allow-methods'), 'GET, POST, PUT, PATCH, DELETE');
    for (const h of ['Authorization', 'Content-Type', 'Idempotency-Key', 'If-Match', 'Coffer-Account', 'User-Agent']) t.match(pre.headers.get('access-control-allow-headers'), h);
    t.equal(pre.headers.get('access-control-max-age'), '600');
    t.equal(pre.headers.get('access-control-allow-credentials'), null, 'credentials travel in Authorization, never as cookies');
    t.match(pre.headers.get('vary'), /Origin/);
  });

  t.test('an allowed origin may read ETag, Location, the rate-limit and replay headers', async (t) => {
    const created = await api.request('POST', '/v1/tags', { key: admin.key, body: { name: 'cors' }, headers: { origin: APP, 'idempotency-key': 'cors-1' } });
    t.equal(created.status, 201);
    t.equal(created.headers.get('access-control-allow-origin'), APP);
    const exposed = (created.headers.get('access-control-expose-headers') ?? '').split(', ');
    for (const h of ['ETag', 'Location', 'Idempotent-Replayed', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'X-Request-Id']) {
      t.ok(exposed.includes(h), `${h} is exposed`);
    }
    t.ok(created.headers.get('location'));
    const replay = await api.request('POST', '/v1/tags', { key: admin.key, body: { name: 'cors' }, headers: { origin: APP, 'idempotency-key': 'cors-1' } });
    t.equal(replay.headers.get('idempotent-replayed'), 'true');
    t.equal(replay.headers.get('access-control-allow-origin'), APP);
  });

  t.test('a refused request from an allowed origin stays readable (its problem document)', async (t) => {
    const res = await api.request('GET', '/v1/me', { headers: { origin: 'http://localhost:5173' } });
    t.equal(res.status, 401);
    t.equal(res.headers.get('access-control-allow-origin'), 'http://localhost:5173');
    t.equal(res.body.code, 'unauthenticated');
  });

  t.test('attack: a page on another origin reads a signed-in user\'s data', async (t) => {
    const pre = await api.request('OPTIONS', '/v1/me', { headers: { origin: EVIL, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    t.equal(pre.status, 403);
    t.equal(pre.body.code, 'cors_origin_not_allowed');
    t.equal(pre.headers.get('access-control-allow-origin'), null);
    t.equal(pre.headers.get('access-control-allow-methods'), null);
    const simple = await api.request('GET', '/v1/me', { key: admin.key, headers: { origin: EVIL } });
    t.equal(simple.status, 200, 'the server answers (a browser would have preflighted first)');
    t.equal(simple.headers.get('access-control-allow-origin'), null, 'but the browser keeps the answer from the page');
    t.equal(simple.headers.get('access-control-expose-headers'), null);
    const lookalike = await api.request('GET', '/v1/me', { key: admin.key, headers: { origin: `${APP}.evil.example.test` } });
    t.equal(lookalike.headers.get('access-control-allow-origin'), null, 'origins match exactly, not by prefix');
  });
});

t.test('`*` allows any origin, still without credentials', async (t) => {
  const api = await startTestApp(t, { config: { corsOrigins: ['*'] } });
  const pre = await api.request('OPTIONS', '/v1/tags', { headers: { origin: EVIL, 'access-control-request-method': 'GET' } });
  t.equal(pre.status, 204);
  t.equal(pre.headers.get('access-control-allow-origin'), '*');
  t.equal(pre.headers.get('access-control-allow-credentials'), null);
});

t.test('without COFFER_CORS_ORIGINS the API sends no CORS header', async (t) => {
  const api = await startTestApp(t);
  const pre = await api.request('OPTIONS', '/v1/tags', { headers: { origin: APP, 'access-control-request-method': 'GET' } });
  t.equal(pre.status, 405, 'OPTIONS is a method the routes do not have');
  t.equal(pre.headers.get('access-control-allow-origin'), null);
  const res = await api.request('GET', '/v1/regions', { headers: { origin: APP } });
  t.equal(res.headers.get('access-control-allow-origin'), null);
  t.equal(res.headers.get('vary'), null);
});

t.test('COFFER_CORS_ORIGINS takes exact origins', async (t) => {
  t.same(loadConfig({}).corsOrigins, []);
  t.same(loadConfig({ COFFER_CORS_ORIGINS: ' https://a.example.test , http://localhost:3000 ' }).corsOrigins, ['https://a.example.test', 'http://localhost:3000']);
  for (const bad of ['https://a.example.test/', 'https://a.example.test/app', 'a.example.test', 'ftp://a.example.test', 'https://A.example.test']) {
    t.throws(() => loadConfig({ COFFER_CORS_ORIGINS: bad }), ConfigError, bad);
  }
});
