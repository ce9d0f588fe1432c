import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { inviteAndConfirm, linkToken, pathOf, PASSWORD, sessionFor, signIn } from '../helpers/security.ts';

const NEW = 'a brand new passphrase';

t.test('password reset: always 202, one-time link valid 1 hour, sessions end', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url, publicUrl: 'https://coffer.example.test' }, start: new Date('2026-05-01T09:00:00Z') });
  const admin = await api.signUp();
  const email = admin.body.user.email;
  const session = await sessionFor(api, email);

  const unknown = await api.request('POST', '/v1/password-reset', { body: { email: 'nobody@example.test' } });
  t.equal(unknown.status, 202);
  t.equal(smtp.messages.length, 0, 'no mail for an unknown address');
  const res = await api.request('POST', '/v1/password-reset', { body: { email: email.toUpperCase() } });
  t.equal(res.status, 202);
  t.same(res.body, unknown.body, 'the same answer either way');

  const mail = smtp.last(email);
  t.equal(mail.subject, 'Reset your Coffer password');
  const { link, token } = linkToken(mail);
  t.match(link, /^https:\/\/coffer\.example\.test\/v1\/password-reset\/complete\?token=cft_/);
  const inspected = await api.request('GET', pathOf(link));
  t.equal(inspected.status, 200);
  t.same(inspected.body, { email, purpose: 'reset', expires_at: '2026-05-01T10:00:00.000Z' });

  const weak = await api.request('POST', '/v1/password-reset/complete', { body: { token, password: 'short' } });
  t.equal(weak.status, 400);
  const done = await api.request('POST', '/v1/password-reset/complete', { body: { token, password: NEW, revoke_api_keys: false } });
  t.equal(done.status, 204);
  t.equal((await api.request('GET', '/v1/me', { key: session })).status, 401, 'existing sessions end');
  t.equal((await signIn(api, email, PASSWORD)).status, 401, 'the old password is gone');
  t.equal((await signIn(api, email, NEW)).status, 201);
  t.equal((await api.request('GET', '/v1/me', { key: admin.key })).status, 200, 'API keys are kept when the request says so');

  const reused = await api.request('POST', '/v1/password-reset/complete', { body: { token, password: 'yet another passphrase' } });
  t.equal(reused.status, 400);
  t.equal(reused.body.code, 'invalid_token');

  await api.request('POST', '/v1/password-reset', { body: { email } });
  const late = linkToken(smtp.last(email)).token;
  api.clock.advance(3600_000);
  const expired = await api.request('POST', '/v1/password-reset/complete', { body: { token: late, password: 'yet another passphrase' } });
  t.equal(expired.status, 410);
  t.equal(expired.body.code, 'token_expired');

  const audit = await api.request('GET', '/v1/audit?limit=100', { key: admin.key });
  const types = audit.body.data.map((e: { type: string }) => e.type);
  t.ok(types.includes('password_reset_requested') && types.includes('password_reset'));
});

t.test('attack: a password reset leaves API keys working (by default it revokes them; sessions end in any case)', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url } });
  const admin = await api.signUp();
  const victim = await inviteAndConfirm(api, smtp, admin.key, { permissions: ['backups:read', 'api_keys:manage'] });
  // Whoever knew the old password signed in and minted a key of their own.
  const intruder = await sessionFor(api, victim.email);
  const planted = await api.request('POST', '/v1/api-keys', { key: intruder, body: { name: 'innocent-looking' } });
  t.equal(planted.status, 201);

  await api.request('POST', '/v1/password-reset', { body: { email: victim.email } });
  const mail = smtp.last(victim.email);
  t.match(mail.text, /revokes every API key of yours, unless you send "revoke_api_keys": false/, 'the reset email says what completing it does');
  const { token } = linkToken(mail);
  const done = await api.request('POST', '/v1/password-reset/complete', { body: { token, password: NEW } });
  t.equal(done.status, 204);

  const key = await api.request('GET', '/v1/me', { key: planted.body.secret });
  t.equal(key.status, 401, 'the planted key is revoked');
  t.equal(key.body.code, 'api_key_revoked');
  t.equal((await api.request('GET', '/v1/me', { key: intruder })).status, 401, 'the session ended');
  t.equal((await api.request('GET', '/v1/me', { key: admin.key })).status, 200, 'other users\' keys are untouched');
  const audit = await api.request('GET', '/v1/audit?type=password_reset', { key: admin.key });
  t.equal(audit.body.data[0].description, `Password of ${victim.email} reset by emailed link; 1 API key revoked`);
  t.same(audit.body.data[0].details, { api_keys_revoked: 1 });

  // An expired password changed with its change token revokes them the same way.
  const session = await sessionFor(api, victim.email, NEW);
  const script = await api.request('POST', '/v1/api-keys', { key: session, body: { name: 'script' } });
  await api.request('PATCH', '/v1/security/policy', { key: admin.key, body: { password_expiration_days: 1 } });
  api.clock.advance(86_400_000);
  const expired = await signIn(api, victim.email, NEW);
  t.equal(expired.body.code, 'password_expired');
  t.equal((await api.request('POST', '/v1/password-reset/complete', { body: { token: expired.body.change_token, password: 'a third passphrase' } })).status, 204);
  t.equal((await api.request('GET', '/v1/me', { key: script.body.secret })).body.code, 'api_key_revoked');
});

