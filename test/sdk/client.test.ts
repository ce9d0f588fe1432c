import t, { type Test } from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp } from '../helpers/app.ts';
import { Coffer, CofferError } from '../../sdk/client.ts';

t.test('the SDK against a live server: sign-up, typed calls, errors, pagination', async (t) => {
  const api = await startTestApp(t);
  const anonymous = new Coffer({ baseUrl: api.url });
  const signup = await anonymous.post('/v1/accounts', {
    body: { name: 'MSP customer', email: 'ops@customer.test', password: 'correct horse battery staple', region: 'us-east-1' },
  });
  t.equal(signup.account.state, 'trial');

  const coffer = new Coffer({ baseUrl: api.url, apiKey: signup.api_key.secret });
  const me = await coffer.get('/v1/me');
  t.equal(me.account.id, signup.account.id);

  for (let i = 0; i < 4; i++) await coffer.post('/v1/api-keys', { body: { name: `key ${i}` } });
  const names: string[] = [];
  for await (const key of coffer.paginate('/v1/api-keys', { limit: 2 })) names.push(key.name);
  t.same(names, ['key 3', 'key 2', 'key 1', 'key 0', 'Default'], 'the iterator walks every page');

  const renamed = await coffer.patch('/v1/account', { body: { name: 'Renamed' } });
  t.equal(renamed.name, 'Renamed');

  const err = await coffer.get('/v1/api-keys/{id}', { params: { path: { id: 'key_00000000000000000000000000' } } }).catch((e: unknown) => e);
  t.ok(err instanceof CofferError);
  const e = err as CofferError;
  t.equal(e.status, 404);
  t.equal(e.code, 'not_found');
  t.equal(e.problem?.title, 'Not Found');
  t.match(e.requestId, /^req_/);

  const invalid = (await coffer.post('/v1/api-keys', { body: { name: '' } }).catch((x: unknown) => x)) as CofferError;
  t.equal(invalid.code, 'validation_failed');
  t.same(invalid.problem?.errors?.map((f) => f.pointer), ['/body/name']);

  const unauthenticated = (await anonymous.get('/v1/me').catch((x: unknown) => x)) as CofferError;
  t.equal(unauthenticated.status, 401);
});

/** A scripted server: each request takes the next answer; records what arrived. */
async function scripted(t: Test, answers: ((req: IncomingMessage, res: ServerResponse) => void)[]) {
  const seen: { method: string; url: string; headers: IncomingMessage['headers']; at: number }[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, at: Date.now() });
    req.resume();
    const answer = answers.shift() ?? ((_q, s) => s.writeHead(500).end());
    answer(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
};
const problem = (status: number, code: string, headers: Record<string, string> = {}) =>
  json(status, { type: `urn:coffer:problem:${code}`, title: 'x', status, code, request_id: 'req_test' }, headers);
const fast = { baseDelayMs: 5, maxDelayMs: 5_000 };

t.test('retries 429 honouring Retry-After, and 5xx, for safe requests', async (t) => {
  const server = await scripted(t, [problem(429, 'rate_limited', { 'retry-after': '1' }), problem(503, 'unavailable'), json(200, { status: 'ok' })]);
  const coffer = new Coffer({ baseUrl: server.url, retry: fast });
  const res = await coffer.get('/healthz');
  t.same(res, { status: 'ok' });
  t.equal(server.seen.length, 3);
  t.ok(server.seen[1]!.at - server.seen[0]!.at >= 950, 'waited the Retry-After second');
});

t.test('POSTs carry one Idempotency-Key across retries', async (t) => {
  const server = await scripted(t, [problem(502, 'bad_gateway'), json(201, { id: 'key_1' })]);
  const coffer = new Coffer({ baseUrl: server.url, apiKey: 'cfk_' + 'x'.repeat(32), retry: fast });
  await coffer.post('/v1/api-keys', { body: { name: 'n' } });
  t.equal(server.seen.length, 2);
  const [first, second] = server.seen;
  t.match(first!.headers['idempotency-key'], /^[0-9a-f-]{36}$/);
  t.equal(second!.headers['idempotency-key'], first!.headers['idempotency-key']);
  t.equal(first!.headers.authorization, 'Bearer cfk_' + 'x'.repeat(32));
});

t.test('a PATCH without If-Match is not repeated after a 5xx, but is after a 429', async (t) => {
  const server = await scripted(t, [problem(503, 'unavailable')]);
  const coffer = new Coffer({ baseUrl: server.url, retry: fast });
  const err = (await coffer.patch('/v1/account', { body: { name: 'x' } }).catch((e: unknown) => e)) as CofferError;
  t.equal(err.status, 503);
  t.equal(server.seen.length, 1, 'not retried: it may have been applied');

  const limited = await scripted(t, [problem(429, 'rate_limited', { 'retry-after': '0' }), json(200, { name: 'x' })]);
  const again = new Coffer({ baseUrl: limited.url, retry: fast });
  t.same(await again.patch('/v1/account', { body: { name: 'x' } }), { name: 'x' });
  t.equal(limited.seen.length, 2, 'a 429 was not processed, so it is safe to repeat');

  const guarded = await scripted(t, [problem(503, 'unavailable'), json(200, { name: 'x' })]);
  const withMatch = new Coffer({ baseUrl: guarded.url, retry: fast });
  await withMatch.patch('/v1/account', { body: { name: 'x' }, headers: { 'if-match': '"v1"' } });
  t.equal(guarded.seen.length, 2, 'If-Match makes a PATCH safe to repeat');
});

t.test('gives up after maxRetries and surfaces the last problem', async (t) => {
  const server = await scripted(t, [problem(500, 'internal_error'), problem(500, 'internal_error'), problem(500, 'internal_error')]);
  const coffer = new Coffer({ baseUrl: server.url, retry: { ...fast, maxRetries: 2 } });
  const err = (await coffer.get('/healthz').catch((e: unknown) => e)) as CofferError;
  t.equal(err.code, 'internal_error');
  t.equal(err.requestId, 'req_test');
  t.equal(server.seen.length, 3);
});

t.test('network errors are retried for GET and reported as CofferError', async (t) => {
  let calls = 0;
  const flaky = async (request: Request) => {
    calls++;
    if (calls < 3) throw new TypeError('fetch failed');
    return new Response(JSON.stringify({ status: 'ok' }), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  const coffer = new Coffer({ baseUrl: 'http://127.0.0.1:9', retry: fast, fetch: flaky });
  t.same(await coffer.get('/healthz'), { status: 'ok' });
  t.equal(calls, 3);

  const down = new Coffer({ baseUrl: 'http://127.0.0.1:9', retry: { ...fast, maxRetries: 1 } });
  const err = (await down.get('/healthz').catch((e: unknown) => e)) as CofferError;
  t.ok(err instanceof CofferError);
  t.equal(err.code, 'network_error');
});
