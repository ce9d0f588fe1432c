// coffer_ip_allowlist: the account's IP restrictions switch (`/v1/ip-allowlist`), a singleton.
// Create and update set `enabled`; destroy switches restrictions off (the default). Enabling while
// the tool's own address is not trusted would lock the pipeline out: the API refuses it
// (`would_lock_out`) and so does the tool, with what to do about it. Make the switch depend on the
// entries (`depends_on`, or a reference) so they exist first and are removed last.
import type { Attributes, CallContext, ResourceType } from '../types.ts';
import { ConflictError } from '../../errors.ts';
import { SINGLETON_ID, ifMatch, remote } from './support.ts';

interface SwitchBody { enabled: boolean; entries: number; your_ip: string; updated_at: string }

const attributes = (s: SwitchBody): Attributes => ({ id: SINGLETON_ID, enabled: s.enabled, entries: s.entries, your_ip: s.your_ip });

async function set(ctx: CallContext, enabled: boolean, etag: string | undefined) {
  try {
    const s = await ctx.client.ipAllowlist.update({ enabled }, { signal: ctx.signal, ...ifMatch(etag) });
    return remote(SINGLETON_ID, attributes(s as SwitchBody), s);
  } catch (err) {
    if (err instanceof ConflictError && err.code === 'would_lock_out') {
      throw new Error(`coffer_ip_allowlist: refusing to enable IP restrictions: ${err.problem?.detail ?? err.message} `
        + 'Add a coffer_ip_allowlist_entry that covers the address the tool runs from, and make the switch depend on it.');
    }
    throw err;
  }
}

export const ipAllowlist: ResourceType = {
  name: 'coffer_ip_allowlist',
  description: 'The IP restrictions switch (one per account). Destroy switches restrictions off. Refused when it would lock the caller out.',
  schemaVersion: 1,
  attributes: {
    id: { type: 'string', computed: true, description: 'Always `account`: there is one switch per account.' },
    enabled: { type: 'bool', required: true, description: 'Only trusted addresses may use the account.' },
    entries: { type: 'number', computed: true, description: 'How many entries the allowlist holds.' },
    your_ip: { type: 'string', computed: true, description: 'The address the API sees the tool calling from.' },
  },
  async create(ctx, planned) {
    return set(ctx, planned.enabled === true, undefined);
  },
  async read(ctx) {
    const s = await ctx.client.ipAllowlist.get({ signal: ctx.signal });
    return remote(SINGLETON_ID, attributes(s as SwitchBody), s);
  },
  async update(ctx, _id, planned, _prior, etag) {
    return set(ctx, planned.enabled === true, etag);
  },
  async delete(ctx) {
    await set(ctx, false, undefined);
  },
};
