import t, { type Test } from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp } from '../helpers/app.ts';
import { AuthenticationError, Coffer, CofferError, ConflictError, JobFailedError, NotFoundError, PermissionError, RateLimitError, ValidationError, ApiConnectionError } from '../../sdk/client.ts';

t.test('the SDK against a live server: sign-up, generated methods, error classes, pagination', async (t) => {
  const api = await startTestApp(t);
  const anonymous = new Coffer({ baseUrl: api.url });
  const asked = await anonymous.accounts.signUp({ name: 'MSP customer', email: 'ops@customer.test', password: 'correct horse battery staple', region: 'us-east-1' });
  t.equal(asked.status, 'activation_sent');
  await api.settled();
  const token = /token=(cfa_\w+)/.exec(api.sentMail.at(-1)!.text)![1]!;
  const signup = await anonymous.accounts.activate({ token });
  t.equal(signup.account.state, 'trial');
  t.equal(signup.lastResponse.status, 201);

  const coffer = new Coffer({ baseUrl: api.url, apiKey: signup.api_key.secret });
  const me = await coffer.me.get();
  t.equal(me.account.id, signup.account.id);

  for (let i = 0; i < 4; i++) await coffer.apiKeys.create({ name: `key ${i}` });
  const names: string[] = [];
  for await (const key of coffer.apiKeys.list({ limit: 2 })) names.push(key.name);
  t.same(names, ['key 3', 'key 2', 'key 1', 'key 0', 'Default'], 'iterating list() walks every page');
  const first = await coffer.apiKeys.list({ limit: 2 });
  t.same(first.data.map((k) => k.name), ['key 3', 'key 2'], 'awaiting list() gives the first page');
  const second = await first.getNextPage();
  t.same(second.data.map((k) => k.name), ['key 1', 'key 0']);
  const last = await (await second.getNextPage());
  t.equal(last.hasNextPage(), false);
  await t.rejects(last.getNextPage(), /last page/);
  const fromSecond: string[] = [];
  for await (const key of second) fromSecond.push(key.name);
  t.same(fromSecond, ['key 1', 'key 0', 'Default'], 'a page iterates from itself onwards');

  const renamed = await coffer.account.update({ name: 'Renamed' });
  t.equal(renamed.name, 'Renamed');

  const err = await coffer.apiKeys.get('key_00000000000000000000000000').catch((e: unknown) => e);
  t.ok(err instanceof NotFoundError);
  t.ok(err instanceof CofferError);
  const e = err as NotFoundError;
  t.equal(e.status, 404);
  t.equal(e.code, 'not_found');
  t.equal(e.problem?.title, 'Not Found');
  t.match(e.requestId, /^req_/);

  const invalid = await coffer.apiKeys.create({ name: '' }).catch((x: unknown) => x);
  t.ok(invalid instanceof ValidationError);
  t.equal((invalid as ValidationError).code, 'validation_failed');
  t.same((invalid as ValidationError).fieldErrors.map((f) => f.pointer), ['/body/name']);

  const unauthenticated = await anonymous.me.get().catch((x: unknown) => x);
  t.ok(unauthenticated instanceof AuthenticationError);
  t.equal((unauthenticated as CofferError).status, 401);

  const readOnly = await coffer.apiKeys.create({ name: 'reader', scopes: ['backups:read'] });
  const reader = new Coffer({ baseUrl: api.url, apiKey: readOnly.secret });
  const forbidden = await reader.tags.create({ name: 'nope' }).catch((x: unknown) => x);
  t.ok(forbidden instanceof PermissionError, 'a key without the permission gets a PermissionError');
  t.equal((forbidden as CofferError).status, 403);

  // Optimistic concurrency: the ETag of a read guards the update; a stale one is a ConflictError.
  const tag = await coffer.tags.create({ name: 'finance' });
  const read = await coffer.tags.get(tag.id);
  t.equal(read.lastResponse.etag, '"v1"');
  t.same(Object.keys(read).sort(), ['created_at', 'entity_count', 'id', 'name', 'updated_at'], 'lastResponse is not enumerable');
  t.equal((await coffer.tags.update(tag.id, { name: 'Finance' }, { ifMatch: read })).name, 'Finance');
  const stale = await coffer.tags.update(tag.id, { name: 'stale' }, { ifMatch: read.lastResponse.etag }).catch((x: unknown) => x);
  t.ok(stale instanceof ConflictError);
  t.equal((stale as ConflictError).status, 412);
  await coffer.tags.delete(tag.id);
  t.ok((await coffer.tags.get(tag.id).catch((x: unknown) => x)) instanceof NotFoundError, 'deleted');

  // One Idempotency-Key, one effect: the replay answers with the first result.
  const once = await coffer.tags.create({ name: 'once' }, { idempotencyKey: 'create-once' });
  const replay = await coffer.tags.create({ name: 'once' }, { idempotencyKey: 'create-once' });
  t.equal(replay.id, once.id, 'idempotencyKey reaches the server');

  // The escape hatch: typed calls by path.
  t.equal((await coffer.get('/v1/me')).account.id, signup.account.id);
  const viaPaginate: string[] = [];
  for await (const key of coffer.paginate('/v1/api-keys', { limit: 3 })) viaPaginate.push(key.name);
  t.equal(viaPaginate.length, 6);
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
  const err = (await down.health.check().catch((e: unknown) => e)) as CofferError;
  t.ok(err instanceof ApiConnectionError);
  t.equal(err.status, 0);
  t.equal(err.code, 'network_error');
});

