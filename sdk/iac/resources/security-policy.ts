// coffer_security_policy: the account's security policy (`/v1/security/policy`), a singleton.
// Create and update PATCH it; destroy restores the defaults (2FA not enforced, passwords never
// expire). Attributes left out of the configuration keep the API's value.
import type { Attributes, CallContext, ResourceType } from '../types.ts';
import { SINGLETON_ID, ifMatch, remote, setOnly } from './support.ts';

interface PolicyBody { enforce_2fa: boolean; password_expiration_days: number | null }

const DEFAULTS = { enforce_2fa: false, password_expiration_days: null };
const attributes = (p: PolicyBody): Attributes => ({ id: SINGLETON_ID, enforce_2fa: p.enforce_2fa, password_expiration_days: p.password_expiration_days });

async function patch(ctx: CallContext, body: Record<string, unknown>, etag: string | undefined) {
  const p = await ctx.client.security.updatePolicy(body as never, { signal: ctx.signal, ...ifMatch(etag) });
  return remote(SINGLETON_ID, attributes(p as PolicyBody), p);
}

export const securityPolicy: ResourceType = {
  name: 'coffer_security_policy',
  description: 'The account\'s security policy (one per account). Destroy restores the defaults: 2FA not enforced, passwords never expire.',
  schemaVersion: 1,
  attributes: {
    id: { type: 'string', computed: true, description: 'Always `account`.' },
    enforce_2fa: { type: 'bool', optional: true, computed: true, description: 'Every user must set up two-factor authentication.' },
    password_expiration_days: { type: 'number', optional: true, computed: true, description: 'Passwords expire after this many days; null: never.' },
  },
  async create(ctx, planned) {
    return patch(ctx, setOnly(planned, ['enforce_2fa', 'password_expiration_days']), undefined);
  },
  async read(ctx) {
    const p = await ctx.client.security.getPolicy({ signal: ctx.signal });
    return remote(SINGLETON_ID, attributes(p as PolicyBody), p);
  },
  async update(ctx, _id, planned, _prior, etag) {
    const body: Record<string, unknown> = {};
    if (planned.enforce_2fa !== undefined && planned.enforce_2fa !== null) body.enforce_2fa = planned.enforce_2fa;
    if (planned.password_expiration_days !== undefined) body.password_expiration_days = planned.password_expiration_days;
    return patch(ctx, body, etag);
  },
  async delete(ctx) {
    await patch(ctx, DEFAULTS, undefined);
  },
};
