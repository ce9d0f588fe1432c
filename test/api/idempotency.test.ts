// Idempotency-Key beyond the basics in conventions.test.ts: a record belongs to the credential that
// made it (its stored response may carry a secret), unauthenticated responses are never replayed,
// and a key whose first request is still running is refused.
import t from 'tap';
import type { FastifyReply } from 'fastify';
import { startTestApp } from '../helpers/app.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { inviteAndConfirm, PASSWORD, sessionFor } from '../helpers/security.ts';

t.test('attack: another user repeats an administrator\'s POST /v1/api-keys and /v1/me/2fa with the same Idempotency-Key', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url } });
  const admin = await api.signUp();
  const reader = await inviteAndConfirm(api, smtp, admin.key, { permissions: ['backups:read', 'api_keys:manage'] });
  const readerSession = await sessionFor(api, reader.email);
  const headers = { 'idempotency-key': 'ci' };

  const original = await api.request('POST', '/v1/api-keys', { key: admin.key, body: { name: 'ci' }, headers });
  t.equal(original.status, 201);
  const same = await api.request('POST', '/v1/api-keys', { key: admin.key, body: { name: 'ci' }, headers });
  t.equal(same.headers.get('idempotent-replayed'), 'true', 'the same credential still gets its replay');
  t.equal(same.body.secret, original.body.secret);

  const repeated = await api.request('POST', '/v1/api-keys', { key: readerSession, body: { name: 'ci' }, headers });
  t.equal(repeated.status, 201, 'processed afresh for the other user');
  t.equal(repeated.headers.get('idempotent-replayed'), null);
  t.not(repeated.body.secret, original.body.secret, 'never the administrator\'s secret');
  t.not(repeated.body.id, original.body.id);
  t.equal(repeated.body.user_id, reader.id);
  t.same(repeated.body.scopes, ['backups:read', 'api_keys:manage']);
  t.equal((await api.request('GET', '/v1/users', { key: repeated.body.secret })).status, 403);

  // Another credential of the same user is someone else too: a leaked narrow key must not read the secrets its user's other keys created.
  const narrow = await api.request('POST', '/v1/api-keys', { key: admin.key, body: { name: 'narrow', scopes: ['api_keys:manage'] } });
  const fromNarrow = await api.request('POST', '/v1/api-keys', { key: narrow.body.secret, body: { name: 'ci' }, headers });
  t.equal(fromNarrow.status, 201);
  t.equal(fromNarrow.headers.get('idempotent-replayed'), null);
  t.not(fromNarrow.body.secret, original.body.secret);
  t.same(fromNarrow.body.scopes, ['api_keys:manage']);

  // A TOTP seed the same way.
  const twoFactor = { 'idempotency-key': 'setup-2fa' };
  const seed = await api.request('POST', '/v1/me/2fa', { key: admin.key, headers: twoFactor });
  t.equal(seed.status, 201);
  const readerSeed = await api.request('POST', '/v1/me/2fa', { key: readerSession, headers: twoFactor });
  t.equal(readerSeed.status, 201);
  t.equal(readerSeed.headers.get('idempotent-replayed'), null);
  t.not(readerSeed.body.secret, seed.body.secret, 'the reader gets a seed of their own');
  t.match(readerSeed.body.otpauth_uri, encodeURIComponent(reader.email));

  const scopes = await api.database.sql`select scope from idempotency_keys where key = 'ci' order by scope`;
  t.same(scopes.map((r) => r.scope).sort(), [
    `${admin.accountId}/${admin.userId}/${admin.keyId}`,
    `${admin.accountId}/${admin.userId}/${narrow.body.id}`,
    `${admin.accountId}/${reader.id}/${(await api.request('GET', '/v1/me', { key: readerSession })).body.credential.id}`,
  ].sort(), 'one record per credential');
});

