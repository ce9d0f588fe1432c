// insertRows: one INSERT … SELECT FROM unnest round-trips every kind of value the backup writes
// (tabs, newlines, backslashes and unicode in names, nulls, bytea, timestamps, booleans, big
// numbers), fails with PostgreSQL's own error on a bad row (nothing inserted), and rolls back with
// its transaction.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { insertRows, type Column } from '../../db/bulk-insert.ts';
import { freshDatabase } from '../helpers/db.ts';

const columns: Column[] = [
  { name: 'id', type: 'integer' }, { name: 'name', type: 'text' }, { name: 'data', type: 'bytea' },
  { name: 'at', type: 'timestamptz' }, { name: 'ok', type: 'boolean' }, { name: 'size', type: 'bigint' },
];

t.test('values survive the round trip; errors and rollbacks behave', async (t) => {
  const { sql } = await freshDatabase(t);
  await sql`create table bulk_probe (id int primary key, name text, data bytea, at timestamptz, ok boolean, size bigint)`;
  const names = ['tab\there', 'line\nbreak', 'back\\slash', '\\N', 'NULL', 'ünïcode ☕ 日本語', '', '{"a",b}', "quote ' \""];
  const rows: Record<string, unknown>[] = names.map((name, i) => ({
    id: i, name, data: i % 3 === 0 ? null : randomBytes(40 + i), at: new Date(Date.UTC(2026, 10, 28, 7, i)), ok: i % 2 === 0, size: 2 ** 40 + i,
  }));
  rows.push({ id: 99, name: null, data: Buffer.alloc(0), at: '2024-01-15T10:00:00Z', ok: false, size: 0 });
  t.equal(await insertRows(sql, 'bulk_probe', columns, rows), rows.length);
  const back = await sql<{ id: number; name: string | null; data: Buffer | null; at: Date | string | null; ok: boolean; size: string }[]>`
    select id, name, data, at, ok, size::text as size from bulk_probe order by id`;
  for (const [i, row] of rows.entries()) {
    const got = back[i]!;
    t.equal(got.name, row.name, `name ${JSON.stringify(row.name)}`);
    t.same(got.data === null ? null : Buffer.from(got.data), row.data, `bytea of row ${row.id}`);
    t.equal(new Date(got.at!).toISOString(), new Date(row.at as string).toISOString());
    t.equal(got.ok, row.ok);
    t.equal(got.size, String(row.size));
  }

  await t.rejects(insertRows(sql, 'bulk_probe', columns, [{ id: 500, name: 'a' }, { id: 500, name: 'again' }]), /duplicate key/, "PostgreSQL's error");
  const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from bulk_probe where id = 500`;
  t.equal(n, 0, 'nothing of a failed statement stays');
  await t.rejects(sql.begin(async (tx) => {
    await insertRows(tx, 'bulk_probe', columns, [{ id: 600, name: 'rolled back' }]);
    throw new Error('abort');
  }), /abort/);
  const [{ m }] = await sql<{ m: number }[]>`select count(*)::int as m from bulk_probe where id = 600`;
  t.equal(m, 0, 'rolled back with its transaction');
  await t.rejects(insertRows(sql, 'bulk_probe; drop table x', columns, [{ id: 1 }]), /unsafe identifier/);
  t.equal(await insertRows(sql, 'bulk_probe', columns, []), 0);
});
