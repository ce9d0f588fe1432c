// The credential cache (api/credential-cache.ts) across two API processes on one database: what
// an administrator changes on one replica (deactivation, permissions, IP restrictions) applies to
// requests on the other at once, although that replica had cached the credential.
import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { startPeer, untilRefused } from '../helpers/peer.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { inviteAndConfirm, sessionFor } from '../helpers/security.ts';

t.test('attack: a deactivated user keeps using their key on the replica that cached it', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url } });
  const b = await startPeer(t, api);
  const admin = await api.signUp();
  const user = await inviteAndConfirm(api, smtp, admin.key, { permissions: ['backups:read'] });
  const session = await sessionFor(api, user.email);
  t.equal((await b.request('GET', '/v1/tags', { key: session })).status, 200, 'B has cached the session');

  t.equal((await api.request('POST', `/v1/users/${user.id}/deactivate`, { key: admin.key })).status, 200, 'deactivated on A');
  const refused = await untilRefused(() => b.request('GET', '/v1/tags', { key: session }));
  t.equal(refused.status, 401);
  t.equal(refused.body.code, 'session_revoked');
});

t.test('attack: a permission taken away on replica A is still granted by replica B', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url } });
  const b = await startPeer(t, api);
  const admin = await api.signUp();
  const user = await inviteAndConfirm(api, smtp, admin.key, { permissions: ['backups:read', 'activity:read'] });
  const session = await sessionFor(api, user.email);
  t.equal((await b.request('GET', '/v1/tags', { key: session })).status, 200, 'B has cached the session with backups:read');

  const changed = await api.request('PATCH', `/v1/users/${user.id}`, { key: admin.key, body: { permissions: ['activity:read'] } });
  t.equal(changed.status, 200, changed.text);
  const refused = await untilRefused(() => b.request('GET', '/v1/tags', { key: session }));
  t.equal(refused.status, 403);
  t.equal(refused.body.code, 'permission_denied');
});

t.test('attack: IP restrictions switched on at replica A are not enforced by replica B', async (t) => {
  const api = await startTestApp(t, { config: { trustProxy: true } });
  const b = await startPeer(t, api);
  const admin = await api.signUp();
  const elsewhere = { 'x-forwarded-for': '203.0.113.9' };
  t.equal((await b.request('GET', '/v1/me', { key: admin.key, headers: elsewhere })).status, 200, 'B has cached the key, unrestricted');

  const entry = await api.request('POST', '/v1/ip-allowlist/entries', { key: admin.key, body: { addresses: ['127.0.0.1'] } });
  t.equal(entry.status, 201, entry.text);
  const current = await api.request('GET', '/v1/ip-allowlist', { key: admin.key });
  const enabled = await api.request('PATCH', '/v1/ip-allowlist', { key: admin.key, body: { enabled: true }, headers: { 'if-match': current.headers.get('etag')! } });
  t.equal(enabled.status, 200, enabled.text);

  const refused = await untilRefused(() => b.request('GET', '/v1/me', { key: admin.key, headers: elsewhere }));
  t.equal(refused.status, 403);
  t.equal(refused.body.code, 'access_denied');
  t.equal((await b.request('GET', '/v1/me', { key: admin.key })).status, 200, 'the trusted address still gets in on B');
});
