// coffer_tag: a label put on users and team folders (`/v1/tags`).
import type { ResourceType } from '../types.ts';
import { NotFoundError } from '../../errors.ts';

type TagBody = { id: string; name: string; entity_count: number; created_at: string; updated_at: string };

function remote(tag: TagBody & { lastResponse?: { etag?: string } }) {
  return {
    id: tag.id,
    attributes: { id: tag.id, name: tag.name, entity_count: tag.entity_count, created_at: tag.created_at },
    ...(tag.lastResponse?.etag ? { etag: tag.lastResponse.etag } : {}),
  };
}

export const tag: ResourceType = {
  name: 'coffer_tag',
  description: 'A tag: a label put on users and team folders, unique in the account ignoring case.',
  schemaVersion: 1,
  attributes: {
    id: { type: 'string', computed: true, description: 'The tag id (tag_…).' },
    name: { type: 'string', required: true, description: 'The label, 1–100 characters.' },
    entity_count: { type: 'number', computed: true, description: 'How many users and team folders carry it.' },
    created_at: { type: 'string', computed: true, description: 'When it was created.' },
  },
  async create(ctx, planned) {
    const created = await ctx.client.tags.create({ name: String(planned.name) }, { idempotencyKey: ctx.idempotencyKey, signal: ctx.signal });
    return remote(created);
  },
  async read(ctx, id) {
    try {
      return remote(await ctx.client.tags.get(id, { signal: ctx.signal }));
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  },
  async update(ctx, id, planned, _prior, etag) {
    return remote(await ctx.client.tags.update(id, { name: String(planned.name) }, { signal: ctx.signal, ...(etag ? { ifMatch: etag } : {}) }));
  },
  async delete(ctx, id) {
    try {
      await ctx.client.tags.delete(id, { signal: ctx.signal });
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  },
};
