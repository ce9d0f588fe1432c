// The entry point. `npm start` runs the API and the workers in one process (on embedded
// PostgreSQL when DATABASE_URL is unset); `--role api` / `--role worker` run one side each, any
// number of them against one database. SIGINT/SIGTERM: stop taking requests, drain, stop the
// workers, close the pool, stop the embedded database; a second signal exits at once.
import { join } from 'node:path';
import pino from 'pino';
import { ConfigError, loadConfig, type Role } from './config.ts';
import { systemClock } from './clock.ts';
import type { AppDeps } from './deps.ts';
import { buildApp, type App } from './app.ts';
import { connect } from '../db/client.ts';
import { migrateWithLock } from '../db/migrate.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../db/embedded.ts';
import { startQueue } from '../workers/queue.ts';
import { startWorkers, type Workers } from '../workers/jobs/index.ts';
import { loadMasterKey } from '../workers/storage/keys.ts';
import { createMailer } from './mail/mailer.ts';

function parseRole(argv: string[]): Role {
  const i = argv.indexOf('--role');
  const value = i >= 0 ? argv[i + 1] : 'all';
  if (value !== 'all' && value !== 'api' && value !== 'worker') {
    console.error(`--role: must be api, worker or all, got "${value}"`);
    process.exit(2);
  }
  return value;
}

async function main() {
  const started = Date.now();
  const role = parseRole(process.argv.slice(2));
  let config;
  try {
    config = loadConfig(process.env, role);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`coffer: configuration error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  // Asynchronous writes: one synchronous write to stdout per request was a tenth of a simple
  // read's CPU; under load, lines written while one write is in flight go out together. pino
  // flushes what is left when the process exits.
  const log = pino({ level: config.logLevel, base: { role } }, pino.destination({ sync: false }));
  for (const warning of config.warnings ?? []) log.warn(warning);

  let embedded: EmbeddedPostgres | undefined;
  const cleanup: (() => Promise<unknown>)[] = [];
  const shutdown = async (exitCode: number) => {
    for (const step of cleanup.reverse()) {
      try {
        await step();
      } catch (err) {
        log.error({ err }, 'shutdown step failed');
      }
    }
    process.exit(exitCode);
  };

  try {
    if (!config.databaseUrl) {
      const dir = join(config.dataDir, 'pg');
      embedded = await startEmbeddedPostgres({ dataDir: dir, log: (line) => log.debug({ pg: line }), notice: (msg) => log.warn(msg) });
      cleanup.push(() => embedded!.stop());
      log.info({ dir }, 'embedded PostgreSQL started');
    }
    const databaseUrl = config.databaseUrl ?? embedded!.url;
    const database = connect(databaseUrl);
    cleanup.push(() => database.close());
    await migrateWithLock(database);

    const master = await loadMasterKey({ dataDir: config.dataDir });
    if (master.generated) log.warn({ path: master.path }, 'generated a new master key: back this file up, without it the backups cannot be read');

    const boss = await startQueue({ connectionString: databaseUrl, runsWorkers: role !== 'api', onError: (err) => log.error({ err }, 'queue error') });
    cleanup.push(() => boss.stop({ graceful: true, timeout: 30_000 }));

    const mailer = createMailer(config, log.child({ component: 'mail' }));
    cleanup.push(() => mailer.close());
    const deps: AppDeps = { config, log: log.child({ component: 'services' }), db: database.db, sql: database.sql, clock: systemClock, keyring: master.keyring, mailer, boss };

    let workers: Workers | undefined;
    if (role !== 'api') {
      workers = await startWorkers(boss, deps);
      cleanup.push(() => workers!.stop());
    }
    let app: App | undefined;
    if (role !== 'worker') {
      app = await buildApp(deps, { logger: log });
      cleanup.push(() => app!.close());
      const address = await app.listen({ port: config.port, host: config.host });
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`Coffer API: ${address}/v1  (docs: ${address}/docs, OpenAPI: ${address}/openapi.json)  ready in ${seconds}s`);
    } else {
      console.log(`Coffer workers running (ready in ${((Date.now() - started) / 1000).toFixed(1)}s)`);
    }
  } catch (err) {
    if (err instanceof ConfigError) console.error(`coffer: configuration error: ${err.message}`);
    else log.fatal({ err }, 'start-up failed');
    await shutdown(1);
    return;
  }

  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) {
        log.warn('second signal: exiting without waiting');
        process.exit(130);
      }
      stopping = true;
      log.info({ signal }, 'shutting down');
      void shutdown(0);
    });
  }
}

await main();
