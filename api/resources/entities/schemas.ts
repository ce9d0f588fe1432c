import { Type, type Static } from '@fastify/type-provider-typebox';
import { NullableTimestamp, Page, PageQuery, Timestamp } from '../../schemas/common.ts';

import { ENTITY_STATUSES } from '../../../db/schema/tasks.ts';

export { ENTITY_STATUSES };

export const Entity = Type.Object(
  {
    id: Type.String(),
    task_id: Type.String(),
    kind: Type.Enum(['member', 'team_folder', 'shared_folder'], { description: 'A team member\'s folder, a team folder, or a shared folder (backed up once, from its own namespace, however many members have it in their Dropbox).' }),
    name: Type.String(),
    email: Type.Union([Type.String(), Type.Null()]),
    status: Type.Enum(ENTITY_STATUSES),
    dropbox: Type.Object({
      id: Type.String({ description: 'team_member_id for members, team_folder_id for team folders.' }),
      namespace_id: Type.Union([Type.String(), Type.Null()]),
      status: Type.String({ description: 'Dropbox\'s own status: active, invited, suspended, removed (members); active, archived (team folders).' }),
    }),
    size_bytes: Type.Integer(),
    item_count: Type.Integer(),
    first_backup_at: NullableTimestamp(),
    last_backup_at: NullableTimestamp(),
    next_backup_at: NullableTimestamp(),
    archived_at: NullableTimestamp(),
    tags: Type.Array(Type.Object({ id: Type.String(), name: Type.String() })),
    state: Type.Enum(['active', 'deleted']),
    purge_time: NullableTimestamp('When a deleted entity\'s backups will be erased.'),
    created_at: Timestamp(),
    updated_at: Timestamp(),
  },
  { $id: 'Entity', additionalProperties: false },
);
export type Entity = Static<typeof Entity>;

export const EntityList = Page(Entity, 'EntityList');

export const EntityListQuery = Type.Object(
  {
    ...PageQuery,
    task_id: Type.Optional(Type.String({ maxLength: 40 })),
    kind: Type.Optional(Type.Enum(['member', 'team_folder', 'shared_folder'])),
    status: Type.Optional(Type.String({
      pattern: `^(${[...ENTITY_STATUSES, 'active'].join('|')})(,(${[...ENTITY_STATUSES, 'active'].join('|')}))*$`,
      description: 'One or more statuses, comma-separated (`failed,partial`). `active` stands for every status backed up on schedule: scheduled, in_process, success, failed and partial (the portal\'s "Active").',
      examples: ['failed,partial', 'active'],
    })),
    q: Type.Optional(Type.String({ maxLength: 200, description: 'Substring of the name or email, case-insensitive.' })),
    tag: Type.Optional(Type.String({ maxLength: 40, description: 'A tag id: only entities carrying it.' })),
    state: Type.Optional(Type.Enum(['active', 'deleted'], { default: 'active' })),
  },
  { additionalProperties: false },
);
export type EntityListQuery = Static<typeof EntityListQuery>;

export const ENTITY_ACTIONS = ['activate', 'pause', 'deactivate', 'backup_now', 'delete', 'add_tag', 'remove_tag'] as const;

export const EntityActionRequest = Type.Object(
  {
    action: Type.Enum(ENTITY_ACTIONS),
    entity_ids: Type.Array(Type.String({ maxLength: 40 }), { minItems: 1, maxItems: 1000, uniqueItems: true }),
    tag_id: Type.Optional(Type.String({ maxLength: 40, description: 'Required by add_tag and remove_tag.' })),
  },
  { $id: 'EntityActionRequest', additionalProperties: false },
);
export type EntityActionRequest = Static<typeof EntityActionRequest>;

export const EntityActionResult = Type.Object(
  {
    action: Type.Enum(ENTITY_ACTIONS),
    succeeded: Type.Integer(),
    failed: Type.Integer(),
    results: Type.Array(
      Type.Object({
        entity_id: Type.String(),
        ok: Type.Boolean(),
        status: Type.Union([Type.Enum(ENTITY_STATUSES), Type.Null()], { description: 'The entity\'s status after the action.' }),
        error: Type.Union([Type.Object({ code: Type.String(), detail: Type.String() }), Type.Null()]),
      }),
    ),
  },
  { $id: 'EntityActionResult', additionalProperties: false, description: 'One result per requested entity, in request order.' },
);
export type EntityActionResult = Static<typeof EntityActionResult>;

export const schemas = [Entity, EntityList, EntityActionRequest, EntityActionResult];
