// A partner's (an MSP's) customers: accounts it created (POST /v1/customers) or that accepted its
// invitation (api/resources/partner-invitations/). The customer's id is its account id.
import { Type, type Static } from '@fastify/type-provider-typebox';
import { NullableTimestamp, Page, PageQuery, Timestamp } from '../../schemas/common.ts';
import { AccountState } from '../accounts/schemas.ts';

export const Billing = Type.Enum(['partner', 'direct'], {
  $id: 'PartnerBilling',
  description: '`partner`: the partner is invoiced for the customer (one invoice with a line per customer); `direct`: the customer pays for itself.',
});

export const Customer = Type.Object(
  {
    id: Type.String({ description: 'The customer\'s account id: send it as `Coffer-Account` to act in that account.', examples: ['acct_01jd8x4z3q9v6w2k5m7n0p1r8s'] }),
    name: Type.String(),
    email: Type.String({ format: 'email' }),
    region: Type.String(),
    state: AccountState,
    billing: Billing,
    since: Timestamp('When the partner started managing the account.'),
    revoked_at: NullableTimestamp('When the customer\'s administrator withdrew the partner\'s access: its requests for the account are refused with 403 `access_revoked`.'),
    purge_time: NullableTimestamp('When a removed customer will be erased for good.'),
    created_at: Timestamp(),
  },
  { $id: 'Customer', additionalProperties: false },
);
export type Customer = Static<typeof Customer>;

export const CustomerCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    region: Type.String({ minLength: 1, maxLength: 40, description: 'A region id from GET /v1/regions; fixed once created.' }),
    admin_email: Type.Optional(Type.String({ format: 'email', maxLength: 254, description: 'Invited as the customer\'s administrator (a confirmation link valid 24 hours, as POST /v1/users sends).' })),
    billing: Billing,
  },
  { $id: 'CustomerCreate', additionalProperties: false },
);
export type CustomerCreate = Static<typeof CustomerCreate>;

export const CustomerUpdate = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    billing: Type.Optional(Billing),
  },
  { $id: 'CustomerUpdate', additionalProperties: false },
);
export type CustomerUpdate = Static<typeof CustomerUpdate>;

export const CustomerList = Page(Customer, 'CustomerList');

export const CustomerListQuery = Type.Object(
  {
    ...PageQuery,
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Customers whose name contains this (case-insensitive).' })),
    region: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
    access: Type.Optional(Type.Enum(['active', 'revoked'], { description: '`revoked`: customers that withdrew the partner\'s access.' })),
  },
  { additionalProperties: false },
);

export const CustomerRemovalQuery = Type.Object(
  { approve_data_removal: Type.Optional(Type.Boolean({ description: 'Must be true: every backup, key and setting of the customer is erased after the 7-day grace period.' })) },
  { additionalProperties: false },
);

export const schemas = [Billing, Customer, CustomerCreate, CustomerUpdate, CustomerList];
