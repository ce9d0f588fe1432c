// coffer_notification_recipient: who gets which notifications (`/v1/notifications/recipients`).
import type { Attributes, ResourceType } from '../types.ts';
import { changed, ignoreMissing, ifMatch, orNull, remote, sortedSet } from './support.ts';

interface RecipientBody { id: string; email: string; display_name: string; types: string[]; created_at: string }

const attributes = (r: RecipientBody): Attributes => ({ id: r.id, email: r.email, display_name: r.display_name, types: sortedSet(r.types), created_at: r.created_at });

export const notificationRecipient: ResourceType = {
  name: 'coffer_notification_recipient',
  description: 'A notification recipient: an email address and the kinds of notifications it receives.',
  schemaVersion: 1,
  attributes: {
    id: { type: 'string', computed: true, description: 'The recipient id (rcp_…).' },
    email: { type: 'string', required: true, description: 'Where the notifications go (unique in the account, ignoring case).' },
    display_name: { type: 'string', required: true, description: 'The name shown for the recipient.' },
    types: { type: 'set(string)', required: true, description: 'Of `summary_report`, `recovery`, `exceptions`, `auto_discovery`, `smart_alerts`.' },
    created_at: { type: 'string', computed: true, description: 'When the recipient was added.' },
  },
  async create(ctx, planned) {
    const body = { email: planned.email, display_name: planned.display_name, types: planned.types };
    const r = await ctx.client.notifications.recipients.create(body as never, { idempotencyKey: ctx.idempotencyKey, signal: ctx.signal });
    return remote(r.id, attributes(r as RecipientBody), r);
  },
  async read(ctx, id) {
    const r = await orNull(() => ctx.client.notifications.recipients.get(id, { signal: ctx.signal }));
    return r && remote(r.id, attributes(r as RecipientBody), r);
  },
  async update(ctx, id, planned, prior, etag) {
    const r = await ctx.client.notifications.recipients.update(id, changed(planned, prior, ['email', 'display_name', 'types']) as never, { signal: ctx.signal, ...ifMatch(etag) });
    return remote(r.id, attributes(r as RecipientBody), r);
  },
  async delete(ctx, id) {
    await ignoreMissing(() => ctx.client.notifications.recipients.delete(id, { signal: ctx.signal }));
  },
};
