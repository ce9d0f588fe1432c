import { Type, type Static } from '@fastify/type-provider-typebox';
import { NullableTimestamp, Page, PageQuery, Timestamp, ref } from '../../schemas/common.ts';

const Money = (description: string) => Type.Integer({ description: `${description} In minor units (cents) of \`currency\`.` });
const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 currency code.' });
const Plan = Type.Enum(['monthly', 'annual']);
const NullableString = (opts: { maxLength: number; description?: string }) => Type.Union([Type.String(opts), Type.Null()]);

export const BillingPlan = Type.Object(
  {
    plan: Plan,
    months: Type.Integer({ description: 'Length of one billing period.' }),
    entity_price: Money('Price per protected entity (member or team folder) for one period.'),
    storage_gb_price: Money('Price per stored GB for one period; 0 when storage is not billed.'),
    discount_percent: Type.Integer(),
    billed: Type.Enum(['in_arrears', 'in_advance'], { description: 'Monthly: at the end of each month from the metered usage, charged to the default card. Annual: invoiced in advance, payable within the terms.' }),
    terms_days: Type.Integer({ description: 'Days between the issue date and the due date.' }),
  },
  { $id: 'BillingPlan', additionalProperties: false },
);

export const BillingPlans = Type.Object(
  {
    currency: Currency,
    trial_days: Type.Integer(),
    minimum_entities: Type.Integer({ description: 'Entities billed at least per period.' }),
    plans: Type.Array(ref(BillingPlan)),
  },
  { $id: 'BillingPlans', additionalProperties: false },
);

export const Subscription = Type.Object(
  {
    plan: Plan,
    state: Type.Enum(['scheduled', 'active', 'canceled'], { description: 'scheduled: starts when the trial ends; canceled: does not renew (ended_at: when service stopped).' }),
    purchase_order_number: Type.Union([Type.String(), Type.Null()]),
    starts_at: Timestamp(),
    current_period_start: NullableTimestamp(),
    current_period_end: NullableTimestamp(),
    cancel_at_period_end: Type.Boolean(),
    canceled_at: NullableTimestamp(),
    ended_at: NullableTimestamp(),
    created_at: Timestamp(),
  },
  { $id: 'Subscription', additionalProperties: false },
);
export type Subscription = Static<typeof Subscription>;

export const SubscriptionCreate = Type.Object(
  {
    plan: Plan,
    purchase_order_number: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Printed on annual invoices.' })),
  },
  { $id: 'SubscriptionCreate', additionalProperties: false },
);
export type SubscriptionCreate = Static<typeof SubscriptionCreate>;

const detailFields = {
  currency: Currency,
  title: Type.Optional(NullableString({ maxLength: 50 })),
  first_name: Type.String({ minLength: 1, maxLength: 100 }),
  last_name: Type.String({ minLength: 1, maxLength: 100 }),
  email: Type.String({ format: 'email', maxLength: 254, description: 'Where invoices, receipts and payment notices go.' }),
  company_name: Type.String({ minLength: 1, maxLength: 200 }),
  company_tax_id: Type.Optional(NullableString({ maxLength: 50, description: 'Mandatory when `country` is IL (Israel), for VAT.' })),
  address_line1: Type.String({ minLength: 1, maxLength: 200 }),
  address_line2: Type.Optional(NullableString({ maxLength: 200 })),
  address_line3: Type.Optional(NullableString({ maxLength: 200 })),
  country: Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2 code, e.g. US, GB, IL.' }),
  state: Type.Optional(NullableString({ maxLength: 100 })),
  city: Type.String({ minLength: 1, maxLength: 100 }),
  zip: Type.String({ minLength: 1, maxLength: 20 }),
  phone: Type.String({ minLength: 5, maxLength: 30, pattern: '^\\+?[0-9 ()./-]{5,30}$' }),
  invoice_delivery: Type.Optional(Type.Enum(['link', 'attachment'], { description: 'How emailed invoices and receipts carry the PDF (default attachment).' })),
};

export const BillingDetailsInput = Type.Object(detailFields, { $id: 'BillingDetailsInput', additionalProperties: false });
export type BillingDetailsInput = Static<typeof BillingDetailsInput>;

export const BillingDetails = Type.Object(
  {
    currency: Currency,
    title: Type.Union([Type.String(), Type.Null()]),
    first_name: Type.String(),
    last_name: Type.String(),
    email: Type.String(),
    company_name: Type.String(),
    company_tax_id: Type.Union([Type.String(), Type.Null()]),
    address_line1: Type.String(),
    address_line2: Type.Union([Type.String(), Type.Null()]),
    address_line3: Type.Union([Type.String(), Type.Null()]),
    country: Type.String(),
    state: Type.Union([Type.String(), Type.Null()]),
    city: Type.String(),
    zip: Type.String(),
    phone: Type.String(),
    invoice_delivery: Type.Enum(['link', 'attachment']),
    updated_at: Timestamp(),
  },
  { $id: 'BillingDetails', additionalProperties: false },
);
export type BillingDetails = Static<typeof BillingDetails>;

