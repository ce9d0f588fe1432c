// Migrations run at start-up under an advisory lock, so that several API or worker processes
// starting together against one database apply them once, in order.
import { connect, runMigrations, type Database } from './client.ts';

const MIGRATION_LOCK = 0x636f66666572n; // "coffer"

export async function migrateWithLock(database: Database): Promise<void> {
  await database.sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK.toString()}::bigint)`;
    // drizzle's migrator uses its own connection from the pool; the lock above serialises
    // concurrent starters because each holds its transaction open until the migrator returns.
    await runMigrations(database);
  });
}

// `node db/migrate.ts` applies migrations to DATABASE_URL and exits.
if (import.meta.url === `file://${process.argv[1]}`) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('DATABASE_URL: is required');
    process.exit(1);
  }
  const database = connect(url, { max: 2 });
  await migrateWithLock(database);
  await database.close();
}
