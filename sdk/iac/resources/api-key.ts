// coffer_api_key: an API key of the user the tool runs as (`/v1/api-keys`). The secret is shown
// once, by the create call: it is a sensitive computed attribute, kept in state from then on (a
// read never returns it). Scopes and expiry cannot change on a key, so changing them mints a new
// one; a revoked key reads as gone.
import type { Attributes, ResourceType } from '../types.ts';
import { ifMatch, ignoreMissing, orNull, remote, setOnly, sortedSet } from './support.ts';

interface KeyBody {
  id: string; name: string; user_id: string; prefix: string; scopes: string[] | null; expires_at: string | null;
  state: string; created_at: string; secret?: string;
}

function attributes(k: KeyBody, secret: string | null): Attributes {
  return {
    id: k.id, name: k.name, scopes: k.scopes === null ? null : sortedSet(k.scopes), expires_at: k.expires_at, user_id: k.user_id,
    prefix: k.prefix, state: k.state, created_at: k.created_at, secret,
  };
}

const priorSecret = (prior: Attributes | undefined) => (typeof prior?.secret === 'string' ? prior.secret : null);

export const apiKey: ResourceType = {
  name: 'coffer_api_key',
  description: 'An API key of the user the tool runs as; `secret` is known only after create (shown once by the API).',
  schemaVersion: 1,
  attributes: {
    id: { type: 'string', computed: true, description: 'The key id (key_…).' },
    name: { type: 'string', required: true, description: 'A label for the key.' },
    scopes: { type: 'set(string)', optional: true, computed: true, forcesReplacement: true, description: 'The permissions the key carries (at most the creator\'s).' },
    expires_at: { type: 'string', optional: true, forcesReplacement: true, description: 'When the key stops working (RFC 3339); none by default.' },
    user_id: { type: 'string', computed: true, description: 'The user the key acts as.' },
    prefix: { type: 'string', computed: true, description: 'The first characters of the secret, to recognise it.' },
    state: { type: 'string', computed: true, description: '`active` or `expired`.' },
    created_at: { type: 'string', computed: true, description: 'When the key was created.' },
    secret: { type: 'string', computed: true, sensitive: true, description: 'The key itself (`cfk_…`), returned once by the create call.' },
  },
  async create(ctx, planned) {
    const created = await ctx.client.apiKeys.create(setOnly(planned, ['name', 'scopes', 'expires_at']) as never, { idempotencyKey: ctx.idempotencyKey, signal: ctx.signal });
    const k = created as unknown as KeyBody;
    return remote(k.id, attributes(k, k.secret ?? null), created);
  },
  async read(ctx, id, prior) {
    const k = await orNull(() => ctx.client.apiKeys.get(id, { signal: ctx.signal }));
    if (!k || k.state === 'revoked') return null;
    return remote(k.id, attributes(k as KeyBody, priorSecret(prior)), k);
  },
  async update(ctx, id, planned, prior, etag) {
    const k = await ctx.client.apiKeys.update(id, { name: String(planned.name) }, { signal: ctx.signal, ...ifMatch(etag) });
    return remote(k.id, attributes(k as KeyBody, priorSecret(prior)), k);
  },
  async delete(ctx, id) {
    // Revoking an already revoked key succeeds; a key that no longer exists is gone anyway.
    await ignoreMissing(() => ctx.client.apiKeys.delete(id, { signal: ctx.signal }));
  },
};
