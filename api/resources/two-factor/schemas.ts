import { Type, type Static } from '@fastify/type-provider-typebox';
import { NullableTimestamp } from '../../schemas/common.ts';

export const TotpCode = Type.String({ pattern: '^[0-9]{6}$', description: 'The 6-digit code the authenticator app shows now.' });

export const TwoFactorStatus = Type.Object(
  {
    state: Type.Enum(['none', 'pending', 'enabled'], { description: 'pending: set up but not confirmed with a code yet.' }),
    enabled_at: NullableTimestamp(),
    enforced: Type.Boolean({ description: 'The account requires two-factor authentication for every user.' }),
  },
  { $id: 'TwoFactorStatus', additionalProperties: false },
);
export type TwoFactorStatus = Static<typeof TwoFactorStatus>;

export const TwoFactorSetup = Type.Object(
  {
    state: Type.Enum(['pending']),
    secret: Type.String({ description: 'The shared secret, base32: the text code to type when the QR code cannot be scanned.', examples: ['VOLLIK2IWTQ6QMPMVOLLIK2IWTQ6QMPM'] }),
    otpauth_uri: Type.String({ description: 'An `otpauth://totp/…` URI (SHA-1, 6 digits, 30 seconds).' }),
    qr_code: Type.String({ description: 'The URI as a QR code: a PNG `data:` URL.' }),
  },
  { $id: 'TwoFactorSetup', additionalProperties: false, description: 'Shown once; confirm with a code from the app to enable.' },
);

export const TwoFactorCode = Type.Object({ code: TotpCode }, { $id: 'TwoFactorCode', additionalProperties: false });

export const schemas = [TwoFactorStatus, TwoFactorSetup, TwoFactorCode];
