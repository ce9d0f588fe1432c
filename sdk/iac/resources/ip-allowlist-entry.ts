// coffer_ip_allowlist_entry: trusted addresses (`/v1/ip-allowlist/entries`): exactly one of a list
// of addresses, a range, or a CIDR block. Every attribute changes in place.
import type { Attributes, ResourceType } from '../types.ts';
import { ignoreMissing, ifMatch, orNull, remote } from './support.ts';

interface EntryBody {
  id: string; description: string | null; kind: string; addresses: string[] | null; range: { from: string; to: string } | null;
  cidr: string | null; created_at: string;
}

function attributes(e: EntryBody): Attributes {
  return { id: e.id, description: e.description, kind: e.kind, addresses: e.addresses, range: e.range, cidr: e.cidr, created_at: e.created_at };
}

/** The body: the description and whichever one of addresses, range and cidr the configuration sets. */
function body(planned: Attributes): Record<string, unknown> {
  const out: Record<string, unknown> = { description: planned.description ?? null };
  for (const k of ['addresses', 'range', 'cidr']) if (planned[k] !== undefined && planned[k] !== null) out[k] = planned[k];
  return out;
}

export const ipAllowlistEntry: ResourceType = {
  name: 'coffer_ip_allowlist_entry',
  description: 'Trusted addresses for the IP allowlist: set exactly one of `addresses`, `range` or `cidr`.',
  schemaVersion: 1,
  attributes: {
    id: { type: 'string', computed: true, description: 'The entry id (ipr_…).' },
    description: { type: 'string', optional: true, description: 'What these addresses are (office, CI runners).' },
    addresses: { type: 'list(string)', optional: true, description: 'Single IPv4 or IPv6 addresses.' },
    range: {
      type: 'object', optional: true, description: 'An inclusive range of addresses of one family.',
      attributes: { from: { type: 'string', required: true, description: 'First address.' }, to: { type: 'string', required: true, description: 'Last address.' } },
    },
    cidr: { type: 'string', optional: true, description: 'A CIDR block such as 203.0.113.0/24.' },
    kind: { type: 'string', computed: true, description: '`addresses`, `range` or `cidr`: which one is set.' },
    created_at: { type: 'string', computed: true, description: 'When the entry was added.' },
  },
  async create(ctx, planned) {
    const created = await ctx.client.ipAllowlist.entries.create(body(planned) as never, { idempotencyKey: ctx.idempotencyKey, signal: ctx.signal });
    return remote(created.id, attributes(created as EntryBody), created);
  },
  async read(ctx, id) {
    const e = await orNull(() => ctx.client.ipAllowlist.entries.get(id, { signal: ctx.signal }));
    return e && remote(e.id, attributes(e as EntryBody), e);
  },
  async update(ctx, id, planned, _prior, etag) {
    const e = await ctx.client.ipAllowlist.entries.update(id, body(planned) as never, { signal: ctx.signal, ...ifMatch(etag) });
    return remote(e.id, attributes(e as EntryBody), e);
  },
  async delete(ctx, id) {
    await ignoreMissing(() => ctx.client.ipAllowlist.entries.delete(id, { signal: ctx.signal }));
  },
};
