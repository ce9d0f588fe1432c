// coffer_billing_details: who is invoiced, and where (`/v1/billing/details`), a singleton. Create
// and update PUT them. Coffer cannot be left without billing details once they exist (invoices
// name them), so destroy only forgets them: the tool stops managing them and they stay as they are.
import type { Attributes, CallContext, ResourceType } from '../types.ts';
import { SINGLETON_ID, ifMatch, orNull, remote } from './support.ts';

const REQUIRED = ['currency', 'first_name', 'last_name', 'email', 'company_name', 'address_line1', 'country', 'city', 'zip', 'phone'] as const;
const OPTIONAL = ['title', 'company_tax_id', 'address_line2', 'address_line3', 'state'] as const;
const FIELDS = [...REQUIRED, ...OPTIONAL, 'invoice_delivery'] as const;

function attributes(d: Record<string, unknown>): Attributes {
  const out: Attributes = { id: SINGLETON_ID };
  for (const k of FIELDS) out[k] = (d[k] ?? null) as Attributes[string];
  return out;
}

function body(planned: Attributes): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of [...REQUIRED, ...OPTIONAL]) out[k] = planned[k] ?? null;
  for (const k of REQUIRED) if (out[k] === null) delete out[k];
  if (planned.invoice_delivery !== undefined && planned.invoice_delivery !== null) out.invoice_delivery = planned.invoice_delivery;
  return out;
}

async function put(ctx: CallContext, planned: Attributes, etag: string | undefined) {
  const d = await ctx.client.billing.updateDetails(body(planned) as never, { signal: ctx.signal, ...ifMatch(etag) });
  return remote(SINGLETON_ID, attributes(d as unknown as Record<string, unknown>), d);
}

const text = (description: string, required = false) => ({ type: 'string' as const, ...(required ? { required: true } : { optional: true }), description });

export const billingDetails: ResourceType = {
  name: 'coffer_billing_details',
  description: 'The account\'s billing details (one per account). Destroy only stops managing them: Coffer keeps them for its invoices.',
  schemaVersion: 1,
  attributes: {
    id: { type: 'string', computed: true, description: 'Always `account`.' },
    currency: text('ISO 4217 currency code (USD, EUR, …).', true),
    title: text('Title of the billing contact.'),
    first_name: text('First name of the billing contact.', true),
    last_name: text('Last name of the billing contact.', true),
    email: text('Where invoices, receipts and payment notices go.', true),
    company_name: text('The company invoiced.', true),
    company_tax_id: text('Tax id (mandatory for Israel, for VAT).'),
    address_line1: text('Address, first line.', true),
    address_line2: text('Address, second line.'),
    address_line3: text('Address, third line.'),
    country: text('ISO 3166-1 alpha-2 code (US, GB, IL, …).', true),
    state: text('State or province.'),
    city: text('City.', true),
    zip: text('Postal code.', true),
    phone: text('Phone number.', true),
    invoice_delivery: { type: 'string', optional: true, computed: true, description: '`attachment` (default) or `link`: how emailed invoices carry the PDF.' },
  },
  async create(ctx, planned) {
    return put(ctx, planned, undefined);
  },
  async read(ctx) {
    const d = await orNull(() => ctx.client.billing.getDetails({ signal: ctx.signal }));
    return d && remote(SINGLETON_ID, attributes(d as unknown as Record<string, unknown>), d);
  },
  async update(ctx, _id, planned, _prior, etag) {
    return put(ctx, planned, etag);
  },
  async delete() {
    // Nothing to call: billing details cannot be removed (see above).
  },
};
