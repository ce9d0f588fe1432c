import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { inviteAndConfirm, linkToken, pathOf, PASSWORD, sessionFor, signIn, uniqueEmail } from '../helpers/security.ts';

t.test('invite → confirmation email → follow the link → set a password → active → sign in', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url, publicUrl: 'https://coffer.example.test', mailFrom: 'Coffer <robot@coffer.example.test>' } });
  const admin = await api.signUp();
  const email = uniqueEmail('Kristen');

  const invited = await api.request('POST', '/v1/users', {
    key: admin.key,
    body: { email, name: 'Kristen Hall', role: 'custom', permissions: ['backups:read', 'recovery:restore'], services: ['dropbox'] },
  });
  t.equal(invited.status, 201);
  t.equal(invited.headers.get('location'), `/v1/users/${invited.body.id}`);
  t.match(invited.body, {
    email: email.toLowerCase(), name: 'Kristen Hall', role: 'custom', state: 'invited',
    permissions: ['backups:read', 'recovery:restore'], services: ['dropbox'], two_factor_enabled: false, email_confirmed_at: null,
  });

  const mail = smtp.last(email);
  t.equal(mail.subject, 'Confirm your Coffer account');
  t.match(mail.headers.from, /robot@coffer\.example\.test/);
  t.match(mail.text, /valid for 24 hours/);
  t.match(mail.text, new RegExp(`${admin.body.user.email.replace(/[.+]/g, '\\$&')} added you`));
  const { link, token } = linkToken(mail);
  t.match(link, /^https:\/\/coffer\.example\.test\/v1\/users\/confirm\?token=cft_/);

  const inspected = await api.request('GET', pathOf(link));
  t.equal(inspected.status, 200);
  t.equal(inspected.body.email, email.toLowerCase());
  t.equal(inspected.body.purpose, 'confirm');

  const noPassword = await signIn(api, email, PASSWORD);
  t.equal(noPassword.status, 401, 'an invited user cannot sign in yet');

  const short = await api.request('POST', '/v1/users/confirm', { body: { token, password: 'short' } });
  t.equal(short.status, 400);
  const confirmed = await api.request('POST', '/v1/users/confirm', { body: { token, password: PASSWORD } });
  t.equal(confirmed.status, 200);
  t.equal(confirmed.body.state, 'active');
  t.type(confirmed.body.email_confirmed_at, 'string');

  const again = await api.request('POST', '/v1/users/confirm', { body: { token, password: PASSWORD } });
  t.equal(again.status, 400, 'the link works once');
  t.equal(again.body.code, 'invalid_token');

  const session = await sessionFor(api, email);
  const me = await api.request('GET', '/v1/me', { key: session });
  t.equal(me.body.user.id, invited.body.id);
  t.same(me.body.credential.permissions, ['backups:read', 'recovery:restore']);
  t.equal(me.body.credential.kind, 'session');
  const denied = await api.request('GET', '/v1/users', { key: session });
  t.equal(denied.status, 403);
  t.equal(denied.body.code, 'permission_denied');

  const audit = await api.request('GET', '/v1/audit?limit=100', { key: admin.key });
  const types = audit.body.data.map((e: { type: string }) => e.type);
  t.ok(types.includes('user_invited') && types.includes('user_confirmed') && types.includes('sign_in'));
});

