import { Type, type Static } from '@fastify/type-provider-typebox';
import { Page, PageQuery, ref, Timestamp } from '../../schemas/common.ts';
import { Session } from '../sessions/schemas.ts';

const Provider = Type.Enum(['google', 'microsoft'], { description: 'The OpenID Connect provider.' });

export const ProviderParam = Type.Object({ provider: Provider });

export const Identity = Type.Object(
  {
    id: Type.String({ examples: ['idn_01jd8x4z3q9v6w2k5m7n0p1r8s'] }),
    provider: Provider,
    issuer: Type.String({ description: 'The provider\'s issuer identifier (ID token `iss`).' }),
    subject: Type.String({ description: 'The user\'s stable id at the provider (ID token `sub`).' }),
    email: Type.Union([Type.String(), Type.Null()], { description: 'The email the provider reported when the identity was linked.' }),
    created_at: Timestamp(),
    last_used_at: Type.Union([Timestamp(), Type.Null()], { description: 'The last sign-in with this identity.' }),
  },
  { $id: 'Identity', additionalProperties: false, description: 'An external identity linked to you: signing in with it signs you in.' },
);
export type Identity = Static<typeof Identity>;

export const IdentityList = Page(Identity, 'IdentityList');
export const IdentityListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });

export const IdentityLinkCreate = Type.Object(
  { provider: Provider },
  { $id: 'IdentityLinkCreate', additionalProperties: false },
);
export type IdentityLinkCreate = Static<typeof IdentityLinkCreate>;

export const IdentityLinkStart = Type.Object(
  {
    authorize_url: Type.String({ description: 'Open it in the browser where you are signed in to the provider; the provider sends the browser back to the callback, which links the identity.' }),
    expires_at: Timestamp('The request must be answered by then (10 minutes).'),
  },
  { $id: 'IdentityLinkStart', additionalProperties: false },
);

export const OidcCallbackQuery = Type.Object(
  {
    code: Type.Optional(Type.String({ maxLength: 4096 })),
    state: Type.Optional(Type.String({ maxLength: 512 })),
    iss: Type.Optional(Type.String({ maxLength: 2048 })),
    error: Type.Optional(Type.String({ maxLength: 256 })),
    error_description: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  { description: 'What the provider appends to the redirect URI (RFC 6749 §4.1.2, RFC 9207 `iss`).' },
);

export const OidcCallbackResult = Type.Object(
  {
    purpose: Type.Enum(['sign_in', 'link'], { description: '`sign_in`: `session` is set; `link`: `identity` is set.' }),
    session: Type.Union([ref(Session), Type.Null()]),
    identity: Type.Union([ref(Identity), Type.Null()]),
  },
  { $id: 'OidcCallbackResult', additionalProperties: false },
);
export type OidcCallbackResult = Static<typeof OidcCallbackResult>;

export const OidcTwoFactor = Type.Object(
  {
    two_factor_token: Type.String({ minLength: 1, maxLength: 2048, description: 'From the callback\'s 401 `totp_required` answer.' }),
    totp_code: Type.String({ pattern: '^[0-9]{6}$' }),
  },
  { $id: 'OidcTwoFactor', additionalProperties: false },
);
export type OidcTwoFactor = Static<typeof OidcTwoFactor>;

export const schemas = [Identity, IdentityList, IdentityLinkCreate, IdentityLinkStart, OidcCallbackResult, OidcTwoFactor];
