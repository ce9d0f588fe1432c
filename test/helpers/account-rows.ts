// What is left of an account in the database: its rows in every table that has an account_id
// column (found from the catalogue, so new tables are covered) and the accounts row itself.
import type { TestApp } from './app.ts';

export async function rowsOf(api: TestApp, accountId: string): Promise<Record<string, number>> {
  const tables = await api.database.sql<{ table_name: string }[]>`
    select c.table_name from information_schema.columns c
      join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
     where c.table_schema = 'public' and c.column_name = 'account_id' order by 1`;
  const out: Record<string, number> = {};
  for (const { table_name } of tables) {
    const [row] = await api.database.sql.unsafe(`select count(*)::int as n from "${table_name}" where account_id = $1`, [accountId]);
    if (row!.n) out[table_name] = row!.n;
  }
  const [acct] = await api.database.sql`select count(*)::int as n from accounts where id = ${accountId}`;
  if (acct!.n) out.accounts = acct!.n;
  return out;
}

/**
 * A digest of every row of the account per table (count and md5 of the rows), to prove a refused
 * request changed nothing. Left out, because a refused request writes them on purpose:
 * `idempotency_keys` (its answer is stored, so its retry gets the same answer), audit events of
 * status `failed` and the audit chain's head (a refused sign-in or step-up is audited), and the
 * last-use columns authentication touches.
 */
export async function accountFingerprint(api: TestApp, accountId: string): Promise<Record<string, string>> {
  const tables = await api.database.sql<{ table_name: string }[]>`
    select c.table_name from information_schema.columns c
      join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
     where c.table_schema = 'public' and c.column_name = 'account_id' and c.table_name not in ('idempotency_keys', 'audit_heads') order by 1`;
  const digest = (from: string, where: string) =>
    `select '${from}' as t, count(*)::int || ':' || md5(coalesce(string_agg(r.j, '|' order by r.j), '')) as d
       from (select (to_jsonb(x) - 'last_used_at' - 'last_used_ip')::text as j from "${from}" x
              where ${where} = $1${from === 'audit_events' ? " and status <> 'failed'" : ''}) r`;
  const query = [...tables.map(({ table_name }) => digest(table_name, 'account_id')), digest('accounts', 'id')].join(' union all ');
  const rows = await api.database.sql.unsafe<{ t: string; d: string }[]>(query, [accountId]);
  return Object.fromEntries(rows.map((r) => [r.t, r.d]));
}
