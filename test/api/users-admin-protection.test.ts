// `users:manage` manages users no more privileged than its holder: it cannot reach an
// administrator (role, deactivation, removal, their API keys), cannot touch a user holding
// permissions it lacks, and cannot hand out what it does not hold.
import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { inviteAndConfirm, sessionFor, uniqueEmail } from '../helpers/security.ts';
import { ALL_PERMISSIONS } from '../../api/permissions.ts';

t.test('a users:manage user cannot demote, deactivate or remove an administrator, nor revoke their keys', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url } });
  const admin = await api.signUp();
  // api_keys:manage too, so that what refuses the key operations below is the administrator guard.
  const manager = await inviteAndConfirm(api, smtp, admin.key, { permissions: ['users:manage', 'api_keys:manage'] });
  const session = await sessionFor(api, manager.email);
  const refused = (res: { status: number; body: any }, code: string, label: string) => {
    t.equal(res.status, 403, label);
    t.equal(res.body.code, code, label);
  };

  refused(await api.request('PATCH', `/v1/users/${admin.userId}`, { key: session, body: { role: 'custom', permissions: [] } }), 'administrator_required', 'demote');
  refused(await api.request('PATCH', `/v1/users/${admin.userId}`, { key: session, body: { name: 'Renamed' } }), 'administrator_required', 'rename');
  refused(await api.request('POST', `/v1/users/${admin.userId}/deactivate`, { key: session }), 'administrator_required', 'deactivate');
  refused(await api.request('DELETE', `/v1/users/${admin.userId}`, { key: session }), 'administrator_required', 'remove');
  refused(await api.request('DELETE', `/v1/api-keys/${admin.keyId}`, { key: session }), 'administrator_required', 'revoke their key');
  refused(await api.request('PATCH', `/v1/api-keys/${admin.keyId}`, { key: session, body: { name: 'mine now' } }), 'administrator_required', 'rename their key');

  const still = await api.request('GET', `/v1/users/${admin.userId}`, { key: session });
  t.match(still.body, { role: 'administrator', state: 'active', name: null }, 'the administrator is untouched');
  t.equal((await api.request('GET', '/v1/me', { key: admin.key })).status, 200, 'their key still works');
  const key = await api.request('GET', `/v1/api-keys/${admin.keyId}`, { key: session });
  t.match(key.body, { name: admin.body.api_key.name, state: 'active' }, 'seeing the key is still allowed');

  // A custom user holding every permission is still not an administrator.
  const almost = await inviteAndConfirm(api, smtp, admin.key, { permissions: [...ALL_PERMISSIONS] });
  const almostSession = await sessionFor(api, almost.email);
  refused(await api.request('POST', `/v1/users/${admin.userId}/deactivate`, { key: almostSession }), 'administrator_required', 'deactivate, with every permission');
  refused(await api.request('PATCH', `/v1/users/${almost.id}`, { key: almostSession, body: { role: 'administrator' } }), 'cannot_grant', 'promote oneself');
  refused(await api.request('POST', '/v1/users', { key: almostSession, body: { email: uniqueEmail(), role: 'administrator' } }), 'cannot_grant', 'invite an administrator');

  // An administrator may do all of it (to another administrator).
  const second = await inviteAndConfirm(api, smtp, admin.key, { role: 'administrator' });
  const demoted = await api.request('PATCH', `/v1/users/${second.id}`, { key: admin.key, body: { role: 'custom', permissions: ['users:manage'] } });
  t.equal(demoted.status, 200, demoted.text);
  t.equal(demoted.body.role, 'custom');
});

t.test('a users:manage user cannot manage a user holding permissions they lack', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url } });
  const admin = await api.signUp();
  const manager = await inviteAndConfirm(api, smtp, admin.key, { permissions: ['users:manage', 'backups:read'] });
  const session = await sessionFor(api, manager.email);
  const billing = await inviteAndConfirm(api, smtp, admin.key, { permissions: ['billing:manage'] });
  const reader = await inviteAndConfirm(api, smtp, admin.key, { permissions: ['backups:read'] });

  for (const [method, path, body] of [
    ['PATCH', `/v1/users/${billing.id}`, { permissions: [] }],
    ['POST', `/v1/users/${billing.id}/deactivate`, undefined],
    ['DELETE', `/v1/users/${billing.id}`, undefined],
  ] as const) {
    const res = await api.request(method, path, { key: session, body });
    t.equal(res.status, 403, `${method} ${path}`);
    t.equal(res.body.code, 'cannot_manage', `${method} ${path}`);
  }
  t.same((await api.request('GET', `/v1/users/${billing.id}`, { key: session })).body.permissions, ['billing:manage']);

  const grant = await api.request('PATCH', `/v1/users/${reader.id}`, { key: session, body: { permissions: ['backups:read', 'security:manage'] } });
  t.equal(grant.status, 403);
  t.equal(grant.body.code, 'cannot_grant');
  const self = await api.request('PATCH', `/v1/users/${manager.id}`, { key: session, body: { permissions: ['users:manage', 'backups:read', 'billing:manage'] } });
  t.equal(self.body.code, 'cannot_grant', 'nor to oneself');

  // Users within the manager's own permissions remain manageable.
  const changed = await api.request('PATCH', `/v1/users/${reader.id}`, { key: session, body: { permissions: [] } });
  t.equal(changed.status, 200, changed.text);
  t.equal((await api.request('POST', `/v1/users/${reader.id}/deactivate`, { key: session })).body.state, 'deactivated');
});
