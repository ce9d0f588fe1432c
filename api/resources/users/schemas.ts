import { Type, type Static } from '@fastify/type-provider-typebox';
import { NullableTimestamp, Page, PageQuery, ref, Timestamp } from '../../schemas/common.ts';
import { PASSWORD_MAX, PASSWORD_MIN } from '../../passwords.ts';
import { Permission } from '../accounts/schemas.ts';

export const SERVICES = ['dropbox'] as const;
export const Service = Type.Enum([...SERVICES], { $id: 'Service', description: 'A service a user may work with.' });

export const ManagedUser = Type.Object(
  {
    id: Type.String({ examples: ['usr_01jd8x4z3q9v6w2k5m7n0p1r8s'] }),
    account_id: Type.String(),
    email: Type.String({ format: 'email' }),
    name: Type.Union([Type.String(), Type.Null()]),
    role: Type.Enum(['administrator', 'custom'], { description: 'An administrator holds every permission and service.' }),
    permissions: Type.Array(ref(Permission), { description: 'Effective permissions (every one for an administrator).' }),
    services: Type.Array(ref(Service)),
    state: Type.Enum(['active', 'invited', 'deactivated'], { description: 'invited: the email is not confirmed yet; deactivated: keys and sessions stop working.' }),
    two_factor_enabled: Type.Boolean(),
    customer_ids: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'In a partner account: the customers this user may act for; null for all of them (and in any other account).' }),
    email_confirmed_at: NullableTimestamp(),
    created_at: Timestamp(),
    updated_at: Timestamp(),
  },
  { $id: 'ManagedUser', additionalProperties: false, description: 'A user of the account, as User Management shows it.' },
);
export type ManagedUser = Static<typeof ManagedUser>;

export const UserInvite = Type.Object(
  {
    email: Type.String({ format: 'email', maxLength: 254 }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    role: Type.Enum(['administrator', 'custom']),
    permissions: Type.Optional(Type.Array(ref(Permission), { uniqueItems: true, maxItems: 50, description: 'For a custom role: the operations granted.' })),
    services: Type.Optional(Type.Array(ref(Service), { uniqueItems: true, description: 'Defaults to every service.' })),
    customer_ids: Type.Optional(Type.Union([Type.Array(Type.String({ pattern: '^acct_[0-9a-z]{26}$' }), { uniqueItems: true, maxItems: 1000 }), Type.Null()], {
      description: 'In a partner account: the customers this user may act for (Coffer-Account) and see in GET /v1/customers; null for all of them (the default).',
    })),
  },
  { $id: 'UserInvite', additionalProperties: false },
);
export type UserInvite = Static<typeof UserInvite>;

export const UserUpdate = Type.Object(
  {
    name: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()])),
    role: Type.Optional(Type.Enum(['administrator', 'custom'])),
    permissions: Type.Optional(Type.Array(ref(Permission), { uniqueItems: true, maxItems: 50 })),
    services: Type.Optional(Type.Array(ref(Service), { uniqueItems: true })),
    customer_ids: Type.Optional(Type.Union([Type.Array(Type.String({ pattern: '^acct_[0-9a-z]{26}$' }), { uniqueItems: true, maxItems: 1000 }), Type.Null()], {
      description: 'In a partner account: the customers this user may act for (Coffer-Account) and see in GET /v1/customers; null for all of them (the default).',
    })),
  },
  { $id: 'UserUpdate', additionalProperties: false },
);
export type UserUpdate = Static<typeof UserUpdate>;

export const UserList = Page(ManagedUser, 'UserList');

export const UserListQuery = Type.Object(
  {
    ...PageQuery,
    state: Type.Optional(Type.Enum(['active', 'invited', 'deactivated'])),
    role: Type.Optional(Type.Enum(['administrator', 'custom'])),
  },
  { additionalProperties: false },
);

export const TokenQuery = Type.Object({ token: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });

export const TokenInfo = Type.Object(
  {
    email: Type.String({ format: 'email' }),
    purpose: Type.Enum(['confirm', 'reset', 'password_change']),
    expires_at: Timestamp(),
  },
  { $id: 'TokenInfo', additionalProperties: false, description: 'What an emailed link is for, before it is used.' },
);

export const UserConfirmation = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 100, description: 'The `token` of the confirmation link.' }),
    password: Type.String({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX }),
  },
  { $id: 'UserConfirmation', additionalProperties: false },
);

export const schemas = [Service, ManagedUser, UserInvite, UserUpdate, UserList, TokenInfo, UserConfirmation];
