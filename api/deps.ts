// Everything the HTTP side and the workers need from the outside world, built once by
// api/server.ts (or a test) and passed down explicitly.
import type { PgBoss } from 'pg-boss';
import type { Config } from './config.ts';
import type { Clock } from './clock.ts';
import type { Db } from '../db/client.ts';
import type postgres from 'postgres';
import type { MasterKeyring } from '../workers/storage/keys.ts';
import type { RetryPolicy } from '../workers/dropbox/client.ts';
import type { Mailer } from './mail/mailer.ts';
import type { Background } from './background.ts';
import type { Resolver } from '../workers/outbound/target.ts';

/**
 * Where code that runs outside a request logs (a failed notification, a billing listener, a
 * repository check's problems): pino in api/server.ts, a console-backed one in tests. Request
 * handlers log through `request.log` instead.
 */
export interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface AppDeps {
  config: Config;
  log: Logger;
  db: Db;
  sql: postgres.Sql;
  clock: Clock;
  /** Master key: seals secrets at rest and wraps account data keys. */
  keyring: MasterKeyring;
  /** Outgoing email (SMTP, or .eml files in the outbox when SMTP_URL is unset). */
  mailer: Mailer;
  /** The job queue; absent in an API-only test that enqueues nothing. */
  boss?: PgBoss;
  /** Work requests start without waiting for it (mail whose timing must not show); see api/background.ts. */
  background?: Background;
  /** Overrides of the Dropbox retry policy (tests shorten the waits). */
  dropboxPolicy?: Partial<RetryPolicy>;
  /** Name resolution of connections to customers' storage (default: the system's; tests map names to 127.0.0.1). */
  resolveHost?: Resolver;
}
