// Queries built once per database handle. drizzle turns a query builder into SQL text again on
// every call (a sixth of a simple authenticated read's CPU); a prepared query keeps the text and
// takes its values as `sql.placeholder(…)`s, and postgres.js prepares it once per connection.
import type { Db } from './client.ts';

export function prepared<T>(build: (db: Db) => T): (db: Db) => T {
  const built = new WeakMap<Db, T>();
  return (db) => {
    let query = built.get(db);
    if (!query) {
      query = build(db);
      built.set(db, query);
    }
    return query;
  };
}
