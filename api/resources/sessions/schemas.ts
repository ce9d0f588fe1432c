import { Type, type Static } from '@fastify/type-provider-typebox';
import { Page, PageQuery, ref, Timestamp } from '../../schemas/common.ts';
import { PASSWORD_MAX } from '../../passwords.ts';
import { ManagedUser } from '../users/schemas.ts';

export const SessionCreate = Type.Object(
  {
    email: Type.String({ format: 'email', maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX }),
    totp_code: Type.Optional(Type.String({ pattern: '^[0-9]{6}$', description: 'Required when the user has two-factor authentication on.' })),
  },
  { $id: 'SessionCreate', additionalProperties: false },
);
export type SessionCreate = Static<typeof SessionCreate>;

export const Session = Type.Object(
  {
    id: Type.String({ examples: ['ses_01jd8x4z3q9v6w2k5m7n0p1r8s'] }),
    token: Type.String({ description: 'The session token (`cfs_…`): send it as `Authorization: Bearer <token>`. Shown once.' }),
    expires_at: Timestamp(),
    user: ref(ManagedUser),
  },
  { $id: 'Session', additionalProperties: false },
);
export type Session = Static<typeof Session>;

export const SessionInfo = Type.Object(
  {
    id: Type.String(),
    current: Type.Boolean({ description: 'The session this request is authenticated with.' }),
    state: Type.Enum(['active', 'expired', 'revoked']),
    ip: Type.Union([Type.String(), Type.Null()], { description: 'The address it was signed in from.' }),
    user_agent: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp(),
    expires_at: Timestamp(),
    last_used_at: Type.Union([Timestamp(), Type.Null()]),
    revoked_at: Type.Union([Timestamp(), Type.Null()]),
  },
  { $id: 'SessionInfo', additionalProperties: false, description: 'One of your sessions (never its token).' },
);
export type SessionInfo = Static<typeof SessionInfo>;

export const SessionList = Page(SessionInfo, 'SessionList');
export const SessionListQuery = Type.Object(
  { ...PageQuery, state: Type.Optional(Type.Enum(['active', 'expired', 'revoked'])) },
  { additionalProperties: false },
);

export const schemas = [SessionCreate, Session, SessionInfo, SessionList];
