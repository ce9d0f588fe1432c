// The limits of api/plugins/throttle.ts, each proven by the attack it stops: floods of refused
// credentials, password-reset mail to one address, sign-in guessing and sign-up floods.
import t, { type Test } from 'tap';
import { startTestApp, RELAXED_RATE_LIMITS, type TestApp, type TestResponse } from '../helpers/app.ts';
import { DEFAULT_RATE_LIMITS, loadConfig, ConfigError, type RateLimits } from '../../api/config.ts';

const PASSWORD = 'correct horse battery staple';

/** The 429 of a throttle limit: a problem document with Retry-After and the RateLimit headers. */
function assertLimited(t: Test, res: TestResponse, max: number, retryAfter: number, what: RegExp) {
  t.equal(res.status, 429);
  t.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  t.equal(res.body.code, 'rate_limited');
  t.equal(res.body.title, 'Too Many Requests');
  t.match(res.body.detail, what);
  t.equal(res.headers.get('retry-after'), String(retryAfter));
  t.equal(res.headers.get('ratelimit-limit'), String(max));
  t.equal(res.headers.get('ratelimit-remaining'), '0');
  t.equal(res.headers.get('ratelimit-reset'), String(retryAfter));
}

function app(t: Test, limits: Partial<RateLimits> = DEFAULT_RATE_LIMITS, extra: Parameters<typeof startTestApp>[1] = {}): Promise<TestApp> {
  return startTestApp(t, { ...extra, config: { ...extra.config, rateLimits: { ...RELAXED_RATE_LIMITS, ...limits } } });
}

t.test('bogus key flood: 700 requests with a made-up key get 401 up to the per-IP limit, then 429 for every bearer request from that IP', async (t) => {
  const api = await app(t, { authFailuresPerIp: DEFAULT_RATE_LIMITS.authFailuresPerIp });
  const { key } = await api.signUp();
  const bogus = 'cfk_' + 'x'.repeat(32);
  const statuses = new Map<number, number>();
  let first429: TestResponse | undefined;
  for (let i = 0; i < 700; i++) {
    const res = await api.request('GET', '/v1/me', { key: i % 2 ? bogus : 'cfs_' + String(i).padStart(32, '0') });
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    if (res.status === 429) first429 ??= res;
  }
  t.same([...statuses], [[401, 30], [429, 670]], 'the first 30 refused credentials are answered, then the IP is throttled');
  assertLimited(t, first429!, 30, 600, /^Too many failed authentications from this address: at most 30 per 10 minutes; retry in 600 seconds\.$/);
  assertLimited(t, await api.request('GET', '/v1/me', { key }), 30, 600, /failed authentications/);
  t.pass('a valid key from the throttled IP is refused too: the flood cannot tell a right guess from a wrong one');
  t.equal((await api.request('GET', '/v1/regions')).status, 200, 'public routes without credentials still answer');
  t.equal((await api.request('GET', '/v1/me')).status, 401, 'no credential at all: 401, not counted and not throttled');

  api.clock.advance(9 * 60_000);
  t.equal((await api.request('GET', '/v1/me', { key })).headers.get('retry-after'), '60', 'Retry-After counts down with the window');
  api.clock.advance(60_000);
  t.equal((await api.request('GET', '/v1/me', { key })).status, 200, 'after the window the IP may authenticate again');
  t.equal((await api.request('GET', '/v1/me', { key: bogus })).status, 401);
});