t.test('confirmation links expire after 24 hours; resending issues a new one and retires the old', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url }, start: new Date('2026-03-01T08:00:00Z') });
  const admin = await api.signUp();
  const email = uniqueEmail();
  const invited = await api.request('POST', '/v1/users', { key: admin.key, body: { email, role: 'custom', permissions: [] } });
  const first = linkToken(smtp.last(email)).token;

  api.clock.advance(24 * 3600_000);
  const expired = await api.request('POST', '/v1/users/confirm', { body: { token: first, password: PASSWORD } });
  t.equal(expired.status, 410);
  t.equal(expired.body.code, 'token_expired');
  t.equal((await api.request('GET', `/v1/users/confirm?token=${first}`)).status, 410);

  const resent = await api.request('POST', `/v1/users/${invited.body.id}/resend-confirmation`, { key: admin.key });
  t.equal(resent.status, 202);
  t.equal(smtp.to(email).length, 2, 'a second email');
  const second = linkToken(smtp.last(email)).token;
  t.not(second, first);
  const old = await api.request('POST', '/v1/users/confirm', { body: { token: first, password: PASSWORD } });
  t.equal(old.status, 400, 'the old link is retired');
  const ok = await api.request('POST', '/v1/users/confirm', { body: { token: second, password: PASSWORD } });
  t.equal(ok.status, 200);

  const notInvited = await api.request('POST', `/v1/users/${invited.body.id}/resend-confirmation`, { key: admin.key });
  t.equal(notInvited.status, 409);
  t.equal(notInvited.body.code, 'not_invited');
  const garbage = await api.request('POST', '/v1/users/confirm', { body: { token: 'cft_' + 'x'.repeat(32), password: PASSWORD } });
  t.equal(garbage.status, 400);
  t.equal(garbage.body.code, 'invalid_token');
});

t.test('list, get, update with ETag, duplicate emails, grants limited to what the caller holds', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url } });
  const admin = await api.signUp();
  const manager = await inviteAndConfirm(api, smtp, admin.key, { permissions: ['users:manage', 'backups:read'] });
  const managerSession = await sessionFor(api, manager.email);

  const list = await api.request('GET', '/v1/users', { key: admin.key });
  t.equal(list.status, 200);
  t.same(list.body.data.map((u: { id: string }) => u.id), [manager.id, admin.userId]);
  const onlyAdmins = await api.request('GET', '/v1/users?role=administrator', { key: admin.key });
  t.same(onlyAdmins.body.data.map((u: { id: string }) => u.id), [admin.userId]);

  const got = await api.request('GET', `/v1/users/${manager.id}`, { key: admin.key });
  t.equal(got.headers.get('etag'), '"v2"', 'confirming bumped the version');
  const stale = await api.request('PATCH', `/v1/users/${manager.id}`, { key: admin.key, body: { permissions: ['users:manage'] }, headers: { 'if-match': '"v1"' } });
  t.equal(stale.status, 412);
  const updated = await api.request('PATCH', `/v1/users/${manager.id}`, {
    key: admin.key, body: { permissions: ['users:manage', 'backups:read', 'activity:read'] }, headers: { 'if-match': got.headers.get('etag')! },
  });
  t.equal(updated.status, 200);
  t.same(updated.body.permissions, ['activity:read', 'backups:read', 'users:manage'], 'in the canonical order');
  t.equal(updated.headers.get('etag'), '"v3"');
  const me = await api.request('GET', '/v1/me', { key: managerSession });
  t.ok(me.body.credential.permissions.includes('activity:read'), 'a permission change applies to live sessions at once');

  const dup = await api.request('POST', '/v1/users', { key: admin.key, body: { email: manager.email.toUpperCase(), role: 'custom' } });
  t.equal(dup.status, 409);
  t.equal(dup.body.code, 'email_taken');

  const escalate = await api.request('POST', '/v1/users', { key: managerSession, body: { email: uniqueEmail(), role: 'custom', permissions: ['billing:manage'] } });
  t.equal(escalate.status, 403);
  t.equal(escalate.body.code, 'cannot_grant');
  const makeAdmin = await api.request('PATCH', `/v1/users/${manager.id}`, { key: managerSession, body: { role: 'administrator' } });
  t.equal(makeAdmin.status, 403);
  t.equal(makeAdmin.body.code, 'cannot_grant');
  const badPermission = await api.request('POST', '/v1/users', { key: admin.key, body: { email: uniqueEmail(), role: 'custom', permissions: ['everything'] } });
  t.equal(badPermission.status, 400);
  const badService = await api.request('POST', '/v1/users', { key: admin.key, body: { email: uniqueEmail(), role: 'custom', services: ['gmail'] } });
  t.equal(badService.status, 400);

  const audit = await api.request('GET', '/v1/audit?type=permissions_changed', { key: admin.key });
  t.equal(audit.body.data.length, 1);
  t.match(audit.body.data[0].description, /backups:read, users:manage\] → custom \[activity:read, backups:read, users:manage\]/);
});
