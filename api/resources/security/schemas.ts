import { Type, type Static } from '@fastify/type-provider-typebox';
import { Timestamp } from '../../schemas/common.ts';

export const SecurityPolicy = Type.Object(
  {
    enforce_2fa: Type.Boolean({ description: 'Every user must sign in with two-factor authentication; users without it cannot start sessions.' }),
    password_expiration_days: Type.Union([Type.Integer({ minimum: 1, maximum: 365 }), Type.Null()], {
      description: 'Passwords older than this must be changed at the next sign-in; null: they never expire.',
    }),
    updated_at: Timestamp(),
  },
  { $id: 'SecurityPolicy', additionalProperties: false },
);
export type SecurityPolicy = Static<typeof SecurityPolicy>;

export const SecurityPolicyUpdate = Type.Object(
  {
    enforce_2fa: Type.Optional(Type.Boolean()),
    password_expiration_days: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 365 }), Type.Null()])),
  },
  { $id: 'SecurityPolicyUpdate', additionalProperties: false },
);
export type SecurityPolicyUpdate = Static<typeof SecurityPolicyUpdate>;

export const schemas = [SecurityPolicy, SecurityPolicyUpdate];
