// `npm test`'s last step: one embedded PostgreSQL for the whole run, a migrated template database
// that every test file clones (CREATE DATABASE … TEMPLATE is ~50 ms, migrating is ~1 s), then tap.
// Arguments are passed to tap, so `npm test -- test/api/accounts.test.ts` runs one file.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { connect, runMigrations } from '../db/client.ts';
import { startQueue } from '../workers/queue.ts';

export const TEMPLATE_DB = 'coffer_template';

const dir = await mkdtemp(join(tmpdir(), 'coffer-test-pg-'));
const log: string[] = [];
// Durability buys nothing in a throw-away test cluster.
const pg = await startEmbeddedPostgres({
  dataDir: dir,
  log: (line) => log.push(line),
  settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '400' },
});
let code = 1;
try {
  const admin = postgres(pg.url, { onnotice: () => {}, max: 1 });
  await admin.unsafe(`create database ${TEMPLATE_DB}`);
  await admin.end();
  const templateUrl = pg.url.replace(/\/postgres$/, `/${TEMPLATE_DB}`);
  const template = connect(templateUrl, { max: 2 });
  await runMigrations(template);
  await template.close();
  // pg-boss installs its schema on first start: do it once here, so each test database has it.
  const boss = await startQueue({ connectionString: templateUrl, runsWorkers: false, onError: () => {} });
  await boss.stop({ graceful: false });

  const tap = spawn('tap', process.argv.slice(2), {
    stdio: 'inherit',
    env: { ...process.env, COFFER_TEST_PG_URL: pg.url, COFFER_TEST_TEMPLATE: TEMPLATE_DB },
  });
  code = await new Promise<number>((resolve) => tap.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
} catch (err) {
  console.error(err);
  console.error(log.slice(-30).join('\n'));
} finally {
  await pg.stop();
  await rm(dir, { recursive: true, force: true });
}
process.exit(code);
