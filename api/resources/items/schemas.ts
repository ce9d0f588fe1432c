import { Type, type Static, type TSchema } from '@fastify/type-provider-typebox';
import { NullableTimestamp, Page, PageQuery } from '../../schemas/common.ts';

export const SearchItem = Type.Object(
  {
    id: Type.String({ description: 'The item version (`item_…`): usable as a restore / export `source.items` entry with one of its snapshots.' }),
    task_id: Type.String(),
    entity_id: Type.String(),
    entity_name: Type.String(),
    kind: Type.Enum(['file', 'folder']),
    name: Type.String(),
    path: Type.String(),
    size: Type.Integer(),
    modified_time: NullableTimestamp('Dropbox server_modified.'),
    author: Type.Union([Type.String(), Type.Null()], { description: 'Who last modified it (Dropbox account id, team folders only).' }),
    snapshot_ids: Type.Array(Type.String(), { description: 'Snapshots that contain this version, newest first (at most 20).' }),
    snapshot_count: Type.Integer(),
    current: Type.Boolean({ description: 'Still present in the latest backup.' }),
    rank: Type.Union([Type.Number(), Type.Null()], { description: 'Relevance for `q` (name matches rank above folder and content matches).' }),
  },
  { $id: 'SearchItem', additionalProperties: false },
);
export type SearchItem = Static<typeof SearchItem>;

export const SearchItemList = Page(SearchItem, 'SearchItemList');

export const ItemSearchQuery = Type.Object(
  {
    ...PageQuery,
    q: Type.Optional(Type.String({ maxLength: 200, description: 'Words in names and paths (and file text when the task indexes data); all must match, the last as a prefix. Case- and accent-insensitive: `resume` finds `Résumé.txt`.' })),
    task_id: Type.Optional(Type.String({ pattern: '^task_[0-9a-z]{26}$' })),
    entity_id: Type.Optional(Type.String({ pattern: '^ent_[0-9a-z]{26}$' })),
    author: Type.Optional(Type.String({ maxLength: 200, description: 'modified_by equals this.' })),
    name: Type.Optional(Type.String({ maxLength: 255, description: 'File name contains this (case- and accent-insensitive).' })),
    modified_from: Type.Optional(Type.String({ format: 'date-time' })),
    modified_to: Type.Optional(Type.String({ format: 'date-time' })),
    kind: Type.Optional(Type.Enum(['file', 'folder'])),
  },
  { additionalProperties: false },
);
export type ItemSearchQuery = Static<typeof ItemSearchQuery>;

export const schemas: TSchema[] = [SearchItem, SearchItemList];
