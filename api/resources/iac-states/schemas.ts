import { Type, type Static } from '@fastify/type-provider-typebox';
import { NullableTimestamp, Page, PageQuery, Timestamp, ref } from '../../schemas/common.ts';

/** Names a pipeline chooses (`prod`, `team-a.eu`): letters, digits, `.`, `_` and `-`, 1–100 characters (no `/`: the name is one path segment). */
export const STATE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$';

/** The largest state document a PUT accepts; a bigger one is refused unread (413 `body_too_large`). */
export const STATE_BODY_LIMIT = 8 * 1024 * 1024;

export const StateParams = Type.Object(
  { name: Type.String({ pattern: STATE_NAME_PATTERN, description: 'The state\'s name, chosen by the pipeline; unique in the account.' }) },
  { additionalProperties: false },
);

export const IacStateLock = Type.Object(
  {
    id: Type.String({ description: 'The lock id: send it as `Coffer-Lock-Id` on writes and to release the lock.' }),
    who: Type.String({ description: 'Who took the lock, as the tool reported it (user@host).' }),
    operation: Type.String({ description: 'What the holder is doing (`apply`, `destroy`, …).' }),
    created_at: Timestamp('When the lock was taken.'),
    user_id: Type.Union([Type.String(), Type.Null()], { description: 'The Coffer user whose credentials took the lock.' }),
  },
  { $id: 'IacStateLock', additionalProperties: false },
);
export type IacStateLock = Static<typeof IacStateLock>;

export const IacState = Type.Object(
  {
    name: Type.String(),
    serial: Type.Union([Type.Integer(), Type.Null()], { description: 'The current version\'s serial (also the ETag, `"v<serial>"`); null while the state is only locked, before its first write.' }),
    lineage: Type.Union([Type.String(), Type.Null()], { description: 'Set by the first write; a write of another lineage is refused.' }),
    size: Type.Union([Type.Integer(), Type.Null()], { description: 'Bytes of the current document.' }),
    lock: Type.Union([ref(IacStateLock), Type.Null()]),
    created_at: Timestamp(),
    updated_at: NullableTimestamp('When the current version was written.'),
  },
  { $id: 'IacState', additionalProperties: false },
);
export type IacState = Static<typeof IacState>;

export const IacStateList = Page(IacState, 'IacStateList');
export const IacStateListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });

/**
 * The state document as the tool writes it. Only `version`, `serial` and `lineage` are read by the
 * server; the rest is stored and given back byte for byte.
 */
export const IacStateDocument = Type.Object(
  {
    version: Type.Integer({ minimum: 1, description: 'The document format version.' }),
    serial: Type.Integer({ minimum: 0, maximum: 2147483647, description: 'Must be greater than the stored serial.' }),
    lineage: Type.String({ minLength: 1, maxLength: 100, description: 'Chosen when the state is first created; every later write must carry the same.' }),
  },
  { $id: 'IacStateDocument', additionalProperties: true, description: 'A state document of `coffer iac` (up to 8 MiB).' },
);
export type IacStateDocument = Static<typeof IacStateDocument>;

export const IacStateVersion = Type.Object(
  {
    serial: Type.Integer(),
    lineage: Type.String(),
    size: Type.Integer(),
    created_at: Timestamp(),
    created_by: Type.Union([Type.String(), Type.Null()], { description: 'The user whose credentials wrote it.' }),
  },
  { $id: 'IacStateVersion', additionalProperties: false },
);
export type IacStateVersion = Static<typeof IacStateVersion>;
export const IacStateVersionList = Page(IacStateVersion, 'IacStateVersionList');

export const VersionParams = Type.Object(
  { name: StateParams.properties.name, serial: Type.Integer({ minimum: 0, maximum: 2147483647 }) },
  { additionalProperties: false },
);

export const LockHeader = Type.Object({
  'coffer-lock-id': Type.Optional(Type.String({ maxLength: 100, description: 'The id of the lock the caller holds; required while the state is locked.' })),
});

export const IacStateLockCreate = Type.Object(
  {
    operation: Type.String({ minLength: 1, maxLength: 100, description: 'What the caller is about to do (`apply`, `plan`, `destroy`).' }),
    who: Type.String({ minLength: 1, maxLength: 200, description: 'Who is doing it (user@host), shown to whoever finds the state locked.' }),
  },
  { $id: 'IacStateLockCreate', additionalProperties: false },
);
export type IacStateLockCreate = Static<typeof IacStateLockCreate>;

export const UnlockQuery = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 100, description: 'The lock id being released (so a lock taken since is never released by mistake).' }),
    force: Type.Optional(Type.Boolean({ description: 'Release a lock taken by another user (force-unlock; audited as `iac_state_force_unlocked`).' })),
  },
  { additionalProperties: false },
);

export const schemas = [IacStateLock, IacState, IacStateList, IacStateDocument, IacStateVersion, IacStateVersionList, IacStateLockCreate];
