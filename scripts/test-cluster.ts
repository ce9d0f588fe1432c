// One embedded PostgreSQL with a migrated template database (pg-boss schema included), shared by
// `npm test` and `npm run bench`: each test file or benchmark clones the template, which takes
// ~50 ms, instead of migrating a database of its own.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { connect, runMigrations } from '../db/client.ts';
import { startQueue } from '../workers/queue.ts';

export interface TestCluster {
  /** Admin URL (database `postgres`). */
  url: string;
  template: string;
  /** The server's output, for reports when something fails. */
  log: string[];
  stop(): Promise<void>;
}

export async function startTestCluster(opts: { name: string; template: string; settings?: Record<string, string> }): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), `${opts.name}-pg-`));
  const log: string[] = [];
  const pg = await startEmbeddedPostgres({ dataDir: dir, log: (line) => log.push(line), settings: opts.settings });
  const stop = async () => {
    await pg.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const admin = postgres(pg.url, { onnotice: () => {}, max: 1 });
    await admin.unsafe(`create database ${opts.template}`);
    await admin.end();
    const templateUrl = pg.url.replace(/\/postgres$/, `/${opts.template}`);
    const template = connect(templateUrl, { max: 2 });
    await runMigrations(template);
    await template.close();
    const boss = await startQueue({ connectionString: templateUrl, runsWorkers: false, onError: () => {} });
    await boss.stop({ graceful: false });
  } catch (err) {
    console.error(log.slice(-30).join('\n'));
    await stop();
    throw err;
  }
  return { url: pg.url, template: opts.template, log, stop };
}