t.test('a 429 once the retries are spent is a RateLimitError with retryAfter', async (t) => {
  const server = await scripted(t, [problem(429, 'rate_limited', { 'retry-after': '7' })]);
  const coffer = new Coffer({ baseUrl: server.url, retry: { ...fast, maxRetries: 0 } });
  const err = await coffer.tags.list().catch((e: unknown) => e);
  t.ok(err instanceof RateLimitError);
  t.equal((err as RateLimitError).retryAfter, 7);
  t.equal((err as RateLimitError).code, 'rate_limited');
});

const never = () => {}; // takes the request and never answers

t.test('timeoutMs gives up an attempt without an answer: retried when safe, then an ApiConnectionError', async (t) => {
  const server = await scripted(t, [never, never]);
  const coffer = new Coffer({ baseUrl: server.url, retry: { ...fast, maxRetries: 1 } });
  const started = Date.now();
  const err = await coffer.tags.list(undefined, { timeoutMs: 200 }).catch((e: unknown) => e);
  t.ok(err instanceof ApiConnectionError);
  t.equal((err as ApiConnectionError).code, 'timeout');
  t.equal(server.seen.length, 2, 'the GET was tried twice');
  t.ok(Date.now() - started < 5_000);

  const post = await scripted(t, [never, never, never, never]);
  const poster = new Coffer({ baseUrl: post.url, retry: fast, timeoutMs: 200 });
  const e2 = await poster.tags.create({ name: 'x' }, { idempotencyKey: 'k' }).catch((e: unknown) => e);
  t.equal((e2 as CofferError).code, 'timeout', 'the client-wide default applies too');
  t.equal(post.seen.length, 4, 'a POST with an Idempotency-Key is safe to repeat');
});

t.test('the caller\'s signal aborts at once, without retries', async (t) => {
  const server = await scripted(t, [never]);
  const coffer = new Coffer({ baseUrl: server.url, retry: fast });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  const err = await coffer.tags.get('tag_1', { signal: controller.signal }).catch((e: unknown) => e);
  t.equal((err as Error).name, 'AbortError');
  t.notOk(err instanceof CofferError);
  t.equal(server.seen.length, 1);
});

t.test('headers, If-Match and Coffer-Account reach the server', async (t) => {
  const ok = json(200, { id: 'tag_1', name: 'x' });
  const server = await scripted(t, [ok, ok, ok, ok]);
  const coffer = new Coffer({ baseUrl: server.url, apiKey: 'cfk_k', retry: fast });
  await coffer.tags.get('tag_1', { headers: { 'x-trace': 'abc' } });
  await coffer.withAccount('acct_partner').tags.update('tag_1', { name: 'y' }, { ifMatch: '"v3"' });
  await new Coffer({ baseUrl: server.url, account: 'acct_other' }).tags.get('tag_1');
  await coffer.tags.get('tag_1');
  const [traced, scoped, constructed, plain] = server.seen;
  t.equal(traced!.headers['x-trace'], 'abc');
  t.equal(scoped!.method, 'PATCH');
  t.equal(scoped!.url, '/v1/tags/tag_1');
  t.equal(scoped!.headers['coffer-account'], 'acct_partner');
  t.equal(scoped!.headers['if-match'], '"v3"');
  t.equal(scoped!.headers.authorization, 'Bearer cfk_k', 'withAccount keeps the key');
  t.equal(constructed!.headers['coffer-account'], 'acct_other');
  t.equal(plain!.headers['coffer-account'], undefined, 'withAccount returns a new client; the original is unchanged');
});

const job = (state: string, extra: Record<string, unknown> = {}) => json(200, { id: 'job_1', state, items_done: 0, items_total: 2, reason: null, ...extra });

t.test('jobs.wait polls until the job ends and reports progress', async (t) => {
  const server = await scripted(t, [job('pending'), job('in_progress'), job('in_progress', { items_done: 1 }), job('succeeded', { items_done: 2 })]);
  const coffer = new Coffer({ baseUrl: server.url, retry: fast });
  const seen: string[] = [];
  const done = await coffer.jobs.wait('job_1', { onProgress: (j) => seen.push(`${j.state}:${j.items_done}`), minIntervalMs: 10 });
  t.equal(done.state, 'succeeded');
  t.same(seen, ['pending:0', 'in_progress:0', 'in_progress:1', 'succeeded:2']);
  t.same(server.seen.map((r) => r.url), Array(4).fill('/v1/jobs/job_1'));
  t.ok(server.seen[3]!.at - server.seen[2]!.at >= server.seen[1]!.at - server.seen[0]!.at, 'the pauses grow');
});

t.test('jobs.wait raises JobFailedError carrying a failed job, and gives up after timeoutMs', async (t) => {
  const server = await scripted(t, [job('in_progress'), job('failed', { reason: 'storage unreachable' })]);
  const coffer = new Coffer({ baseUrl: server.url, retry: fast });
  const err = await coffer.jobs.wait('job_1', { minIntervalMs: 10 }).catch((e: unknown) => e);
  t.ok(err instanceof JobFailedError);
  t.equal((err as JobFailedError).job.id, 'job_1');
  t.equal((err as JobFailedError).job.reason, 'storage unreachable');
  t.match((err as Error).message, /job job_1 failed: storage unreachable/);

  const canceled = await scripted(t, [job('canceled')]);
  t.equal((await new Coffer({ baseUrl: canceled.url }).jobs.wait('job_1')).state, 'canceled', 'a canceled job is returned, not thrown');

  const slow = await scripted(t, Array(50).fill(job('in_progress')));
  const started = Date.now();
  const late = await new Coffer({ baseUrl: slow.url }).jobs.wait('job_1', { timeoutMs: 300, minIntervalMs: 50 }).catch((e: unknown) => e);
  t.equal((late as Error).name, 'TimeoutError');
  t.ok(Date.now() - started < 2_000);
});
