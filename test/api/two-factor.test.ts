import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { inviteAndConfirm, sessionFor, signIn, totpCode } from '../helpers/security.ts';

t.test('set up, confirm, sign in with a code; codes cannot be replayed', async (t) => {
  const api = await startTestApp(t, { start: new Date('2026-06-01T12:00:00Z') });
  const admin = await api.signUp();
  const email = admin.body.user.email;

  t.same((await api.request('GET', '/v1/me/2fa', { key: admin.key })).body, { state: 'none', enabled_at: null, enforced: false });
  const setup = await api.request('POST', '/v1/me/2fa', { key: admin.key });
  t.equal(setup.status, 201);
  t.equal(setup.body.state, 'pending');
  t.match(setup.body.secret, /^[A-Z2-7]{32}$/);
  t.equal(setup.body.otpauth_uri, `otpauth://totp/Coffer:${encodeURIComponent(email)}?issuer=Coffer&secret=${setup.body.secret}&algorithm=SHA1&digits=6&period=30`);
  t.match(setup.body.qr_code, /^data:image\/png;base64,[A-Za-z0-9+/=]{200,}$/);
  const png = Buffer.from(setup.body.qr_code.split(',')[1], 'base64');
  t.same([...png.subarray(1, 4)], [...Buffer.from('PNG')], 'a PNG image');

  const [stored] = await api.database.sql`select totp_secret from user_security where user_id = ${admin.userId}`;
  t.notMatch(stored!.totp_secret, new RegExp(setup.body.secret), 'the secret is sealed at rest');
  t.equal(api.deps.keyring.openSecret(stored!.totp_secret, `totp:${admin.userId}`), setup.body.secret);

  t.equal((await signIn(api, email)).status, 201, 'a pending setup does not change sign-in');

  const secret = setup.body.secret;
  const wrong = await api.request('POST', '/v1/me/2fa/confirm', { key: admin.key, body: { code: totpCode(secret, new Date(api.clock.now().getTime() + 5 * 60_000)) } });
  t.equal(wrong.status, 400);
  t.equal(wrong.body.code, 'invalid_totp_code');
  const malformed = await api.request('POST', '/v1/me/2fa/confirm', { key: admin.key, body: { code: '12345' } });
  t.equal(malformed.status, 400);

  const code = totpCode(secret, api.clock.now());
  const confirmed = await api.request('POST', '/v1/me/2fa/confirm', { key: admin.key, body: { code } });
  t.equal(confirmed.status, 200);
  t.same(confirmed.body, { state: 'enabled', enabled_at: '2026-06-01T12:00:00.000Z', enforced: false });
  t.equal((await api.request('POST', '/v1/me/2fa', { key: admin.key })).body.code, 'two_factor_already_enabled');

  const noCode = await signIn(api, email);
  t.equal(noCode.status, 401);
  t.equal(noCode.body.code, 'totp_required');
  const replayed = await signIn(api, email, undefined, { totp_code: code });
  t.equal(replayed.status, 401);
  t.equal(replayed.body.code, 'totp_code_reused', 'the code used to confirm cannot sign in');
  const bad = await signIn(api, email, undefined, { totp_code: totpCode(secret, new Date(api.clock.now().getTime() - 10 * 60_000)) });
  t.equal(bad.body.code, 'invalid_totp_code');

  api.clock.advance(30_000);
  const next = totpCode(secret, api.clock.now());
  const ok = await signIn(api, email, undefined, { totp_code: next });
  t.equal(ok.status, 201);
  t.equal(ok.body.user.two_factor_enabled, true);
  const again = await signIn(api, email, undefined, { totp_code: next });
  t.equal(again.body.code, 'totp_code_reused', 'a code works once');

  // One step of clock drift either way is accepted, but never a step older than the last used.
  api.clock.advance(30_000);
  const previousStep = totpCode(secret, new Date(api.clock.now().getTime() - 30_000));
  t.equal(previousStep, next);
  t.equal((await signIn(api, email, undefined, { totp_code: previousStep })).body.code, 'totp_code_reused');
  const ahead = totpCode(secret, new Date(api.clock.now().getTime() + 30_000));
  t.equal((await signIn(api, email, undefined, { totp_code: ahead })).status, 201, 'the next step is accepted (drift)');

  // Disable: needs a fresh code.
  api.clock.advance(60_000);
  const wrongDisable = await api.request('DELETE', '/v1/me/2fa', { key: admin.key, body: { code: ahead } });
  t.equal(wrongDisable.status, 400);
  t.equal(wrongDisable.body.code, 'totp_code_reused');
  api.clock.advance(30_000);
  const disabled = await api.request('DELETE', '/v1/me/2fa', { key: admin.key, body: { code: totpCode(secret, api.clock.now()) } });
  t.equal(disabled.status, 200);
  t.equal(disabled.body.state, 'none');
  t.equal((await signIn(api, email)).status, 201, 'no code needed any more');
  t.equal((await api.request('DELETE', '/v1/me/2fa', { key: admin.key, body: { code: '123456' } })).body.code, 'two_factor_not_enabled');

  const audit = await api.request('GET', '/v1/audit?limit=100', { key: admin.key });
  const types = audit.body.data.map((e: { type: string }) => e.type);
  t.ok(types.includes('2fa_enabled') && types.includes('2fa_disabled'));
});

t.test('an account that enforces 2FA refuses sessions without it, and 2FA cannot be turned off', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url } });
  const admin = await api.signUp();
  const user = await inviteAndConfirm(api, smtp, admin.key, { permissions: ['backups:read'] });
  const userSession = await sessionFor(api, user.email);

  const enforce = await api.request('PATCH', '/v1/security/policy', { key: admin.key, body: { enforce_2fa: true } });
  t.equal(enforce.status, 200);
  t.equal(enforce.body.enforce_2fa, true);

  const refused = await signIn(api, user.email);
  t.equal(refused.status, 403);
  t.equal(refused.body.code, 'two_factor_setup_required');

  // The user sets 2FA up with a credential they still hold, then signs in with it.
  const setup = await api.request('POST', '/v1/me/2fa', { key: userSession });
  t.equal(setup.status, 201);
  t.equal((await api.request('GET', '/v1/me/2fa', { key: userSession })).body.enforced, true);
  await api.request('POST', '/v1/me/2fa/confirm', { key: userSession, body: { code: totpCode(setup.body.secret, api.clock.now()) } });
  api.clock.advance(30_000);
  const ok = await signIn(api, user.email, undefined, { totp_code: totpCode(setup.body.secret, api.clock.now()) });
  t.equal(ok.status, 201);

  api.clock.advance(30_000);
  const off = await api.request('DELETE', '/v1/me/2fa', { key: userSession, body: { code: totpCode(setup.body.secret, api.clock.now()) } });
  t.equal(off.status, 409);
  t.equal(off.body.code, 'two_factor_enforced');

  const list = await api.request('GET', `/v1/users/${user.id}`, { key: admin.key });
  t.equal(list.body.two_factor_enabled, true, 'User Management shows who has 2FA');
});
