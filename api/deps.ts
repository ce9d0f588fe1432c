// Everything the HTTP side and the workers need from the outside world, built once by
// api/server.ts (or a test) and passed down explicitly.
import type { PgBoss } from 'pg-boss';
import type { Config } from './config.ts';
import type { Clock } from './clock.ts';
import type { Db } from '../db/client.ts';
import type postgres from 'postgres';
import type { MasterKeyring } from '../workers/storage/keys.ts';

export interface AppDeps {
  config: Config;
  db: Db;
  sql: postgres.Sql;
  clock: Clock;
  /** Master key: seals secrets at rest and wraps account data keys. */
  keyring: MasterKeyring;
  /** The job queue; absent in an API-only test that enqueues nothing. */
  boss?: PgBoss;
}
