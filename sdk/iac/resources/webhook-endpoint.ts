// coffer_webhook_endpoint: where Coffer POSTs signed events (`/v1/webhooks`). The signing secret is
// returned once, by the create call: a sensitive computed attribute kept in state from then on.
import type { Attributes, ResourceType } from '../types.ts';
import { changed, ignoreMissing, ifMatch, orNull, remote, setOnly, sortedSet } from './support.ts';

interface EndpointBody { id: string; url: string; events: string[]; description: string | null; enabled: boolean; secret_hint: string; created_at: string; secret?: string }

const attributes = (e: EndpointBody, secret: string | null): Attributes => ({
  id: e.id, url: e.url, events: sortedSet(e.events), description: e.description, enabled: e.enabled, secret_hint: e.secret_hint,
  created_at: e.created_at, secret,
});

const priorSecret = (prior: Attributes | undefined) => (typeof prior?.secret === 'string' ? prior.secret : null);

export const webhookEndpoint: ResourceType = {
  name: 'coffer_webhook_endpoint',
  description: 'A webhook endpoint; `secret` (the signing secret, `whsec_…`) is known only after create.',
  schemaVersion: 1,
  attributes: {
    id: { type: 'string', computed: true, description: 'The endpoint id (whk_…).' },
    url: { type: 'string', required: true, description: 'The HTTPS URL events are POSTed to.' },
    events: { type: 'set(string)', required: true, description: 'The event types sent (`job.state_changed`, `backup.run_failed`, …).' },
    description: { type: 'string', optional: true, description: 'What the endpoint is.' },
    enabled: { type: 'bool', optional: true, computed: true, description: 'Deliver events (default true).' },
    secret_hint: { type: 'string', computed: true, description: 'The last characters of the signing secret.' },
    created_at: { type: 'string', computed: true, description: 'When the endpoint was created.' },
    secret: { type: 'string', computed: true, sensitive: true, description: 'The signing secret, returned once by the create call.' },
  },
  async create(ctx, planned) {
    const created = await ctx.client.webhooks.create(setOnly(planned, ['url', 'events', 'description', 'enabled']) as never, { idempotencyKey: ctx.idempotencyKey, signal: ctx.signal });
    const e = created as unknown as EndpointBody;
    return remote(e.id, attributes(e, e.secret ?? null), created);
  },
  async read(ctx, id, prior) {
    const e = await orNull(() => ctx.client.webhooks.get(id, { signal: ctx.signal }));
    return e && remote(e.id, attributes(e as EndpointBody, priorSecret(prior)), e);
  },
  async update(ctx, id, planned, prior, etag) {
    const body = changed(planned, prior, ['url', 'events', 'description', 'enabled']);
    const e = await ctx.client.webhooks.update(id, body as never, { signal: ctx.signal, ...ifMatch(etag) });
    return remote(e.id, attributes(e as EndpointBody, priorSecret(prior)), e);
  },
  async delete(ctx, id) {
    await ignoreMissing(() => ctx.client.webhooks.delete(id, { signal: ctx.signal }));
  },
};
