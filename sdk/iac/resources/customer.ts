// coffer_customer: a partner's customer account (`/v1/customers`). Its id is the customer's account
// id: a configuration whose provider has `account = <id>` acts in that customer. The region is
// fixed once created, and the administrator is invited only by the create call, so changing either
// replaces the customer. Destroy is DELETE with approve_data_removal=true: the account turns
// read-only for the 7-day grace period (its administrator may undo it), then is erased. A customer
// in that grace period is read as gone, so a plan offers to create it again rather than keep it.
import type { Attributes, ResourceType } from '../types.ts';
import { changed, ifMatch, ignoreMissing, orNull, remote } from './support.ts';

interface CustomerBody {
  id: string; name: string; email: string; region: string; state: string; billing: string;
  since: string; revoked_at: string | null; purge_time: string | null; created_at: string;
}

// The API reports the administrator's address as `email` (the partner's own when none was
// invited); after create it is kept from state, so a later change of the account's address is
// not mistaken for a change that needs a new customer.
const attributes = (c: CustomerBody, adminEmail: string): Attributes => ({
  id: c.id, name: c.name, region: c.region, billing: c.billing, admin_email: adminEmail, email: c.email,
  state: c.state, since: c.since, revoked_at: c.revoked_at, created_at: c.created_at,
});

const keptAdmin = (prior: Attributes | undefined, c: CustomerBody) => (typeof prior?.admin_email === 'string' ? prior.admin_email : c.email);

export const customer: ResourceType = {
  name: 'coffer_customer',
  description: 'A partner\'s customer account; use its id as the provider\'s `account` to configure it. Destroy removes it (7-day grace period, then erased).',
  schemaVersion: 1,
  attributes: {
    id: { type: 'string', computed: true, description: 'The customer\'s account id (acct_…), for the provider\'s `account` argument.' },
    name: { type: 'string', required: true, description: 'The customer\'s name, 1–200 characters.' },
    region: { type: 'string', required: true, forcesReplacement: true, description: 'A region id (coffer_regions); fixed once created.' },
    billing: { type: 'string', required: true, description: '`partner` (the partner is invoiced) or `direct` (the customer pays).' },
    admin_email: { type: 'string', optional: true, computed: true, forcesReplacement: true, description: 'Invited as the customer\'s administrator when it is created (default: none; the account\'s address is then the partner\'s).' },
    email: { type: 'string', computed: true, description: 'The account\'s email address.' },
    state: { type: 'string', computed: true, description: 'The account state (`trial`, `active`, …).' },
    since: { type: 'string', computed: true, description: 'When the partner started managing it.' },
    revoked_at: { type: 'string', computed: true, description: 'When the customer withdrew the partner\'s access (null: not withdrawn).' },
    created_at: { type: 'string', computed: true, description: 'When the account was created.' },
  },
  async create(ctx, planned) {
    const body = {
      name: String(planned.name), region: String(planned.region), billing: String(planned.billing),
      ...(typeof planned.admin_email === 'string' ? { admin_email: planned.admin_email } : {}),
    };
    const created = await ctx.client.customers.create(body as never, { idempotencyKey: ctx.idempotencyKey, signal: ctx.signal });
    const c = created as unknown as CustomerBody;
    return remote(c.id, attributes(c, c.email), created);
  },
  async read(ctx, id, prior) {
    const found = await orNull(() => ctx.client.customers.get(id, { signal: ctx.signal }));
    const c = found as unknown as CustomerBody | null;
    if (!c || c.purge_time) return null;
    return remote(c.id, attributes(c, keptAdmin(prior, c)), found);
  },
  async update(ctx, id, planned, prior, etag) {
    const body = changed(planned, prior, ['name', 'billing']);
    const updated = await ctx.client.customers.update(id, body as never, { signal: ctx.signal, ...ifMatch(etag) });
    const c = updated as unknown as CustomerBody;
    return remote(c.id, attributes(c, keptAdmin(prior, c)), updated);
  },
  async delete(ctx, id) {
    await ignoreMissing(() => ctx.client.customers.delete(id, { approve_data_removal: true }, { signal: ctx.signal }));
  },
};
