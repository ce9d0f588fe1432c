// Opaque cursors: base64url JSON of the last row's sort key. Clients must treat them as opaque;
// a cursor that does not decode is a 400, never a 500.
import { badRequest } from './errors.ts';

export interface PageRequest {
  limit: number;
  after: string | undefined;
}

export function pageRequest(query: { limit?: number; cursor?: string }): PageRequest {
  return { limit: query.limit ?? 25, after: query.cursor === undefined ? undefined : decodeCursor(query.cursor) };
}

export function encodeCursor(lastId: string): string {
  return Buffer.from(JSON.stringify({ v: 1, id: lastId })).toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { v?: number; id?: unknown };
    if (parsed.v === 1 && typeof parsed.id === 'string' && parsed.id.length < 200) return parsed.id;
  } catch {
    // fall through
  }
  throw badRequest('invalid_cursor', 'The cursor is not one this API returned.');
}

/** Rows were fetched with `limit + 1`; the extra row only says whether there is a next page. */
export function toPage<T extends { id: string }, U>(rows: T[], limit: number, map: (row: T) => U) {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  return { data: page.map(map), next_cursor: more ? encodeCursor(page[page.length - 1]!.id) : null };
}