t.test('attack: an unauthenticated caller repeats a sign-up or sign-in with the same Idempotency-Key', async (t) => {
  const api = await startTestApp(t);
  const body = { name: 'Acme', email: 'owner@acme.test', password: PASSWORD, region: 'eu-west-1' };
  const headers = { 'idempotency-key': 'signup-1' };
  const signUp = await api.request('POST', '/v1/accounts', { body, headers });
  t.equal(signUp.status, 202);
  const token = /cfa_[A-Za-z0-9_-]+/.exec(api.sentMail.find((m) => m.to === body.email)!.text)![0];
  // Activation is what answers with the first API key: its repeat must not hand it out again.
  const activate = { 'idempotency-key': 'activate-1' };
  const activated = await api.request('POST', '/v1/accounts/activate', { body: { token }, headers: activate });
  t.equal(activated.status, 201);
  t.match(activated.body.api_key.secret, /^cfk_/);
  const again = await api.request('POST', '/v1/accounts/activate', { body: { token }, headers: activate });
  t.equal(again.headers.get('idempotent-replayed'), null, 'an unauthenticated response is never replayed');
  t.equal(again.status, 409, 'the repeat runs again, and the link is used');
  t.equal(again.body.code, 'activation_used');
  t.notMatch(again.text, /cfk_/);

  const signIn = { email: body.email, password: PASSWORD };
  const first = await api.request('POST', '/v1/sessions', { body: signIn, headers: { 'idempotency-key': 'sign-in' } });
  const second = await api.request('POST', '/v1/sessions', { body: signIn, headers: { 'idempotency-key': 'sign-in' } });
  t.equal(first.status, 201);
  t.equal(second.status, 201);
  t.equal(second.headers.get('idempotent-replayed'), null);
  t.not(second.body.token, first.body.token, 'each sign-in gets its own session');
  t.same(await api.database.sql`select scope from idempotency_keys`, [], 'nothing unauthenticated is kept');

  // A record stored for an unauthenticated caller before this rule is not replayed either.
  await api.database.sql`
    insert into idempotency_keys (scope, key, method, path, request_hash, completed, response_status, response_body, expires_at)
    values ('public:127.0.0.1', 'old', 'POST', '/v1/sessions', 'x', true, 201, 'sealed', now() + interval '1 hour')`;
  const old = await api.request('POST', '/v1/sessions', { body: signIn, headers: { 'idempotency-key': 'old' } });
  t.equal(old.status, 201);
  t.equal(old.headers.get('idempotent-replayed'), null);
});

/** A route whose handler waits until the test lets it finish, so a request is really in flight. */
function slowRoute() {
  let entered!: () => void;
  let release!: () => void;
  const inside = new Promise<void>((resolve) => { entered = resolve; });
  const done = new Promise<void>((resolve) => { release = resolve; });
  let calls = 0;
  return {
    inside, release, calls: () => calls,
    extend: (app: { post: (path: string, handler: (request: unknown, reply: FastifyReply) => Promise<unknown>) => unknown }) => {
      app.post('/v1/test/slow', async (_request, reply) => {
        calls += 1;
        entered();
        await done;
        return reply.code(201).send({ calls });
      });
    },
  };
}

t.test('the 409 while the first request with the same Idempotency-Key is still running', async (t) => {
  const slow = slowRoute();
  const api = await startTestApp(t, { extend: (app) => slow.extend(app as never) });
  const { key } = await api.signUp();
  const headers = { 'idempotency-key': 'in-flight' };

  const first = api.request('POST', '/v1/test/slow', { key, body: { n: 1 }, headers });
  await slow.inside;
  const retry = await api.request('POST', '/v1/test/slow', { key, body: { n: 1 }, headers });
  const callsWhileRunning = slow.calls();
  slow.release(); // before asserting, so a failure cannot leave the first request hanging
  const finished = await first;
  t.equal(retry.status, 409);
  t.equal(retry.body?.code, 'idempotency_request_in_progress');
  t.equal(callsWhileRunning, 1, 'the retry did not run');
  t.equal(finished.status, 201);
  t.same(finished.body, { calls: 1 });
  const replay = await api.request('POST', '/v1/test/slow', { key, body: { n: 1 }, headers });
  t.equal(replay.status, 201);
  t.equal(replay.headers.get('idempotent-replayed'), 'true');
  t.same(replay.body, { calls: 1 });
  t.equal(slow.calls(), 1);
});

t.test('a different body under a key whose first request is still running is 422 idempotency_key_reused', async (t) => {
  const slow = slowRoute();
  const api = await startTestApp(t, { extend: (app) => slow.extend(app as never) });
  const { key } = await api.signUp();
  const headers = { 'idempotency-key': 'in-flight' };

  const first = api.request('POST', '/v1/test/slow', { key, body: { n: 1 }, headers });
  await slow.inside;
  const other = await api.request('POST', '/v1/test/slow', { key, body: { n: 2 }, headers });
  slow.release();
  t.equal((await first).status, 201);
  t.equal(other.status, 422);
  t.equal(other.body?.code, 'idempotency_key_reused');
  t.equal(slow.calls(), 1);
});
