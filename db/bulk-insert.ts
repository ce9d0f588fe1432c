// Bulk inserts as one INSERT … SELECT FROM unnest($1::text[], …): a parameter per column, not per
// value. A multi-row INSERT of a 2,000-entry listing page binds 40,000 parameters (~30 µs a row in
// parse and bind). COPY would be faster still, but postgres.js loses a COPY's error (the stream
// never finishes), which would hang a backup on a failed constraint. Every value goes as text and
// is cast in SQL: bytea as hex, timestamps as ISO strings, numbers as decimal strings.
import type postgres from 'postgres';

export type ColumnType = 'text' | 'bigint' | 'integer' | 'boolean' | 'timestamptz' | 'bytea';

export interface Column {
  name: string;
  type: ColumnType;
}

function text(value: unknown, type: ColumnType): string | null {
  if (value === null || value === undefined) return null;
  if (type === 'bytea') {
    if (!Buffer.isBuffer(value)) throw new TypeError('bulk insert: bytea values must be Buffers');
    return value.toString('hex');
  }
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/**
 * A PostgreSQL array literal of text values, built here rather than by postgres.js: every element
 * is quoted (so NULL, braces, commas and blanks are data), and only an element holding a backslash
 * or a double quote goes through a replace. postgres.js runs two regex replaces on every element,
 * which for the hex, numbers and timestamps of 20,000 rows a page was a visible share of a backup.
 */
function arrayLiteral(values: readonly (string | null)[]): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === null) parts[i] = 'NULL';
    else if (v.includes('\\') || v.includes('"')) parts[i] = `"${v.replace(/[\\"]/g, '\\$&')}"`;
    else parts[i] = `"${v}"`;
  }
  return `{${parts.join(',')}}`;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * Inserts `rows` (objects keyed by column name) into `table` in one statement. `onConflict` is SQL
 * appended as is (a constant of the caller's, e.g. `on conflict (a, b) do nothing`), never input.
 */
export async function insertRows(sql: postgres.Sql | postgres.TransactionSql, table: string, columns: readonly Column[], rows: readonly Record<string, unknown>[], onConflict = ''): Promise<number> {
  if (rows.length === 0) return 0;
  if (!IDENTIFIER.test(table) || columns.some((c) => !IDENTIFIER.test(c.name))) throw new Error('bulk insert: unsafe identifier');
  const arrays = columns.map((c) => arrayLiteral(rows.map((r) => text(r[c.name], c.type))));
  const names = columns.map((c) => `"${c.name}"`).join(', ');
  const casts = columns.map((c, i) => (c.type === 'bytea' ? `decode(c${i}, 'hex')` : c.type === 'text' ? `c${i}` : `c${i}::${c.type}`)).join(', ');
  const params = columns.map((_, i) => `$${i + 1}::text[]`).join(', ');
  const aliases = columns.map((_, i) => `c${i}`).join(', ');
  const result = await sql.unsafe(`insert into ${table} (${names}) select ${casts} from unnest(${params}) as u(${aliases}) ${onConflict}`, arrays);
  return result.count;
}
