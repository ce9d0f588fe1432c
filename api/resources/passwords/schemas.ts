import { Type } from '@fastify/type-provider-typebox';
import { PASSWORD_MAX, PASSWORD_MIN } from '../../passwords.ts';

export const PasswordResetRequest = Type.Object(
  { email: Type.String({ format: 'email', maxLength: 254 }) },
  { $id: 'PasswordResetRequest', additionalProperties: false },
);

export const PasswordResetAccepted = Type.Object(
  { status: Type.Enum(['accepted']), detail: Type.String() },
  { $id: 'PasswordResetAccepted', additionalProperties: false },
);

export const PasswordResetCompletion = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 100, description: 'The `token` of the reset link, or the `change_token` of a `password_expired` sign-in.' }),
    password: Type.String({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX }),
    revoke_api_keys: Type.Optional(Type.Boolean({
      default: true,
      description: 'Also revoke every API key of the user (default true: whoever knew the old password may have created keys, and a reset is how the user takes sole control back). Send false to keep keys in use by scripts.',
    })),
  },
  { $id: 'PasswordResetCompletion', additionalProperties: false },
);

export const PasswordChange = Type.Object(
  {
    current_password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX }),
    new_password: Type.String({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX }),
  },
  { $id: 'PasswordChange', additionalProperties: false },
);

export const schemas = [PasswordResetRequest, PasswordResetAccepted, PasswordResetCompletion, PasswordChange];
