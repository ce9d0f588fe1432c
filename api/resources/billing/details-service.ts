// The billing details: who invoices are addressed to and how they are delivered.
import { and, eq } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { billingDetails } from '../../../db/schema/billing.ts';
import { invalidField, notFound, preconditionFailed } from '../../errors.ts';
import { audit } from '../audit/service.ts';
import { billingOf } from './plans.ts';
import type { BillingDetails, BillingDetailsInput } from './schemas.ts';

type DetailsRow = typeof billingDetails.$inferSelect;

function serializeDetails(row: DetailsRow): BillingDetails {
  return {
    currency: row.currency, title: row.title, first_name: row.firstName, last_name: row.lastName, email: row.email,
    company_name: row.companyName, company_tax_id: row.companyTaxId, address_line1: row.addressLine1, address_line2: row.addressLine2,
    address_line3: row.addressLine3, country: row.country, state: row.state, city: row.city, zip: row.zip, phone: row.phone,
    invoice_delivery: row.invoiceDelivery, updated_at: row.updatedAt.toISOString(),
  };
}

export async function getDetails(deps: AppDeps, ctx: RequestContext) {
  const [row] = await deps.db.select().from(billingDetails).where(eq(billingDetails.accountId, ctx.accountId));
  if (!row) throw notFound('Billing details');
  return { details: serializeDetails(row), version: row.version };
}

const trimmed = (v: string | null | undefined) => (v === undefined || v === null || v.trim() === '' ? null : v.trim());

/** Replaces the billing details. Israeli companies (country IL) must give their tax id (VAT). */
export async function putDetails(deps: AppDeps, ctx: RequestContext, input: BillingDetailsInput, expected: number | undefined) {
  const billing = billingOf(deps.config);
  if (input.currency !== billing.currency) {
    throw invalidField('/body/currency', `invoices are issued in ${billing.currency}; to change the billing currency contact support`);
  }
  const taxId = trimmed(input.company_tax_id);
  if (input.country === 'IL' && !taxId) {
    throw invalidField('/body/company_tax_id', 'the company tax id is mandatory for companies in Israel (VAT)');
  }
  if (input.country === 'IL' && taxId && !/^\d{9}$/.test(taxId.replace(/[\s-]/g, ''))) {
    throw invalidField('/body/company_tax_id', 'an Israeli company tax id has 9 digits');
  }
  for (const field of ['first_name', 'last_name', 'company_name', 'address_line1', 'city', 'zip'] as const) {
    if (!trimmed(input[field])) throw invalidField(`/body/${field}`, 'must not be blank');
  }
  const now = deps.clock.now();
  const values = {
    currency: input.currency, title: trimmed(input.title), firstName: input.first_name.trim(), lastName: input.last_name.trim(),
    email: input.email.trim().toLowerCase(), companyName: input.company_name.trim(), companyTaxId: taxId,
    addressLine1: input.address_line1.trim(), addressLine2: trimmed(input.address_line2), addressLine3: trimmed(input.address_line3),
    country: input.country, state: trimmed(input.state), city: input.city.trim(), zip: input.zip.trim(), phone: input.phone.trim(),
    invoiceDelivery: input.invoice_delivery ?? 'attachment' as const, updatedAt: now,
  };
  const [current] = await deps.db.select().from(billingDetails).where(eq(billingDetails.accountId, ctx.accountId));
  if (current && expected !== undefined && expected !== current.version) throw preconditionFailed(`The billing details are at version ${current.version}.`);
  if (!current && expected !== undefined && expected !== 0) throw preconditionFailed('The billing details do not exist yet.');
  let row: DetailsRow | undefined;
  if (current) {
    [row] = await deps.db.update(billingDetails).set({ ...values, version: current.version + 1 })
      .where(and(eq(billingDetails.accountId, ctx.accountId), eq(billingDetails.version, current.version))).returning();
  } else {
    [row] = await deps.db.insert(billingDetails).values({ accountId: ctx.accountId, ...values, createdAt: now }).onConflictDoNothing().returning();
  }
  if (!row) throw preconditionFailed('The billing details changed while this request ran; fetch them again.');
  await audit(deps, ctx, { type: 'billing_details_updated', description: 'Billing details updated', details: { country: row.country, email: row.email } });
  return { details: serializeDetails(row), version: row.version, created: !current };
}