export const PaymentMethod = Type.Object(
  {
    id: Type.String(),
    type: Type.Literal('card'),
    brand: Type.String({ description: 'visa, mastercard, amex, discover or unknown.' }),
    last4: Type.String(),
    exp_month: Type.Integer(),
    exp_year: Type.Integer(),
    holder_name: Type.String(),
    is_default: Type.Boolean({ description: 'The card charged for invoices (activate another to change it).' }),
    created_at: Timestamp(),
  },
  { $id: 'PaymentMethod', additionalProperties: false },
);
export type PaymentMethod = Static<typeof PaymentMethod>;

export const PaymentMethodCreate = Type.Object(
  {
    number: Type.String({ minLength: 12, maxLength: 23, pattern: '^[0-9 -]+$', description: 'Passed to the payment provider and never stored.' }),
    exp_month: Type.Integer({ minimum: 1, maximum: 12 }),
    exp_year: Type.Integer({ minimum: 2000, maximum: 2100 }),
    cvc: Type.String({ pattern: '^[0-9]{3,4}$', description: 'Passed to the payment provider and never stored.' }),
    holder_name: Type.String({ minLength: 1, maxLength: 100 }),
  },
  { $id: 'PaymentMethodCreate', additionalProperties: false },
);
export type PaymentMethodCreate = Static<typeof PaymentMethodCreate>;

export const PaymentMethodList = Page(PaymentMethod, 'PaymentMethodList');

export const Usage = Type.Object(
  {
    day: Type.String({ format: 'date' }),
    active_entities: Type.Integer({ description: 'Protected entities that day.' }),
    stored_bytes: Type.Integer(),
    recorded_at: Timestamp(),
  },
  { $id: 'Usage', additionalProperties: false },
);
export const UsageList = Type.Object(
  { data: Type.Array(ref(Usage)) },
  { $id: 'UsageList', additionalProperties: false },
);
export const UsageQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date', description: 'First day (default: 31 days ago).' })),
    to: Type.Optional(Type.String({ format: 'date', description: 'Last day, inclusive (default: today).' })),
  },
  { additionalProperties: false },
);

export const BillingLine = Type.Object(
  {
    service: Type.String(),
    description: Type.String(),
    unit: Type.String(),
    total_quantity: Type.Number({ description: 'What was measured (peak protected entities, peak stored GB).' }),
    billable_quantity: Type.Integer({ description: 'What is charged (after the plan minimum, GB rounded up).' }),
    unit_price: Money('Per billable unit for the period.'),
    total: Money('billable_quantity × unit_price.'),
  },
  { $id: 'BillingLine', additionalProperties: false },
);
export type BillingLine = Static<typeof BillingLine>;

export const InvoiceBuyer = Type.Object(
  {
    company_name: Type.String(),
    name: Type.String(),
    email: Type.String(),
    address: Type.Array(Type.String()),
    tax_id: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'InvoiceBuyer', additionalProperties: false },
);

const InvoiceStatus = Type.Enum(['due', 'paid', 'overdue', 'void']);

export const Invoice = Type.Object(
  {
    id: Type.String(),
    number: Type.String({ description: 'Sequential invoice number, e.g. INV-000042.' }),
    status: InvoiceStatus,
    plan: Plan,
    currency: Currency,
    period_start: Timestamp('Effective date: the service period begins.'),
    period_end: Timestamp(),
    issued_at: Timestamp(),
    due_at: Timestamp(),
    paid_at: NullableTimestamp(),
    purchase_order_number: Type.Union([Type.String(), Type.Null()]),
    buyer: ref(InvoiceBuyer),
    lines: Type.Array(ref(BillingLine)),
    subtotal: Money('Sum of the lines.'),
    tax_rate_percent: Type.Number(),
    tax: Money('Tax on the subtotal.'),
    total: Money('subtotal + tax.'),
    amount_due: Money('What is left to pay (0 once paid).'),
    automatic_charge: Type.Boolean({ description: 'Charged to the default card by Coffer (monthly), with retries when that fails.' }),
    charge_attempts: Type.Integer(),
    next_attempt_at: NullableTimestamp('When the next automatic charge is due (null: none scheduled).'),
    pdf_url: Type.String({ description: 'API path of the PDF.' }),
  },
  { $id: 'Invoice', additionalProperties: false },
);
export type Invoice = Static<typeof Invoice>;

export const InvoiceList = Page(Invoice, 'InvoiceList');
export const InvoiceListQuery = Type.Object(
  { ...PageQuery, status: Type.Optional(InvoiceStatus) },
  { additionalProperties: false },
);