t.test('user enumeration: a password reset for a known address takes as long as one for an unknown address', async (t) => {
  const api = await startTestApp(t);
  const admin = await api.signUp();
  const known = admin.body.user.email as string;
  const post = async (email: string) => {
    const started = performance.now();
    const res = await fetch(`${api.url}/v1/password-reset`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }) });
    await res.arrayBuffer();
    const took = performance.now() - started;
    t.equal(res.status, 202);
    await api.settled(); // the mail of one sample must not slow the next one down
    return took;
  };
  for (let i = 0; i < 5; i++) await post(i % 2 ? known : 'warm-up@example.test');
  // Back-to-back pairs in alternating order, so that the load of the machine cancels out.
  const differences: number[] = [];
  for (let i = 0; i < 40; i++) {
    const unknown = `nobody-${i}@example.test`;
    let k: number;
    let u: number;
    if (i % 2) {
      k = await post(known);
      u = await post(unknown);
    } else {
      u = await post(unknown);
      k = await post(known);
    }
    differences.push(k - u);
  }
  const median = [...differences].sort((a, b) => a - b)[differences.length / 2]!;
  t.ok(Math.abs(median) < 1.5, `median of known − unknown: ${median.toFixed(2)} ms`);
  t.equal(api.sentMail.filter((m) => m.to === known).length, 42, 'every request for the known address did send its mail');
});

t.test('change your own password: needs the current one; other sessions end, this one stays', async (t) => {
  const api = await startTestApp(t);
  const admin = await api.signUp();
  const email = admin.body.user.email;
  const here = await sessionFor(api, email);
  const elsewhere = await sessionFor(api, email);

  const wrong = await api.request('POST', '/v1/me/password', { key: here, body: { current_password: 'not my password', new_password: NEW } });
  t.equal(wrong.status, 400);
  t.same(wrong.body.errors, [{ pointer: '/body/current_password', detail: 'is not your current password' }]);
  const same = await api.request('POST', '/v1/me/password', { key: here, body: { current_password: PASSWORD, new_password: PASSWORD } });
  t.equal(same.status, 400);
  const ok = await api.request('POST', '/v1/me/password', { key: here, body: { current_password: PASSWORD, new_password: NEW } });
  t.equal(ok.status, 204);
  t.equal((await api.request('GET', '/v1/me', { key: here })).status, 200, 'the session that changed it stays');
  t.equal((await api.request('GET', '/v1/me', { key: elsewhere })).status, 401, 'other sessions end');
  t.equal((await signIn(api, email, NEW)).status, 201);
});

t.test('security policy: validation, ETag, permission; expired passwords are changed with a change token', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url }, start: new Date('2026-05-01T09:00:00Z') });
  const admin = await api.signUp();
  const user = await inviteAndConfirm(api, smtp, admin.key, { permissions: ['backups:read'] });

  const policy = await api.request('GET', '/v1/security/policy', { key: admin.key });
  t.equal(policy.status, 200);
  t.match(policy.body, { enforce_2fa: false, password_expiration_days: null });
  for (const days of [0, 366, 1.5]) {
    const bad = await api.request('PATCH', '/v1/security/policy', { key: admin.key, body: { password_expiration_days: days } });
    t.equal(bad.status, 400, `${days} days is refused`);
  }
  const stale = await api.request('PATCH', '/v1/security/policy', { key: admin.key, body: { password_expiration_days: 30 }, headers: { 'if-match': '"v9"' } });
  t.equal(stale.status, 412);
  const set = await api.request('PATCH', '/v1/security/policy', { key: admin.key, body: { password_expiration_days: 30 }, headers: { 'if-match': policy.headers.get('etag')! } });
  t.equal(set.status, 200);
  t.equal(set.body.password_expiration_days, 30);
  const userSession = await sessionFor(api, user.email);
  t.equal((await api.request('GET', '/v1/security/policy', { key: userSession })).status, 403);

  api.clock.advance(30 * 86_400_000);
  const expired = await signIn(api, user.email);
  t.equal(expired.status, 403);
  t.equal(expired.body.code, 'password_expired');
  t.match(expired.body.change_token, /^cft_/);
  t.equal(expired.body.change_token_expires_at, new Date(api.clock.now().getTime() + 15 * 60_000).toISOString());

  const changed = await api.request('POST', '/v1/password-reset/complete', { body: { token: expired.body.change_token, password: NEW } });
  t.equal(changed.status, 204);
  t.equal((await signIn(api, user.email, NEW)).status, 201, 'a fresh password signs in');
  t.equal((await signIn(api, user.email, PASSWORD)).status, 401);

  api.clock.advance(29 * 86_400_000);
  t.equal((await signIn(api, user.email, NEW)).status, 201, 'not expired before its time');
  const off = await api.request('PATCH', '/v1/security/policy', { key: admin.key, body: { password_expiration_days: null } });
  t.equal(off.body.password_expiration_days, null);
  api.clock.advance(400 * 86_400_000);
  t.equal((await signIn(api, user.email, NEW)).status, 201, 'no expiry when the policy is off');

  const settings = await api.request('GET', '/v1/audit?type=settings_changed', { key: admin.key });
  t.same(settings.body.data.map((e: { description: string }) => e.description), [
    'Security policy: passwords no longer expire',
    'Security policy: passwords expire after 30 days',
  ]);
});
