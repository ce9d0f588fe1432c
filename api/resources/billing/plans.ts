// Plans and prices, as configuration (COFFER_BILLING_*, validated in api/config.ts). Money is
// always an integer count of the currency's minor units (cents); nothing here uses floats for
// amounts. Defaults: 3.00 USD per protected entity per month, storage not billed, 10 % off annual.
import { billingConfig, type BillingConfig, type Config } from '../../config.ts';
import type { BillingPlan } from '../../../db/schema/billing.ts';

/** Days between `pending_deletion` and the purge (the seed's 7-day grace period). */
export const DELETION_GRACE_DAYS = 7;
export const DAY_MS = 86_400_000;
export const GB = 1_000_000_000;

const defaults = billingConfig({});

/** The billing configuration of an installation (defaults when a partial test config omits it). */
export function billingOf(config: Pick<Config, 'billing'>): BillingConfig {
  return config.billing ?? defaults;
}

export interface PlanPrice {
  plan: BillingPlan;
  months: number;
  /** Per protected entity for the whole period. */
  entityPrice: number;
  /** Per stored GB for the whole period (0: storage not billed). */
  storageGbPrice: number;
  discountPercent: number;
}

export function planPrice(billing: BillingConfig, plan: BillingPlan): PlanPrice {
  if (plan === 'monthly') {
    return { plan, months: 1, entityPrice: billing.entityMonthlyPrice, storageGbPrice: billing.storageGbMonthlyPrice, discountPercent: 0 };
  }
  const discounted = (monthly: number) => Math.round((monthly * 12 * (100 - billing.annualDiscountPercent)) / 100);
  return {
    plan, months: 12, entityPrice: discounted(billing.entityMonthlyPrice), storageGbPrice: discounted(billing.storageGbMonthlyPrice),
    discountPercent: billing.annualDiscountPercent,
  };
}

export interface Quantities {
  /** Peak protected entities in the period. */
  entities: number;
  /** Peak stored bytes in the period. */
  storedBytes: number;
}

export interface PricedLine {
  service: string;
  description: string;
  unit: string;
  quantity: number;
  billableQuantity: number;
  unitPrice: number;
  total: number;
}

/**
 * The lines an invoice (or the forecast) carries for these quantities. Entities: quantity = the
 * peak of protected entities, billable = at least the plan minimum. Storage (only when priced):
 * quantity = peak stored GB (two decimals), billable = whole GB rounded up.
 */
export function priceLines(billing: BillingConfig, plan: BillingPlan, q: Quantities): PricedLine[] {
  const price = planPrice(billing, plan);
  const period = plan === 'annual' ? '12 months' : '1 month';
  const billableEntities = Math.max(q.entities, billing.minimumEntities);
  const lines: PricedLine[] = [{
    service: 'Dropbox backup: protected entities',
    description: `Protected members and team folders, ${period}${price.discountPercent ? `, ${price.discountPercent} % annual discount` : ''}`,
    unit: 'entities',
    quantity: q.entities,
    billableQuantity: billableEntities,
    unitPrice: price.entityPrice,
    total: billableEntities * price.entityPrice,
  }];
  if (price.storageGbPrice > 0) {
    const gb = Math.round((q.storedBytes / GB) * 100) / 100;
    const billableGb = Math.ceil(q.storedBytes / GB);
    lines.push({
      service: 'Dropbox backup: stored data',
      description: `Stored backup data (peak), ${period}`,
      unit: 'GB',
      quantity: gb,
      billableQuantity: billableGb,
      unitPrice: price.storageGbPrice,
      total: billableGb * price.storageGbPrice,
    });
  }
  return lines;
}

export function minorDigits(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** 12345, 'USD' → "$123.45" (for mail and PDFs; the API returns integers). */
export function formatMoney(amount: number, currency: string): string {
  const digits = minorDigits(currency);
  return new Intl.NumberFormat('en-US', { style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits })
    .format(amount / 10 ** digits);
}

/** The same instant n calendar months later (clamped to the month's last day, in UTC). */
export function addMonths(at: Date, n: number): Date {
  const d = new Date(at.getTime());
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + n);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d;
}

export function periodEnd(plan: BillingPlan, start: Date): Date {
  return addMonths(start, plan === 'annual' ? 12 : 1);
}

export function addDays(at: Date, days: number): Date {
  return new Date(at.getTime() + days * DAY_MS);
}

export function formatInvoiceNumber(n: number): string {
  return `INV-${String(n).padStart(6, '0')}`;
}

export function formatReceiptNumber(n: number): string {
  return `RCT-${String(n).padStart(6, '0')}`;
}
