import { Type, type Static } from '@fastify/type-provider-typebox';
import { NullableTimestamp, ref, Timestamp } from '../../schemas/common.ts';
import { PASSWORD_MAX, PASSWORD_MIN } from '../../passwords.ts';
import { Permission } from '../../schemas/permission.ts';
import { CreatedApiKey } from '../api-keys/schemas.ts';

export const AccountState = Type.Enum(
  ['trial', 'active', 'past_due', 'suspended', 'pending_deletion'],
  { description: 'trial → active (subscribed) → past_due (payment failed) → suspended; pending_deletion during the 7-day grace period.' },
);

export const AccountKind = Type.Enum(['standard', 'partner'], {
  description: 'A `partner` (a managed service provider) manages customer accounts (POST /v1/customers) and may protect its own team too.',
});

export const AccountPartner = Type.Object(
  {
    account_id: Type.String(),
    name: Type.String(),
    billing: Type.Enum(['partner', 'direct'], { description: '`partner`: the partner is invoiced for this account; `direct`: the account pays for itself.' }),
    since: Timestamp('When the partner started managing this account.'),
    revoked_at: NullableTimestamp('When this account\'s administrator withdrew the partner\'s access (DELETE /v1/account/partner); null while it has access.'),
  },
  { $id: 'AccountPartner', additionalProperties: false, description: 'The partner managing this account.' },
);
export type AccountPartner = Static<typeof AccountPartner>;

export const Account = Type.Object(
  {
    id: Type.String({ examples: ['acct_01jd8x4z3q9v6w2k5m7n0p1r8s'] }),
    name: Type.String(),
    kind: AccountKind,
    partner: Type.Optional(Type.Union([ref(AccountPartner), Type.Null()], { description: 'Shown by GET /v1/account: the partner that manages (or managed) this account, or null.' })),
    email: Type.String({ format: 'email' }),
    region: Type.String({ description: 'The data center holding this account\'s backups; fixed at sign-up.' }),
    state: AccountState,
    trial_ends_at: NullableTimestamp(),
    purge_time: NullableTimestamp('When a removed account will be erased for good.'),
    pending_email: Type.Optional(Type.Union([Type.String({ format: 'email' }), Type.Null()], {
      description: 'A new email waiting for confirmation from that address (POST /v1/account/email-change); shown by GET /v1/account.',
    })),
    created_at: Timestamp(),
    updated_at: Timestamp(),
  },
  { $id: 'Account', additionalProperties: false },
);
export type Account = Static<typeof Account>;

export { Permission };

export const User = Type.Object(
  {
    id: Type.String(),
    account_id: Type.String(),
    email: Type.String({ format: 'email' }),
    name: Type.Union([Type.String(), Type.Null()]),
    role: Type.Enum(['administrator', 'custom']),
    permissions: Type.Array(ref(Permission), { description: 'Effective permissions (every one for an administrator).' }),
    state: Type.Enum(['active', 'invited', 'deactivated']),
    created_at: Timestamp(),
  },
  { $id: 'User', additionalProperties: false },
);
export type User = Static<typeof User>;

export const SignupRequest = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200, description: 'The account (company) name.' }),
    email: Type.String({ format: 'email', maxLength: 254 }),
    password: Type.String({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX }),
    region: Type.String({ minLength: 1, maxLength: 40, description: 'A region id from GET /v1/regions.' }),
    user_name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    kind: Type.Optional(Type.Enum(['standard', 'partner'], { description: '`partner` signs up a managed service provider (default `standard`).' })),
  },
  { $id: 'SignupRequest', additionalProperties: false },
);
export type SignupRequest = Static<typeof SignupRequest>;

export const Signup = Type.Object(
  {
    account: ref(Account),
    user: ref(User),
    api_key: ref(CreatedApiKey),
  },
  { $id: 'Signup', additionalProperties: false, description: 'The new account, its administrator, and a first API key whose secret is shown only here.' },
);

export const SignupAccepted = Type.Object(
  {
    status: Type.Enum(['activation_sent']),
    email: Type.String({ format: 'email', description: 'The address the activation link goes to (lower-cased).' }),
    detail: Type.String(),
  },
  {
    $id: 'SignupAccepted', additionalProperties: false,
    description: 'The same answer whether or not the address already has an account: the email says which.',
  },
);

const ActivationToken = Type.String({ minLength: 1, maxLength: 100, description: 'The `token` of the activation link.' });

export const ActivationRequest = Type.Object({ token: ActivationToken }, { $id: 'ActivationRequest', additionalProperties: false });

export const ActivationQuery = Type.Object({ token: ActivationToken }, { additionalProperties: false });

export const ActivationInfo = Type.Object(
  {
    email: Type.String({ format: 'email' }),
    account_name: Type.String(),
    region: Type.String(),
    kind: Type.Enum(['standard', 'partner']),
    expires_at: Timestamp(),
  },
  { $id: 'ActivationInfo', additionalProperties: false, description: 'What an activation link will create, before it is used.' },
);

export const ActivationResendRequest = Type.Object(
  { email: Type.String({ format: 'email', maxLength: 254 }) },
  { $id: 'ActivationResendRequest', additionalProperties: false },
);

export const AccountUpdate = Type.Object(
  { name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
  { $id: 'AccountUpdate', additionalProperties: false },
);

export const Me = Type.Object(
  {
    user: ref(User),
    account: ref(Account),
    partner_account_id: Type.Union([Type.String(), Type.Null()], {
      description: 'Set when a partner acts for this account (Coffer-Account header): the partner\'s account, where `user` belongs.',
    }),
    credential: Type.Object({
      id: Type.String(),
      kind: Type.Enum(['api_key', 'session']),
      permissions: Type.Array(ref(Permission), { description: 'What this credential may do: the user\'s permissions narrowed by the key\'s scopes.' }),
    }),
  },
  { $id: 'Me', additionalProperties: false },
);

export const Region = Type.Object(
  {
    id: Type.String(), name: Type.String(), country: Type.String({ description: 'ISO 3166-1 alpha-2.' }),
    storage: Type.Enum(['dedicated', 'shared', 'filesystem'], {
      description: 'Where this installation stores the region\'s backups: `dedicated` — a bucket of its own, holding no other region\'s data; `shared` — the installation\'s one bucket, under the region\'s prefix; `filesystem` — the server\'s disk (development and single-machine installations). Only regions with a storage location are listed.',
    }),
  },
  { $id: 'Region', additionalProperties: false },
);

export const RegionList = Type.Object({ data: Type.Array(ref(Region)) }, { $id: 'RegionList', additionalProperties: false });

export const schemas = [AccountPartner, Account, Permission, User, SignupRequest, Signup, SignupAccepted, ActivationRequest, ActivationInfo, ActivationResendRequest, AccountUpdate, Me, Region, RegionList];
