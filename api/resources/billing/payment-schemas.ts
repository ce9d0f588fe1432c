import { Type, type Static } from '@fastify/type-provider-typebox';
import { NullableTimestamp } from '../../schemas/common.ts';

const PaymentDay = Type.Integer({ minimum: 1, maximum: 28, description: 'Day of the month (1–28) monthly invoices are charged on (automatic payment) or due on (payment by invoice).' });

export const PaymentSettings = Type.Object(
  {
    auto_pay: Type.Boolean({ description: 'true: monthly invoices are charged to the default card. false: they are emailed and wait for payment by bank transfer or PayPal.' }),
    payment_day: Type.Union([PaymentDay, Type.Null()], { description: 'null: a monthly invoice is charged when it is issued (the day after its period) and due after the monthly terms.' }),
    updated_at: NullableTimestamp(),
  },
  { $id: 'PaymentSettings', additionalProperties: false },
);
export type PaymentSettings = Static<typeof PaymentSettings>;

export const PaymentSettingsUpdate = Type.Object(
  {
    auto_pay: Type.Optional(Type.Boolean()),
    payment_day: Type.Optional(Type.Union([PaymentDay, Type.Null()])),
  },
  { $id: 'PaymentSettingsUpdate', additionalProperties: false, minProperties: 1 },
);
export type PaymentSettingsUpdate = Static<typeof PaymentSettingsUpdate>;

export const ExternalPaymentCreate = Type.Object(
  {
    method: Type.Enum(['bank_transfer', 'paypal'], { description: 'How the customer paid.' }),
    amount: Type.Integer({ minimum: 1, description: 'The amount received, in minor units: it must be the invoice\'s total (422 `amount_mismatch`).' }),
    reference: Type.String({ minLength: 1, maxLength: 200, description: 'The bank\'s or PayPal\'s transaction reference, printed on the receipt.' }),
  },
  { $id: 'ExternalPaymentCreate', additionalProperties: false },
);
export type ExternalPaymentCreate = Static<typeof ExternalPaymentCreate>;

export const paymentSchemas = [PaymentSettings, PaymentSettingsUpdate, ExternalPaymentCreate];
