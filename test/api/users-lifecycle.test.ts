// User lifecycle: the last administrator, deactivation (keys and sessions stop), reactivation,
// removal, and tenant isolation; invitations and updates are in users.test.ts.
import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { inviteAndConfirm, sessionFor, signIn } from '../helpers/security.ts';

t.test('the last active administrator can be neither demoted, deactivated nor removed', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url } });
  const admin = await api.signUp();

  for (const [method, path, body] of [
    ['PATCH', `/v1/users/${admin.userId}`, { role: 'custom' }],
    ['POST', `/v1/users/${admin.userId}/deactivate`, undefined],
    ['DELETE', `/v1/users/${admin.userId}`, undefined],
  ] as const) {
    const res = await api.request(method, path, { key: admin.key, body });
    t.equal(res.status, 409, `${method} ${path}`);
    t.equal(res.body.code, 'last_administrator');
  }

  const second = await inviteAndConfirm(api, smtp, admin.key, { role: 'administrator' });
  const demoted = await api.request('PATCH', `/v1/users/${admin.userId}`, { key: admin.key, body: { role: 'custom', permissions: ['users:manage'] } });
  t.equal(demoted.status, 200, 'with a second administrator the first can step down');
  t.same(demoted.body.permissions, ['users:manage']);
  const secondSession = await sessionFor(api, second.email);
  const lastOne = await api.request('POST', `/v1/users/${second.id}/deactivate`, { key: secondSession });
  t.equal(lastOne.status, 409);
  t.equal(lastOne.body.code, 'last_administrator');
});

t.test('attack: a reactivated user gets their old keys back (deactivation revokes keys and sessions for good); delete removes', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url } });
  const admin = await api.signUp();
  const user = await inviteAndConfirm(api, smtp, admin.key, { permissions: ['backups:read', 'api_keys:manage'] });
  const session = await sessionFor(api, user.email);
  const key = await api.request('POST', '/v1/api-keys', { key: session, body: { name: 'script' } });
  t.equal(key.status, 201);
  t.equal((await api.request('GET', '/v1/me', { key: key.body.secret })).status, 200);

  const deactivated = await api.request('POST', `/v1/users/${user.id}/deactivate`, { key: admin.key });
  t.equal(deactivated.status, 200);
  t.equal(deactivated.body.state, 'deactivated');
  const keyRejected = await api.request('GET', '/v1/me', { key: key.body.secret });
  t.equal(keyRejected.status, 401);
  t.equal(keyRejected.body.code, 'api_key_revoked');
  const revokedKey = await api.request('GET', `/v1/api-keys/${key.body.id}`, { key: admin.key });
  t.equal(revokedKey.body.state, 'revoked', 'the key is revoked, not merely refused');
  t.equal((await api.request('GET', `/v1/api-keys/${admin.keyId}`, { key: admin.key })).body.state, 'active', 'other users\' keys are untouched');
  const sessionRejected = await api.request('GET', '/v1/me', { key: session });
  t.equal(sessionRejected.status, 401);
  t.equal((await signIn(api, user.email)).status, 401, 'a deactivated user cannot sign in');
  t.equal((await signIn(api, user.email)).body.code, 'invalid_credentials', 'with the generic answer');

  const reactivated = await api.request('POST', `/v1/users/${user.id}/reactivate`, { key: admin.key });
  t.equal(reactivated.body.state, 'active');
  const oldKey = await api.request('GET', '/v1/me', { key: key.body.secret });
  t.equal(oldKey.status, 401, 'the old key stays revoked');
  t.equal(oldKey.body.code, 'api_key_revoked');
  t.equal((await api.request('GET', '/v1/me', { key: session })).status, 401, 'the old session stays revoked');
  const fresh = await sessionFor(api, user.email);
  const newKey = await api.request('POST', '/v1/api-keys', { key: fresh, body: { name: 'script' } });
  t.equal(newKey.status, 201, 'the user signs in again and makes new keys');
  const auditDeactivated = await api.request('GET', '/v1/audit?type=user_deactivated', { key: admin.key });
  t.same(auditDeactivated.body.data[0].details, { user_id: user.id, api_keys_revoked: 1 });

  const removed = await api.request('DELETE', `/v1/users/${user.id}`, { key: admin.key });
  t.equal(removed.status, 204);
  t.equal((await api.request('GET', `/v1/users/${user.id}`, { key: admin.key })).status, 404);
  t.equal((await api.request('GET', '/v1/me', { key: newKey.body.secret })).status, 401, 'its keys are gone');

  const audit = await api.request('GET', '/v1/audit?limit=100', { key: admin.key });
  const types = audit.body.data.map((e: { type: string }) => e.type);
  for (const type of ['user_deactivated', 'user_reactivated', 'user_deleted', 'api_key_created', 'sign_in_failed']) t.ok(types.includes(type), type);
});

t.test('users of another account are 404 for every operation', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url } });
  const a = await api.signUp();
  const b = await api.signUp();
  const aUser = await inviteAndConfirm(api, smtp, a.key);
  for (const id of [a.userId, aUser.id]) {
    for (const [method, path, body] of [
      ['GET', `/v1/users/${id}`, undefined],
      ['PATCH', `/v1/users/${id}`, { name: 'pwned' }],
      ['POST', `/v1/users/${id}/deactivate`, undefined],
      ['POST', `/v1/users/${id}/reactivate`, undefined],
      ['POST', `/v1/users/${id}/resend-confirmation`, undefined],
      ['DELETE', `/v1/users/${id}`, undefined],
    ] as const) {
      const res = await api.request(method, path, { key: b.key, body });
      t.equal(res.status, 404, `${method} ${path}`);
    }
  }
  const list = await api.request('GET', '/v1/users', { key: b.key });
  t.same(list.body.data.map((u: { id: string }) => u.id), [b.userId]);
  t.equal((await api.request('GET', '/v1/me', { key: a.key })).status, 200);
});
