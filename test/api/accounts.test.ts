import t from 'tap';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { purgeExpiredSignups } from '../../api/resources/accounts/signup.ts';

const SIGNUP = { name: 'Pizza Perfecto', email: 'Bob.Smith@Example.test', password: 'correct horse battery staple', region: 'eu-west-1', user_name: 'Bob' };

/** The token of the activation link in the last email to `to`. */
function activationToken(api: TestApp, to: string): string {
  const mail = api.sentMail.filter((m) => m.to === to).at(-1);
  const token = mail && /\/v1\/accounts\/activate\?token=(cfa_[0-9A-Za-z]{32})/.exec(mail.text)?.[1];
  if (!token) throw new Error(`no activation link mailed to ${to}`);
  return token;
}

t.test('sign-up is two steps: 202 and an activation email, then the link creates the trial account, its administrator and a working first API key', async (t) => {
  const start = new Date('2026-03-01T10:00:00Z');
  const api = await startTestApp(t, { start, config: { publicUrl: 'https://coffer.example.test' } });
  const res = await api.request('POST', '/v1/accounts', { body: SIGNUP });
  t.equal(res.status, 202);
  t.same(res.body, {
    status: 'activation_sent', email: 'bob.smith@example.test',
    detail: 'An email with an activation link is on its way to this address; the account is created when the link is used.',
  });
  t.equal((await api.database.sql`select count(*)::int as n from accounts`)[0]!.n, 0, 'no account before the address is proven');

  t.equal(api.sentMail.length, 1);
  const [mail] = api.sentMail;
  t.equal(mail!.to, 'bob.smith@example.test');
  t.equal(mail!.subject, 'Activate your Coffer account');
  const token = activationToken(api, 'bob.smith@example.test');
  const link = `https://coffer.example.test/v1/accounts/activate?token=${token}`;
  t.match(mail!.text, `Your Coffer trial account "Pizza Perfecto" is ready. Activate it with the link below before 2026-03-03T10:00:00.000Z (48 hours).`);
  t.match(mail!.text, `Activate your Coffer account:\n${link}\n`);
  t.match(mail!.html, `<a href="${link}">Activate your Coffer account</a>`, 'an HTML part with the same link');
  const stored = await api.database.sql`select token_hash, password_hash from pending_signups`;
  t.equal(stored.length, 1);
  t.notMatch(stored[0]!.token_hash.toString('latin1'), token, 'only a hash of the token is stored');
  t.match(stored[0]!.password_hash, /^\$argon2id\$/, 'the password is stored hashed');

  const inspected = await api.request('GET', `/v1/accounts/activate?token=${token}`);
  t.equal(inspected.status, 200);
  t.same(inspected.body, { email: 'bob.smith@example.test', account_name: 'Pizza Perfecto', region: 'eu-west-1', kind: 'standard', expires_at: '2026-03-03T10:00:00.000Z' });

  api.clock.advance(3600_000);
  const activated = await api.request('POST', '/v1/accounts/activate', { body: { token } });
  t.equal(activated.status, 201);
  t.equal(activated.headers.get('location'), '/v1/account');
  const { account, user, api_key } = activated.body;
  t.match(account.id, /^acct_[0-9a-z]{26}$/);
  t.equal(account.name, 'Pizza Perfecto');
  t.equal(account.email, 'bob.smith@example.test', 'email is normalised to lower case');
  t.equal(account.state, 'trial');
  t.equal(account.region, 'eu-west-1');
  t.equal(account.trial_ends_at, '2026-03-15T11:00:00.000Z', 'trial ends 14 days after activation');
  t.equal(user.role, 'administrator');
  t.equal(user.name, 'Bob');
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
  const session = await api.request('POST', '/v1/sessions', { body: { email: SIGNUP.email, password: SIGNUP.password } });
  t.equal(session.status, 201, 'the password given at sign-up signs in');

  const keys = await api.database.sql`select secret_hash from api_keys where id = ${api_key.id}`;
  t.equal(keys.length, 1);
  t.not(keys[0]!.secret_hash.toString('utf8'), api_key.secret, 'only a hash is stored');
  const raw = await api.database.sql`select count(*)::int as n from api_keys where encode(secret_hash, 'escape') like ${'%' + api_key.secret + '%'}`;
  t.equal(raw[0]!.n, 0);

  const again = await api.request('POST', '/v1/accounts/activate', { body: { token } });
  t.equal(again.status, 409, 'the link works once');
  t.equal(again.body.code, 'activation_used');
  t.equal((await api.request('GET', `/v1/accounts/activate?token=${token}`)).body.code, 'activation_used');
  t.equal((await api.database.sql`select count(*)::int as n from accounts`)[0]!.n, 1);
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

t.test('user enumeration: sign-up answers a taken address exactly as a new one; its owner is told by email instead', async (t) => {
  const api = await startTestApp(t, { config: { publicUrl: 'https://coffer.example.test' } });
  await api.signUp({ email: 'taken@example.test' });
  const taken = await api.request('POST', '/v1/accounts', { body: { name: 'Other', email: 'TAKEN@example.test', password: 'another long password', region: 'us-east-1' } });
  const fresh = await api.request('POST', '/v1/accounts', { body: { name: 'Other', email: 'FRESH@example.test', password: 'another long password', region: 'us-east-1' } });
  t.equal(taken.status, 202);
  t.equal(fresh.status, 202);
  t.same({ ...taken.body, email: 'x' }, { ...fresh.body, email: 'x' }, 'the same body but for the address itself');
  const names = (h: Headers) => {
    const out: string[] = [];
    h.forEach((_, name) => out.push(name));
    return out.sort();
  };
  t.same(names(taken.headers), names(fresh.headers), 'the same headers');

  t.same(api.sentMail.map((m) => [m.to, m.subject]), [
    ['taken@example.test', 'Someone tried to sign up to Coffer with your address'],
    ['fresh@example.test', 'Activate your Coffer account'],
  ]);
  const notice = api.sentMail[0]!;
  t.match(notice.text, 'Someone (perhaps you) tried to create a Coffer account with taken@example.test from 127.0.0.1. You already have an account with this address, so nothing was created and nothing changed.');
  t.match(notice.text, 'POST {"email": "…"} to https://coffer.example.test/v1/password-reset');
  t.notMatch(notice.text, /token=/, 'no link that could create anything');
  t.type(notice.html, 'string');
  const pending = await api.database.sql`select email from pending_signups where activated_at is null`;
  t.same(pending.map((r) => r.email), ['fresh@example.test'], 'nothing waits for the taken address');
});

t.test('user enumeration: sign-up takes the same time for a taken and a new address', async (t) => {
  const api = await startTestApp(t);
  await api.signUp({ email: 'timing-taken@example.test' });
  const body = (email: string) => JSON.stringify({ name: 'T', email, password: 'another long password', region: 'us-east-1' });
  const post = async (email: string) => {
    const started = performance.now();
    const res = await fetch(`${api.url}/v1/accounts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(email) });
    await res.arrayBuffer();
    const took = performance.now() - started;
    t.equal(res.status, 202);
    await api.settled();
    return took;
  };
  // Back-to-back pairs, in alternating order, so that the load of the machine cancels out.
  const differences: number[] = [];
  const fresh: number[] = [];
  for (let i = 0; i < 9; i++) {
    let taken: number;
    let f: number;
    if (i % 2) {
      taken = await post('timing-taken@example.test');
      f = await post(`timing-${i}@example.test`);
    } else {
      f = await post(`timing-${i}@example.test`);
      taken = await post('timing-taken@example.test');
    }
    differences.push(taken - f);
    fresh.push(f);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const [difference, typical] = [median(differences), median(fresh)];
  // The password hash is most of the work: skipping it for a taken address would make the difference about -typical.
  t.ok(Math.abs(difference) < 0.4 * typical + 5, `median difference ${difference.toFixed(1)} ms against a typical ${typical.toFixed(1)} ms`);
});

t.test('activation: invalid, expired and superseded links; resend; the first of two sign-ups of one address wins', async (t) => {
  const api = await startTestApp(t, { start: new Date('2026-03-01T10:00:00Z') });
  for (const token of ['nonsense', 'cfa_' + 'A'.repeat(32)]) {
    const res = await api.request('POST', '/v1/accounts/activate', { body: { token } });
    t.equal(res.status, 400);
    t.equal(res.body.code, 'invalid_token');
    t.equal((await api.request('GET', `/v1/accounts/activate?token=${token}`)).body.code, 'invalid_token');
  }

  const signup = (password: string) => api.request('POST', '/v1/accounts', { body: { name: 'Late', email: 'late@example.test', password, region: 'us-east-1' } });
  await signup('first long password');
  const first = activationToken(api, 'late@example.test');
  api.clock.advance(48 * 3600_000);
  const expired = await api.request('POST', '/v1/accounts/activate', { body: { token: first } });
  t.equal(expired.status, 410);
  t.equal(expired.body.code, 'token_expired');
  t.equal((await api.request('GET', `/v1/accounts/activate?token=${first}`)).status, 410);
  const none = await api.request('POST', '/v1/accounts/activation/resend', { body: { email: 'late@example.test' } });
  t.equal(none.status, 202);
  t.equal(api.sentMail.length, 1, 'nothing waits any more (expired): no mail');

  await signup('second long password');
  await signup('third long password');
  const second = api.sentMail.at(-2)!.text.match(/token=(cfa_\w+)/)![1]!;
  const third = activationToken(api, 'late@example.test');
  const resent = await api.request('POST', '/v1/accounts/activation/resend', { body: { email: 'LATE@example.test' } });
  t.equal(resent.status, 202);
  t.same(resent.body, { status: 'activation_sent', email: 'late@example.test', detail: 'An email with an activation link is on its way to this address; the account is created when the link is used.' });
  const fourth = activationToken(api, 'late@example.test');
  t.not(fourth, third);
  t.equal((await api.request('POST', '/v1/accounts/activate', { body: { token: third } })).body.code, 'invalid_token', 'a resend retires the previous link');

  const unknown = await api.request('POST', '/v1/accounts/activation/resend', { body: { email: 'nobody@example.test' } });
  t.equal(unknown.status, 202, 'the same answer for an address nobody signed up with');
  t.equal(api.sentMail.filter((m) => m.to === 'nobody@example.test').length, 0);

  const won = await api.request('POST', '/v1/accounts/activate', { body: { token: second } });
  t.equal(won.status, 201);
  t.equal((await api.request('POST', '/v1/sessions', { body: { email: 'late@example.test', password: 'second long password' } })).status, 201, 'the activated sign-up\'s password');
  const lost = await api.request('POST', '/v1/accounts/activate', { body: { token: fourth } });
  t.equal(lost.status, 400, 'the other sign-up of the address is gone');
  t.equal(lost.body.code, 'invalid_token');

  const resendTaken = await api.request('POST', '/v1/accounts/activation/resend', { body: { email: 'late@example.test' } });
  t.equal(resendTaken.status, 202);
  t.equal(api.sentMail.at(-1)!.subject, 'Someone tried to sign up to Coffer with your address', 'an address with an account gets the notice');

  t.equal(await purgeExpiredSignups(api.deps), 0, 'kept a day past expiry or activation');
  api.clock.advance(25 * 3600_000);
  t.equal(await purgeExpiredSignups(api.deps), 1, 'then the activated sign-up is purged (its activation removed the others)');
  t.equal((await api.database.sql`select count(*)::int as n from pending_signups`)[0]!.n, 0);
});

t.test('activation of an address that got an account meanwhile: 409 email_taken', async (t) => {
  const api = await startTestApp(t);
  await api.request('POST', '/v1/accounts', { body: { name: 'Slow', email: 'slow@example.test', password: 'correct horse battery staple', region: 'us-east-1' } });
  const token = activationToken(api, 'slow@example.test');
  const admin = await api.signUp();
  t.equal((await api.request('POST', '/v1/users', { key: admin.key, body: { email: 'slow@example.test', role: 'custom', permissions: [] } })).status, 201);
  const res = await api.request('POST', '/v1/accounts/activate', { body: { token } });
  t.equal(res.status, 409);
  t.equal(res.body.code, 'email_taken');
  t.equal((await api.database.sql`select count(*)::int as n from accounts where email = 'slow@example.test'`)[0]!.n, 0);
});

t.test('sign-up can be turned off', async (t) => {
  const api = await startTestApp(t, { config: { signupEnabled: false } });
  const res = await api.request('POST', '/v1/accounts', { body: { name: 'A', email: 'a@example.test', password: 'long enough password', region: 'us-east-1' } });
  t.equal(res.status, 403);
  t.equal(res.body.code, 'signup_disabled');
  for (const [path, body] of [['/v1/accounts/activate', { token: 'cfa_' + 'A'.repeat(32) }], ['/v1/accounts/activation/resend', { email: 'a@example.test' }]] as const) {
    t.equal((await api.request('POST', path, { body })).body.code, 'signup_disabled', path);
  }
  t.equal(api.sentMail.length, 0);
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