t.test('a refused credential counts against its own IP only; a valid one counts nothing', async (t) => {
  const api = await app(t, { authFailuresPerIp: 3 }, { config: { trustProxy: true } });
  const { key } = await api.signUp();
  for (let i = 0; i < 5; i++) t.equal((await api.request('GET', '/v1/me', { key, headers: { 'x-forwarded-for': '203.0.113.7' } })).status, 200);
  const from = (ip: string, bearer: string) => api.request('GET', '/v1/me', { key: bearer, headers: { 'x-forwarded-for': ip } });
  for (let i = 0; i < 3; i++) t.equal((await from('198.51.100.1', 'cfk_' + 'y'.repeat(32))).status, 401);
  t.equal((await from('198.51.100.1', key)).status, 429, 'the guessing IP is throttled');
  t.equal((await from('203.0.113.7', key)).status, 200, 'another IP is not');
  const revoked = await api.request('POST', '/v1/api-keys', { key, body: { name: 'soon revoked' } });
  await api.request('DELETE', `/v1/api-keys/${revoked.body.id}`, { key });
  for (let i = 0; i < 3; i++) t.equal((await from('203.0.113.8', revoked.body.secret)).status, 401, 'revoked');
  t.equal((await from('203.0.113.8', key)).status, 429, 'revoked keys count as refused credentials too');
});

t.test('password reset flood: 30 requests for one address in seconds send it 3 emails; the rest are 429', async (t) => {
  const api = await app(t, { passwordResetPerIp: DEFAULT_RATE_LIMITS.passwordResetPerIp, passwordResetPerEmail: DEFAULT_RATE_LIMITS.passwordResetPerEmail }, { config: { trustProxy: true } });
  const victim = (await api.signUp()).body.user.email as string;
  const statuses: number[] = [];
  let limited: TestResponse | undefined;
  for (let i = 0; i < 30; i++) {
    // From thirty addresses, so that only the per-email limit can stop it.
    const res = await api.request('POST', '/v1/password-reset', { body: { email: i % 2 ? victim : victim.toUpperCase() }, headers: { 'x-forwarded-for': `198.51.100.${i + 1}` } });
    statuses.push(res.status);
    if (res.status === 429) limited ??= res;
  }
  t.same(statuses, [202, 202, 202, ...Array(27).fill(429)]);
  t.equal(api.sentMail.filter((m) => m.to === victim).length, 3, 'three reset emails, not thirty');
  assertLimited(t, limited!, 3, 3600, /^Too many password reset requests for this email address: at most 3 per 60 minutes/);

  const statusesFromOneIp: number[] = [];
  for (let i = 0; i < 12; i++) {
    statusesFromOneIp.push((await api.request('POST', '/v1/password-reset', { body: { email: `someone-${i}@example.test` }, headers: { 'x-forwarded-for': '203.0.113.50' } })).status);
  }
  t.same(statusesFromOneIp, [...Array(10).fill(202), 429, 429], 'one IP asking for many addresses is stopped at 10 per hour');

  api.clock.advance(3600_000);
  t.equal((await api.request('POST', '/v1/password-reset', { body: { email: victim }, headers: { 'x-forwarded-for': '198.51.100.99' } })).status, 202, 'a new window');
});

t.test('sign-in guessing: POST /v1/sessions is limited per email and per IP before any password is checked', async (t) => {
  const api = await app(t, { signInPerEmail: 4, signInPerIp: 6 }, { config: { trustProxy: true } });
  const email = (await api.signUp()).body.user.email as string;
  const signIn = (ip: string, password: string, who = email) =>
    api.request('POST', '/v1/sessions', { body: { email: who, password }, headers: { 'x-forwarded-for': ip } });
  t.equal((await signIn('198.51.100.1', PASSWORD)).status, 201);
  for (let i = 2; i <= 4; i++) t.equal((await signIn(`198.51.100.${i}`, 'wrong password ' + i)).status, 401);
  const limited = await signIn('198.51.100.5', PASSWORD);
  assertLimited(t, limited, 4, 900, /^Too many sign-in attempts for this email address: at most 4 per 15 minutes/);
  t.pass('even the right password is refused once the address is throttled');

  for (let i = 0; i < 6; i++) t.equal((await signIn('203.0.113.9', 'wrong password', `other-${i}@example.test`)).status, 401);
  assertLimited(t, await signIn('203.0.113.9', 'wrong password', 'other-7@example.test'), 6, 900, /^Too many sign-in attempts from this address/);
  api.clock.advance(15 * 60_000);
  t.equal((await signIn('203.0.113.9', PASSWORD)).status, 201, 'both windows are over');
});

