import { Type, type Static } from '@fastify/type-provider-typebox';
import { NullableTimestamp, Page, PageQuery, Timestamp, ref } from '../../schemas/common.ts';
import { Permission } from '../../schemas/permission.ts';

const Scope = ref(Permission);

export const ApiKey = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    user_id: Type.String(),
    prefix: Type.String({ description: 'The first characters of the secret, to tell keys apart.' }),
    scopes: Type.Union([Type.Array(Scope), Type.Null()], {
      description: 'What the key may do, within what its user may do at each request. null only on keys issued before scopes were always stored: every permission of the user.',
    }),
    expires_at: NullableTimestamp(),
    last_used_at: NullableTimestamp(),
    revoked_at: NullableTimestamp(),
    state: Type.Enum(['active', 'expired', 'revoked']),
    created_at: Timestamp(),
  },
  { $id: 'ApiKey', additionalProperties: false },
);
export type ApiKey = Static<typeof ApiKey>;

export const CreatedApiKey = Type.Object(
  {
    ...ApiKey.properties,
    secret: Type.String({ description: 'The key itself. Shown once, in this response only: store it now.' }),
  },
  { $id: 'CreatedApiKey', additionalProperties: false },
);
export type CreatedApiKey = Static<typeof CreatedApiKey>;

export const ApiKeyCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    expires_at: Type.Optional(Type.String({ format: 'date-time', description: 'When the key stops working; omit for no expiry.' })),
    scopes: Type.Optional(Type.Array(Scope, { maxItems: 50, uniqueItems: true, description: 'Narrow the key to these permissions, each one the creating credential holds (403 `scope_not_held` otherwise). Omitted: every permission that credential holds now.' })),
  },
  { $id: 'ApiKeyCreate', additionalProperties: false },
);
export type ApiKeyCreate = Static<typeof ApiKeyCreate>;

export const ApiKeyUpdate = Type.Object(
  { name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) },
  { $id: 'ApiKeyUpdate', additionalProperties: false },
);

export const ApiKeyList = Page(ApiKey, 'ApiKeyList');

export const ApiKeyListQuery = Type.Object(
  {
    ...PageQuery,
    state: Type.Optional(Type.Enum(['active', 'expired', 'revoked'])),
    user_id: Type.Optional(Type.String({ description: 'Another user\'s keys (needs `users:manage`).' })),
  },
  { additionalProperties: false },
);

export const schemas = [ApiKey, CreatedApiKey, ApiKeyCreate, ApiKeyUpdate, ApiKeyList];
