// Settings an attacker changes to stay unseen (who is notified, where webhooks go, their signing
// secret, an API key's name, the security policy) are audited: the event names the operation's
// declared type, the actor, the client address, and the changed fields before and after, with
// every secret masked, so the audit log never discloses one.
import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { audited, auditEvents, declaredAudit } from '../helpers/audit.ts';
import { MASK } from '../../api/resources/audit/changes.ts';

t.test('settings changes are audited with actor, address and masked before/after', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const b = await api.signUp();
  const email = a.body.user.email as string;
  const actor = { performed_by: email, performed_by_user_id: a.userId, ip: '127.0.0.1', status: 'completed' };
  const req = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => api.request(method, path, { key: a.key, body, headers });

  // Notification settings: only the changed fields, before and after.
  const settings = await audited(api, a.key, () => req('PATCH', '/v1/notifications/settings', { frequency: 'monthly', only_on_failure: true }));
  t.equal(settings.response.status, 200, settings.response.text);
  t.equal(settings.events.length, 1);
  t.ok(declaredAudit('updateNotificationSettings').includes(settings.events[0].type));
  t.match(settings.events[0], { type: 'notification_settings_changed', ...actor });
  t.same(settings.events[0].details, { before: { frequency: 'daily', only_on_failure: false }, after: { frequency: 'monthly', only_on_failure: true } });

  // A recipient added then removed: the whole recipient on one side, null on the other.
  const added = await audited(api, a.key, () => req('POST', '/v1/notifications/recipients', { email: 'spy@evil.test', display_name: 'Spy', types: ['recovery'] }));
  t.equal(added.response.status, 201, added.response.text);
  const recipientId = JSON.parse(added.response.text).id;
  t.match(added.events, [{ type: 'notification_recipient_added', ...actor, details: { recipient_id: recipientId, before: null, after: { email: 'spy@evil.test', display_name: 'Spy', types: ['recovery'] } } }]);
  const removed = await audited(api, a.key, () => req('DELETE', `/v1/notifications/recipients/${recipientId}`));
  t.equal(removed.response.status, 204);
  t.match(removed.events, [{ type: 'notification_recipient_removed', ...actor, details: { recipient_id: recipientId, before: { email: 'spy@evil.test' }, after: null } }]);

  // Webhooks: the URL's credentials and the signing secret never reach the log, but their change shows.
  const created = await audited(api, a.key, () => req('POST', '/v1/webhooks', { url: 'https://hooks.example.com/x?token=s3cr3t-query&team=1', events: ['ping'] }));
  t.equal(created.response.status, 201, created.response.text);
  const hook = JSON.parse(created.response.text);
  t.match(created.events, [{
    type: 'webhook_created', ...actor,
    details: { webhook_id: hook.id, before: null, after: { url: `https://hooks.example.com/x?token=${MASK}&team=1`, secret_hint: MASK, events: ['ping'], enabled: true } },
  }]);
  const rotated = await audited(api, a.key, () => req('POST', `/v1/webhooks/${hook.id}/rotate-secret`));
  t.equal(rotated.response.status, 200, rotated.response.text);
  const newSecret = JSON.parse(rotated.response.text).secret as string;
  t.ok(declaredAudit('rotateWebhookSecret').includes(rotated.events[0].type));
  t.same(rotated.events.map((e) => [e.type, e.details]), [['webhook_secret_rotated', { webhook_id: hook.id, before: { secret_hint: MASK }, after: { secret_hint: MASK } }]]);
  const disabled = await audited(api, a.key, () => req('PATCH', `/v1/webhooks/${hook.id}`, { enabled: false }, { 'if-match': '*' }));
  t.match(disabled.events, [{ type: 'webhook_updated', ...actor, details: { before: { enabled: true }, after: { enabled: false } } }]);

  // An API key renamed: its old and new name.
  const renamed = await audited(api, a.key, () => req('PATCH', `/v1/api-keys/${a.keyId}`, { name: 'Renamed' }));
  t.equal(renamed.response.status, 200, renamed.response.text);
  t.match(renamed.events, [{ type: 'api_key_updated', ...actor, details: { api_key_id: a.keyId, before: { name: 'Default' }, after: { name: 'Renamed' } } }]);

  // A failed change writes nothing.
  const refused = await audited(api, a.key, () => req('PATCH', '/v1/notifications/settings', { frequency: 'hourly' }));
  t.equal(refused.response.status, 400);
  t.same(refused.events, [], 'a refused request leaves no event');

  const log = JSON.stringify(await auditEvents(api, a.key));
  for (const secret of [hook.secret, newSecret, 's3cr3t-query']) t.notOk(log.includes(secret), 'no secret is in the audit log');
  t.notOk(log.includes(hook.secret.slice(-4)), 'not even the secret\'s hint');
  t.same(await auditEvents(api, b.key), [], 'another account\'s log has none of it');
  t.match(await req('GET', '/v1/audit/verify'), { status: 200, body: { intact: true } });
});