t.test('sign-up flood: per IP and per email, counted before the password is hashed; resends share the limits', async (t) => {
  const api = await app(t, { signUpPerIp: DEFAULT_RATE_LIMITS.signUpPerIp, signUpPerEmail: DEFAULT_RATE_LIMITS.signUpPerEmail }, { config: { trustProxy: true } });
  const signUp = (email: string, ip: string) =>
    api.request('POST', '/v1/accounts', { body: { name: 'Flood', email, password: PASSWORD, region: 'us-east-1' }, headers: { 'x-forwarded-for': ip } });
  const one = [];
  for (let i = 0; i < 3; i++) one.push((await signUp('target@example.test', `198.51.100.${i + 1}`)).status);
  one.push((await api.request('POST', '/v1/accounts/activation/resend', { body: { email: 'target@example.test' }, headers: { 'x-forwarded-for': '198.51.100.9' } })).status);
  t.same(one, [202, 202, 202, 429], 'three sign-ups or resends per address per hour');
  t.equal(api.sentMail.filter((m) => m.to === 'target@example.test').length, 3);

  const many: number[] = [];
  const accepted: number[] = [];
  for (let i = 0; i < 12; i++) {
    const started = performance.now();
    const res = await signUp(`flood-${i}@example.test`, '203.0.113.77');
    if (res.status === 202) accepted.push(performance.now() - started);
    many.push(res.status);
  }
  t.same(many, [...Array(10).fill(202), 429, 429], 'ten sign-ups per IP per hour');
  const started = performance.now();
  const limited = await signUp('flood-x@example.test', '203.0.113.77');
  const refusedIn = performance.now() - started;
  assertLimited(t, limited, 10, 3600, /^Too many sign-ups from this address: at most 10 per 60 minutes/);
  const typical = accepted.sort((a, b) => a - b)[5]!;
  t.ok(refusedIn < typical / 2, `refused in ${refusedIn.toFixed(1)} ms, without the password hash of an accepted one (${typical.toFixed(1)} ms)`);
  t.equal((await api.database.sql`select count(*)::int as n from pending_signups where email like 'flood-%'`)[0]!.n, 10);
});

t.test('the limits are configured by COFFER_RATE_LIMIT_* variables', async (t) => {
  t.same(loadConfig({}).rateLimits, DEFAULT_RATE_LIMITS);
  t.same(DEFAULT_RATE_LIMITS, {
    authFailuresPerIp: 30, signInPerIp: 60, signInPerEmail: 10, signUpPerIp: 10, signUpPerEmail: 3, passwordResetPerIp: 10, passwordResetPerEmail: 3,
  });
  const env = {
    COFFER_RATE_LIMIT_AUTH_FAILURES_PER_IP: '5', COFFER_RATE_LIMIT_SIGN_IN_PER_IP: '6', COFFER_RATE_LIMIT_SIGN_IN_PER_EMAIL: '7',
    COFFER_RATE_LIMIT_SIGN_UP_PER_IP: '8', COFFER_RATE_LIMIT_SIGN_UP_PER_EMAIL: '9', COFFER_RATE_LIMIT_PASSWORD_RESET_PER_IP: '10',
    COFFER_RATE_LIMIT_PASSWORD_RESET_PER_EMAIL: '11',
  };
  t.same(loadConfig(env).rateLimits, {
    authFailuresPerIp: 5, signInPerIp: 6, signInPerEmail: 7, signUpPerIp: 8, signUpPerEmail: 9, passwordResetPerIp: 10, passwordResetPerEmail: 11,
  });
  t.throws(() => loadConfig({ COFFER_RATE_LIMIT_SIGN_UP_PER_EMAIL: '0' }), new ConfigError('COFFER_RATE_LIMIT_SIGN_UP_PER_EMAIL', 'must be between 1 and 1000000, got 0'));
  t.throws(() => loadConfig({ COFFER_RATE_LIMIT_AUTH_FAILURES_PER_IP: 'many' }), new ConfigError('COFFER_RATE_LIMIT_AUTH_FAILURES_PER_IP', 'must be a whole number, got "many"'));
});