export const Payment = Type.Object(
  {
    id: Type.String(),
    receipt_number: Type.Union([Type.String(), Type.Null()], { description: 'Reference number of the receipt (successful payments only).' }),
    invoice_id: Type.String(),
    invoice_number: Type.String(),
    amount: Money('Charged (or attempted).'),
    currency: Currency,
    status: Type.Enum(['succeeded', 'failed']),
    failure_code: Type.Union([Type.String(), Type.Null()], { description: 'card_declined, insufficient_funds, expired_card, processing_error, no_payment_method.' }),
    failure_message: Type.Union([Type.String(), Type.Null()]),
    method: Type.String({ description: 'The card charged, e.g. "visa •••• 4242 (12/2030)".' }),
    provider_reference: Type.Union([Type.String(), Type.Null()]),
    trigger: Type.Enum(['manual', 'automatic']),
    created_at: Timestamp(),
  },
  { $id: 'Payment', additionalProperties: false },
);
export type Payment = Static<typeof Payment>;
export const PaymentList = Page(Payment, 'PaymentList');
export const PaymentListQuery = Type.Object(
  { ...PageQuery, status: Type.Optional(Type.Enum(['succeeded', 'failed'])) },
  { additionalProperties: false },
);

export const InvoicePayment = Type.Object(
  { invoice: ref(Invoice), payment: ref(Payment) },
  { $id: 'InvoicePayment', additionalProperties: false },
);

export const InvoiceEmailed = Type.Object(
  {
    sent_to: Type.String(),
    delivery: Type.Enum(['link', 'attachment']),
    link_expires_at: NullableTimestamp('For link delivery: when the emailed link stops working.'),
  },
  { $id: 'InvoiceEmailed', additionalProperties: false },
);

export const BillingStatus = Type.Object(
  {
    account_state: Type.Enum(['trial', 'active', 'past_due', 'suspended', 'pending_deletion']),
    trial_ends_at: NullableTimestamp(),
    subscription: Type.Union([ref(Subscription), Type.Null()]),
    payment_status: Type.Enum(['trial', 'no_subscription', 'paid', 'due', 'overdue', 'failed'], {
      description: 'failed: the last charge of an unpaid invoice was declined; overdue: an invoice is past its due date; due: an invoice awaits payment; paid: nothing is owed.',
    }),
    currency: Currency,
    amount_due: Money('Sum of the unpaid invoices.'),
    unpaid_invoices: Type.Array(ref(Invoice)),
    next_renewal_date: NullableTimestamp('When the next period starts (and is invoiced).'),
    default_payment_method: Type.Union([ref(PaymentMethod), Type.Null()]),
    forecast: Type.Object(
      {
        plan: Plan,
        period_start: Timestamp(),
        period_end: Timestamp(),
        lines: Type.Array(ref(BillingLine)),
        total: Money('Forecast of the next payment.'),
        payment_date: Timestamp('When the next payment is expected: the card is charged then (automatic payment), or the invoice is due then (payment by invoice). From the plan, automatic payment and the payment day (GET /v1/billing/payment-settings).'),
        automatic_payment: Type.Boolean({ description: 'true: charged to the default card; false: paid against the emailed invoice (bank transfer, PayPal or a card by hand). Annual invoices are always paid against the invoice.' }),
      },
      { description: 'The next payment as things stand (current usage at the current prices).' },
    ),
  },
  { $id: 'BillingStatus', additionalProperties: false },
);
export type BillingStatus = Static<typeof BillingStatus>;

export const BillingMessage = Type.Object(
  {
    id: Type.String(),
    kind: Type.Enum(['payment_due', 'payment_overdue', 'payment_failed', 'trial_ended', 'account_suspended']),
    invoice_id: Type.Union([Type.String(), Type.Null()]),
    message: Type.String(),
    created_at: Timestamp(),
    resolved_at: NullableTimestamp('Set when the cause went away (the invoice was paid).'),
  },
  { $id: 'BillingMessage', additionalProperties: false },
);
export type BillingMessage = Static<typeof BillingMessage>;
export const BillingMessageList = Page(BillingMessage, 'BillingMessageList');
export const BillingMessageQuery = Type.Object(
  { ...PageQuery, include_resolved: Type.Optional(Type.Boolean({ default: false })) },
  { additionalProperties: false },
);

export const schemas = [
  BillingPlan, BillingPlans, Subscription, SubscriptionCreate, BillingDetailsInput, BillingDetails, PaymentMethod, PaymentMethodCreate,
  PaymentMethodList, Usage, UsageList, BillingLine, InvoiceBuyer, Invoice, InvoiceList, Payment, PaymentList, InvoicePayment, InvoiceEmailed,
  BillingStatus, BillingMessage, BillingMessageList,
];
