// The settings singletons: coffer_security_policy and coffer_notification_settings. Create sets
// them, update changes them in place, drift shows, and destroy restores the defaults.
import t from 'tap';
import { adminIac } from '../helpers/iac-admin.ts';

t.test('coffer_security_policy: set, no changes, drift, destroy restores the defaults', async (t) => {
  const h = await adminIac(t);
  await h.config(`
resource "coffer_security_policy" "main" {
  password_expiration_days = 90
}
`);
  t.same(h.actions((await h.apply()).plan), { 'coffer_security_policy.main': 'create' });
  t.match((await h.api.request('GET', '/v1/security/policy', { key: h.admin.key })).body, { enforce_2fa: false, password_expiration_days: 90 });
  t.same(h.actions(await h.plan()), {}, 'No changes (enforce_2fa, not configured, keeps the API\'s value)');

  await h.api.request('PATCH', '/v1/security/policy', { key: h.admin.key, body: { password_expiration_days: 30 } });
  t.same(h.actions(await h.plan()), { 'coffer_security_policy.main': 'update' });
  await h.apply();
  t.equal((await h.api.request('GET', '/v1/security/policy', { key: h.admin.key })).body.password_expiration_days, 90);

  const read = await h.backend.read();
  const s = read!.state as { serial: number };
  await h.backend.write({ ...s, serial: s.serial + 1, resources: [] }, read!.version);
  await h.import('coffer_security_policy.main', 'account');
  t.same(h.actions(await h.plan()), {}, 'import then plan: No changes');

  await h.destroy();
  t.match((await h.api.request('GET', '/v1/security/policy', { key: h.admin.key })).body, { enforce_2fa: false, password_expiration_days: null });
});

t.test('coffer_notification_settings: nested smart-alert thresholds, update in place, destroy restores the defaults', async (t) => {
  const h = await adminIac(t);
  const config = (frequency: string, deleted: number) => `
resource "coffer_notification_settings" "main" {
  frequency       = "${frequency}"
  only_on_failure = true
  smart_alerts = {
    enabled               = true
    deleted_share_percent = ${deleted}
    modified_share_percent = 50
    norm_multiple         = 5
    min_items             = 50
    history_runs          = 10
  }
}
`;
  await h.config(config('weekly', 20));
  t.same(h.actions((await h.apply()).plan), { 'coffer_notification_settings.main': 'create' });
  const set = await h.api.request('GET', '/v1/notifications/settings', { key: h.admin.key });
  t.match(set.body, { frequency: 'weekly', only_on_failure: true, summary_report: true, smart_alerts: { deleted_share_percent: 20 } });
  t.same(h.actions(await h.plan()), {}, 'No changes');

  await h.config(config('monthly', 25));
  t.same(h.actions((await h.apply()).plan), { 'coffer_notification_settings.main': 'update' });
  t.match((await h.api.request('GET', '/v1/notifications/settings', { key: h.admin.key })).body, { frequency: 'monthly', smart_alerts: { deleted_share_percent: 25 } });

  await h.api.request('PATCH', '/v1/notifications/settings', { key: h.admin.key, body: { smart_alerts: { min_items: 7 } } });
  t.same(h.actions(await h.plan()), { 'coffer_notification_settings.main': 'update' }, 'a threshold changed outside is drift');
  await h.apply();

  const read = await h.backend.read();
  const s = read!.state as { serial: number };
  await h.backend.write({ ...s, serial: s.serial + 1, resources: [] }, read!.version);
  await h.import('coffer_notification_settings.main', 'account');
  t.same(h.actions(await h.plan()), {}, 'import then plan: No changes');

  await h.destroy();
  t.match((await h.api.request('GET', '/v1/notifications/settings', { key: h.admin.key })).body, {
    frequency: 'daily', only_on_failure: false, summary_report: true, format: 'backup_tasks_overview', delivery: 'download_link',
    smart_alerts: { enabled: true, deleted_share_percent: 30, modified_share_percent: 50, norm_multiple: 5, min_items: 50, history_runs: 10 },
  });
});
