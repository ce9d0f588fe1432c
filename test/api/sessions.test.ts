import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { inviteAndConfirm, PASSWORD, signIn } from '../helpers/security.ts';

const UA = 'Mozilla/5.0 Chrome/120.0 Safari/537.36';

t.test('sign in, use the token like an API key, sign out', async (t) => {
  const api = await startTestApp(t, { start: new Date('2026-04-01T10:00:00Z') });
  const admin = await api.signUp({ email: 'Bob.Smith@Example.test' });
  const res = await signIn(api, 'bob.smith@example.test');
  t.equal(res.status, 201);
  t.match(res.body.token, /^cfs_[0-9A-Za-z]{32}$/);
  t.equal(res.body.expires_at, '2026-04-01T22:00:00.000Z', 'valid 12 hours');
  t.equal(res.body.user.id, admin.userId);
  t.equal(res.body.user.role, 'administrator');

  const me = await api.request('GET', '/v1/me', { key: res.body.token });
  t.equal(me.status, 200);
  t.same(me.body.credential, { id: res.body.id, kind: 'session', permissions: admin.body.user.permissions });
  t.equal((await api.request('GET', '/v1/account', { key: res.body.token })).status, 200);

  const stored = await api.database.sql`select secret_hash, ip, user_agent from sessions where id = ${res.body.id}`;
  t.equal(stored[0]!.ip, '127.0.0.1');
  t.equal(stored[0]!.user_agent, UA);
  t.notMatch(stored[0]!.secret_hash.toString('latin1'), /cfs_/, 'only a hash is stored');

  const withKey = await api.request('DELETE', '/v1/sessions/current', { key: admin.key });
  t.equal(withKey.status, 400);
  t.equal(withKey.body.code, 'not_a_session');
  const out = await api.request('DELETE', '/v1/sessions/current', { key: res.body.token });
  t.equal(out.status, 204);
  const after = await api.request('GET', '/v1/me', { key: res.body.token });
  t.equal(after.status, 401);
  t.equal(after.body.code, 'session_revoked');

  const second = await signIn(api, 'BOB.SMITH@example.test');
  t.equal(second.status, 201, 'emails are case-insensitive');
  api.clock.advance(12 * 3600_000);
  const expired = await api.request('GET', '/v1/me', { key: second.body.token });
  t.equal(expired.status, 401);
  t.equal(expired.body.code, 'session_expired');
  const unknown = await api.request('GET', '/v1/me', { key: 'cfs_' + 'A'.repeat(32) });
  t.equal(unknown.status, 401);
  t.equal(unknown.body.code, 'invalid_credentials');
});

t.test('failures are generic: unknown email, wrong password, invited user look the same', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url } });
  const admin = await api.signUp();
  const invitedEmail = 'pending@example.test';
  await api.request('POST', '/v1/users', { key: admin.key, body: { email: invitedEmail, role: 'custom' } });
  const answers = [
    await signIn(api, 'nobody@example.test'),
    await signIn(api, admin.body.user.email, 'wrong password!!'),
    await signIn(api, invitedEmail, PASSWORD),
  ];
  for (const a of answers) {
    t.equal(a.status, 401);
    t.equal(a.body.code, 'invalid_credentials');
    t.equal(a.body.detail, 'The email, password or code is not correct.');
  }
  const missing = await api.request('POST', '/v1/sessions', { body: { email: 'x@example.test' } });
  t.equal(missing.status, 400);
});

t.test('a session carries its user\'s current permissions; tenant isolation holds for sessions', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url } });
  const a = await api.signUp();
  const b = await api.signUp();
  const user = await inviteAndConfirm(api, smtp, a.key, { permissions: ['account:read'] });
  const session = (await signIn(api, user.email)).body.token;
  const account = await api.request('GET', '/v1/account', { key: session });
  t.equal(account.body.id, a.accountId);
  t.equal((await api.request('GET', `/v1/users/${user.id}`, { key: b.key })).status, 404);
  t.equal((await api.request('PATCH', '/v1/account', { key: session, body: { name: 'x' } })).status, 403);
});

t.test('list your sessions and end one; other users\' sessions are 404', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url } });
  const admin = await api.signUp();
  const email = admin.body.user.email;
  const laptop = await signIn(api, email);
  const phone = await api.request('POST', '/v1/sessions', { body: { email, password: PASSWORD }, headers: { 'user-agent': 'PhoneApp/1.0' } });
  const other = await inviteAndConfirm(api, smtp, admin.key);
  const otherSession = await signIn(api, other.email);

  const list = await api.request('GET', '/v1/sessions', { key: laptop.body.token });
  t.equal(list.status, 200);
  t.same(list.body.data.map((s: { id: string }) => s.id), [phone.body.id, laptop.body.id], 'only my own, newest first');
  t.match(list.body.data[1], { current: true, state: 'active', ip: '127.0.0.1', user_agent: UA, revoked_at: null });
  t.match(list.body.data[0], { current: false, user_agent: 'PhoneApp/1.0' });
  t.notOk(JSON.stringify(list.body).includes('cfs_'), 'no tokens in the list');

  const ended = await api.request('DELETE', `/v1/sessions/${phone.body.id}`, { key: laptop.body.token });
  t.equal(ended.status, 200);
  t.equal(ended.body.state, 'revoked');
  t.equal((await api.request('GET', '/v1/me', { key: phone.body.token })).body.code, 'session_revoked');
  t.equal((await api.request('DELETE', `/v1/sessions/${phone.body.id}`, { key: laptop.body.token })).status, 200, 'ending twice is a no-op');
  const active = await api.request('GET', '/v1/sessions?state=active', { key: admin.key });
  t.same(active.body.data.map((s: { id: string }) => s.id), [laptop.body.id], 'an API key sees its user\'s sessions too');
  t.equal(active.body.data[0].current, false);

  const foreign = await api.request('DELETE', `/v1/sessions/${otherSession.body.id}`, { key: admin.key });
  t.equal(foreign.status, 404, 'another user\'s session, even in the same account');
  const b = await api.signUp();
  t.equal((await api.request('DELETE', `/v1/sessions/${laptop.body.id}`, { key: b.key })).status, 404);
  t.equal((await api.request('GET', '/v1/me', { key: otherSession.body.token })).status, 200);
});
