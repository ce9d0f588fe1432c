// rate_counters and credential_versions are migrations now; they used to be created at start-up.
// A database from before (tables already there, credential versions counted up) must migrate
// without losing a version, and rate_counters must stay UNLOGGED, which drizzle-kit cannot say.
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import t from 'tap';
import { connect, MIGRATIONS_DIR, runMigrations } from '#db/client.ts';
import { freshDatabase, testPgUrl } from '../helpers/db.ts';

/** The first migration that owns these tables: everything before it is what an older build shipped. */
const FIRST_OWNING_MIGRATION = '0026_shared_state_set_aside';

async function persistence(sql: postgres.Sql, table: string): Promise<string | undefined> {
  const [row] = await sql<{ p: string }[]>`select relpersistence as p from pg_class where oid = to_regclass(${table})`;
  return row?.p;
}

t.test('a fresh database has the UNLOGGED rate_counters and a logged credential_versions', async (t) => {
  const db = await freshDatabase(t);
  t.equal(await persistence(db.sql, 'rate_counters'), 'u');
  t.equal(await persistence(db.sql, 'credential_versions'), 'p');
  t.equal(await persistence(db.sql, 'rate_counters_reset_ms_idx'), 'u', 'the index of an unlogged table is unlogged');
});

t.test('a database whose start-up created the tables migrates and keeps every credential version', async (t) => {
  const adminUrl = testPgUrl();
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { onnotice: () => {}, max: 1 });
  await admin.unsafe(`create database ${name} template template0`);
  const database = connect(adminUrl.replace(/\/postgres$/, `/${name}`), { max: 2 });
  const older = await mkdtemp(join(tmpdir(), 'coffer-migrations-'));
  t.teardown(async () => {
    await database.close();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
    await rm(older, { recursive: true, force: true });
  });

  // The migrations an older build shipped, then the tables as its start-up created them.
  await cp(MIGRATIONS_DIR, older, { recursive: true });
  const journalPath = join(older, 'meta', '_journal.json');
  const journal = JSON.parse(await readFile(journalPath, 'utf8')) as { entries: { tag: string }[] };
  const cut = journal.entries.findIndex((e) => e.tag === FIRST_OWNING_MIGRATION);
  t.ok(cut > 0, 'the migration that takes the tables over is in the journal');
  journal.entries = journal.entries.slice(0, cut);
  await writeFile(journalPath, JSON.stringify(journal));
  await migrate(database.db, { migrationsFolder: older });
  await database.sql.unsafe(`create unlogged table rate_counters (key text primary key, count integer not null, reset_ms bigint not null)`);
  await database.sql.unsafe(`create index rate_counters_reset_ms_idx on rate_counters (reset_ms)`);
  await database.sql.unsafe(`create table credential_versions (account_id text primary key, version bigint not null)`);
  await database.sql`insert into credential_versions values ('acct_a', 7), ('acct_b', 1)`;
  await database.sql`insert into rate_counters values ('k', 3, 0)`;

  await runMigrations(database);

  const versions = await database.sql<{ account_id: string; version: string }[]>`
    select account_id, version::text from credential_versions order by account_id`;
  t.same(versions.map((r) => [r.account_id, r.version]), [['acct_a', '7'], ['acct_b', '1']], 'no version went back');
  t.equal(await persistence(database.sql, 'credential_versions_before_migration'), undefined, 'the set-aside copy is gone');
  t.equal(await persistence(database.sql, 'rate_counters'), 'u');
  t.equal(await persistence(database.sql, 'credential_versions'), 'p');
  const [{ n }] = await database.sql<{ n: number }[]>`select count(*)::int as n from rate_counters`;
  t.equal(n, 0, 'counters start over (a crash does the same)');

  // Start-up after the migrations reinstalls the trigger functions over the migrated table.
  await runMigrations(database);
  await database.sql`select coffer_credentials_changed('acct_b')`;
  const left = await database.sql<{ account_id: string }[]>`select account_id from credential_versions order by account_id`;
  t.same(left.map((r) => r.account_id), ['acct_a'], 'the trigger function writes the migrated table (an unknown account loses its row)');
});
