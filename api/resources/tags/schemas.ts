import { Type, type Static } from '@fastify/type-provider-typebox';
import { Page, PageQuery, Timestamp } from '../../schemas/common.ts';

export const Tag = Type.Object(
  { id: Type.String(), name: Type.String(), entity_count: Type.Integer(), created_at: Timestamp(), updated_at: Timestamp() },
  { $id: 'Tag', additionalProperties: false },
);
export type Tag = Static<typeof Tag>;

export const TagCreate = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 100, description: 'Unique in the account, ignoring case.' }) },
  { $id: 'TagCreate', additionalProperties: false },
);
export const TagUpdate = Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) }, { $id: 'TagUpdate', additionalProperties: false });
export const TagList = Page(Tag, 'TagList');
export const TagListQuery = Type.Object(
  { ...PageQuery, name: Type.Optional(Type.String({ maxLength: 100, description: 'Substring of the name, case-insensitive (the seed\'s "Search tags").' })) },
  { additionalProperties: false },
);

export const schemas = [Tag, TagCreate, TagUpdate, TagList];
