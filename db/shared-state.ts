// Triggers every API process relies on, installed (idempotently) after the migrations by
// runMigrations. The tables they write, `credential_versions` and the UNLOGGED `rate_counters`,
// are migrations (db/schema/shared-state.ts); the functions and triggers stay here because they
// are derived from WATCHED below: `create or replace` at every start keeps them equal to it.
//
// The triggers bump the account's row in `credential_versions` and NOTIFY `coffer_credentials` with
// the account id whenever something that decides whether a credential is accepted changes (an API
// key or session revoked, expired or deleted; a user's state, role or permissions; the account's
// state; its IP allowlist; a partner's access to a customer, and for a partner every change of its
// own, which its customers' accounts see too). Every API process LISTENs and drops what it cached
// of that account (api/credential-cache.ts). Triggers rather than calls in the services so that no
// write path (a service, a worker, an operator's SQL, an account deletion's cascade) can forget
// it; PostgreSQL delivers the notification at commit.
import type postgres from 'postgres';

export const CREDENTIALS_CHANNEL = 'coffer_credentials';

/** Table → the column holding its account id, then the columns whose change alone matters to nobody. */
const WATCHED: { table: string; account: string; ignored: string[]; inserts: boolean }[] = [
  { table: 'api_keys', account: 'account_id', ignored: ['last_used_at', 'last_used_ip'], inserts: false },
  { table: 'sessions', account: 'account_id', ignored: ['last_used_at'], inserts: false },
  { table: 'users', account: 'account_id', ignored: [], inserts: false },
  { table: 'accounts', account: 'id', ignored: [], inserts: false },
  { table: 'account_security', account: 'account_id', ignored: [], inserts: true },
  { table: 'ip_rules', account: 'account_id', ignored: [], inserts: true },
  // A partner's access to a customer (granted, revoked, removed) decides the keys it minted there.
  { table: 'partner_customers', account: 'customer_account_id', ignored: [], inserts: true },
];

export async function installSharedState(sql: postgres.Sql): Promise<void> {
  await sql.unsafe(`
    create or replace function coffer_credentials_changed(account text) returns void language plpgsql as $$
    declare
      customer text;
    begin
      -- A deleted account leaves no row behind (readers see it gone: api/rate-counters.ts).
      if exists (select 1 from accounts where id = account) then
        insert into credential_versions (account_id, version) values (account, 1)
          on conflict (account_id) do update set version = credential_versions.version + 1;
      else
        delete from credential_versions where account_id = account;
      end if;
      perform pg_notify('${CREDENTIALS_CHANNEL}', account);
      -- A partner's users and keys also decide the keys they minted in its customers' accounts
      -- (api/plugins/auth.ts), which are cached under the customer's id. Customers are never
      -- partners themselves, so this goes one level deep.
      for customer in select customer_account_id from partner_customers where partner_account_id = account loop
        insert into credential_versions (account_id, version) values (customer, 1)
          on conflict (account_id) do update set version = credential_versions.version + 1;
        perform pg_notify('${CREDENTIALS_CHANNEL}', customer);
      end loop;
    end $$`);
  // TG_ARGV[0]: the account id column; TG_ARGV[1…]: columns left out of the comparison, so that
  // recording when a key was last used does not empty every cache once a minute.
  await sql.unsafe(`
    create or replace function coffer_notify_credentials() returns trigger language plpgsql as $$
    declare
      before jsonb := case when tg_op <> 'INSERT' then to_jsonb(old) end;
      after jsonb := case when tg_op <> 'DELETE' then to_jsonb(new) end;
      i integer;
    begin
      if tg_op = 'UPDATE' then
        for i in 1 .. tg_nargs - 1 loop
          before := before - tg_argv[i];
          after := after - tg_argv[i];
        end loop;
        if before = after then return null; end if;
        if before ->> tg_argv[0] is distinct from after ->> tg_argv[0] then
          perform coffer_credentials_changed(before ->> tg_argv[0]);
        end if;
      end if;
      perform coffer_credentials_changed(coalesce(after, before) ->> tg_argv[0]);
      return null;
    end $$`);
  for (const w of WATCHED) {
    const events = w.inserts ? 'insert or update or delete' : 'update or delete';
    const args = [w.account, ...w.ignored].map((a) => `'${a}'`).join(', ');
    await sql.unsafe(`create or replace trigger coffer_credentials_changed after ${events} on ${w.table}
      for each row execute function coffer_notify_credentials(${args})`);
  }
}
