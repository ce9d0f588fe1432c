import { and, desc, eq, ilike, lt, sql, type SQL } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { entityTags, tags } from '../../../db/schema.ts';
import { newId } from '../../../db/ids.ts';
import { conflict, notFound, preconditionFailed } from '../../errors.ts';
import { toPage, type PageRequest } from '../../pagination.ts';
import type { Tag } from './schemas.ts';
import { prepared } from '../../../db/prepared.ts';
import { containsPattern } from '../../../db/like.ts';
import { checkVersion } from '../../etag.ts';

type TagRow = typeof tags.$inferSelect;

function serialize(row: TagRow, entityCount: number): Tag {
  return { id: row.id, name: row.name, entity_count: entityCount, created_at: row.createdAt.toISOString(), updated_at: row.updatedAt.toISOString() };
}

const isUniqueViolation = (err: unknown) =>
  (err as { code?: string }).code === '23505' || (err as { cause?: { code?: string } }).cause?.code === '23505';

const usage = sql<number>`(select count(*)::int from ${entityTags} where ${entityTags.tagId} = ${tags.id})`;

export async function createTag(deps: AppDeps, ctx: RequestContext, name: string) {
  const now = deps.clock.now();
  try {
    const [row] = await deps.db.insert(tags).values({ id: newId('tag'), accountId: ctx.accountId, name: name.trim(), createdAt: now, updatedAt: now }).returning();
    return { tag: serialize(row!, 0), version: row!.version };
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict('tag_exists', `A tag named "${name}" already exists.`);
    throw err;
  }
}

/** The unfiltered list, first page and later pages: built once (the filtered one is built per request). */
const pageQueries = prepared((db) => {
  const build = (later: boolean) => db
    .select({ tag: tags, used: usage })
    .from(tags)
    .where(and(eq(tags.accountId, sql.placeholder('accountId')), later ? lt(tags.id, sql.placeholder('after')) : undefined))
    .orderBy(desc(tags.id))
    .limit(sql.placeholder('limit'))
    .prepare(later ? 'list_tags_after' : 'list_tags');
  return { first: build(false), later: build(true) };
});

export async function listTags(deps: AppDeps, ctx: RequestContext, page: PageRequest, filter: { name?: string }) {
  let rows: { tag: TagRow; used: number }[];
  if (filter.name) {
    const conditions: (SQL | undefined)[] = [eq(tags.accountId, ctx.accountId)];
    conditions.push(ilike(tags.name, containsPattern(filter.name)));
    if (page.after) conditions.push(lt(tags.id, page.after));
    rows = await deps.db
      .select({ tag: tags, used: usage })
      .from(tags)
      .where(and(...conditions))
      .orderBy(desc(tags.id))
      .limit(page.limit + 1);
  } else {
    const queries = pageQueries(deps.db);
    rows = page.after
      ? await queries.later.execute({ accountId: ctx.accountId, after: page.after, limit: page.limit + 1 })
      : await queries.first.execute({ accountId: ctx.accountId, limit: page.limit + 1 });
  }
  return toPage(rows.map((r) => ({ ...r, id: r.tag.id })), page.limit, (r) => serialize(r.tag, r.used));
}

export async function findTag(deps: AppDeps, ctx: RequestContext, id: string): Promise<TagRow> {
  const [row] = await deps.db.select().from(tags).where(and(eq(tags.accountId, ctx.accountId), eq(tags.id, id)));
  if (!row) throw notFound('Tag', id);
  return row;
}

/** A tag with its entity count, in one round trip and built once. */
const tagQuery = prepared((db) => db
  .select({ tag: tags, used: usage })
  .from(tags)
  .where(and(eq(tags.accountId, sql.placeholder('accountId')), eq(tags.id, sql.placeholder('id'))))
  .prepare('get_tag'));

export async function getTag(deps: AppDeps, ctx: RequestContext, id: string) {
  const [row] = await tagQuery(deps.db).execute({ accountId: ctx.accountId, id });
  if (!row) throw notFound('Tag', id);
  return { tag: serialize(row.tag, row.used), version: row.tag.version };
}

export async function renameTag(deps: AppDeps, ctx: RequestContext, id: string, name: string | undefined, expected: number | undefined) {
  const current = await findTag(deps, ctx, id);
  checkVersion(expected, current.version, `Tag ${id}`);
  try {
    const [row] = await deps.db
      .update(tags)
      .set({ ...(name !== undefined ? { name: name.trim() } : {}), version: current.version + 1, updatedAt: deps.clock.now() })
      .where(and(eq(tags.accountId, ctx.accountId), eq(tags.id, id), eq(tags.version, current.version)))
      .returning();
    if (!row) throw preconditionFailed(`Tag ${id} changed while this request ran.`);
    return getTag(deps, ctx, row.id);
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict('tag_exists', `A tag named "${name}" already exists.`);
    throw err;
  }
}

/** Deleting a tag removes it from every entity; the entities stay. */
export async function deleteTag(deps: AppDeps, ctx: RequestContext, id: string) {
  await findTag(deps, ctx, id);
  await deps.db.delete(tags).where(and(eq(tags.accountId, ctx.accountId), eq(tags.id, id)));
}
