// coffer_notification_settings: the summary report and smart-alert settings
// (`/v1/notifications/settings`), a singleton. Create and update PATCH them; destroy restores the
// defaults (a daily task overview as a download link, smart alerts on at their default thresholds).
import type { Attributes, CallContext, ResourceType } from '../types.ts';
import { SINGLETON_ID, ifMatch, remote, setOnly } from './support.ts';

interface SettingsBody {
  summary_report: boolean; format: string; frequency: string; only_on_failure: boolean; delivery: string;
  smart_alerts: { enabled: boolean; deleted_share_percent: number; modified_share_percent: number; norm_multiple: number; min_items: number; history_runs: number };
}

const FIELDS = ['summary_report', 'format', 'frequency', 'only_on_failure', 'delivery', 'smart_alerts'] as const;

export const NOTIFICATION_DEFAULTS = {
  summary_report: true, format: 'backup_tasks_overview', frequency: 'daily', only_on_failure: false, delivery: 'download_link',
  smart_alerts: { enabled: true, deleted_share_percent: 30, modified_share_percent: 50, norm_multiple: 5, min_items: 50, history_runs: 10 },
};

const attributes = (s: SettingsBody): Attributes => ({
  id: SINGLETON_ID, summary_report: s.summary_report, format: s.format, frequency: s.frequency, only_on_failure: s.only_on_failure,
  delivery: s.delivery, smart_alerts: { ...s.smart_alerts },
});

async function patch(ctx: CallContext, body: Record<string, unknown>, etag: string | undefined) {
  const s = await ctx.client.notifications.updateSettings(body as never, { signal: ctx.signal, ...ifMatch(etag) });
  return remote(SINGLETON_ID, attributes(s as SettingsBody), s);
}

const num = (description: string) => ({ type: 'number' as const, optional: true, computed: true, description });

export const notificationSettings: ResourceType = {
  name: 'coffer_notification_settings',
  description: 'Summary report and smart-alert settings (one per account). Destroy restores the defaults.',
  schemaVersion: 1,
  attributes: {
    id: { type: 'string', computed: true, description: 'Always `account`.' },
    summary_report: { type: 'bool', optional: true, computed: true, description: 'Mail the summary report to the recipients of type summary_report.' },
    format: { type: 'string', optional: true, computed: true, description: '`backup_tasks_overview` or `backup_failure_details`.' },
    frequency: { type: 'string', optional: true, computed: true, description: '`daily`, `weekly` or `monthly`.' },
    only_on_failure: { type: 'bool', optional: true, computed: true, description: 'Send the report only when something failed.' },
    delivery: { type: 'string', optional: true, computed: true, description: '`csv_attachment` or `download_link`.' },
    smart_alerts: {
      type: 'object', optional: true, computed: true, description: 'Thresholds of the smart alerts (unusual deletions or changes in a run).',
      attributes: {
        enabled: { type: 'bool', optional: true, computed: true, description: 'Raise smart alerts.' },
        deleted_share_percent: num('Alert when a run deletes more than this share of items.'),
        modified_share_percent: num('Alert when a run modifies more than this share of items.'),
        norm_multiple: num('Alert when a run changes this many times its usual amount.'),
        min_items: num('Ignore entities with fewer items.'),
        history_runs: num('How many earlier runs make the norm.'),
      },
    },
  },
  async create(ctx, planned) {
    return patch(ctx, setOnly(planned, FIELDS), undefined);
  },
  async read(ctx) {
    const s = await ctx.client.notifications.getSettings({ signal: ctx.signal });
    return remote(SINGLETON_ID, attributes(s as SettingsBody), s);
  },
  async update(ctx, _id, planned, _prior, etag) {
    return patch(ctx, setOnly(planned, FIELDS), etag);
  },
  async delete(ctx) {
    await patch(ctx, NOTIFICATION_DEFAULTS, undefined);
  },
};
