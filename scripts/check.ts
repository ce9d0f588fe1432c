// The whole-repository check of one account (workers/recovery/repository-check.ts), for operators:
//
//   npm run check -- --account acct_… [--read-data] [--json] [--grace-hours N]
//
// Uses the server's configuration (DATABASE_URL, COFFER_DATA_DIR, COFFER_MASTER_KEY, S3 settings);
// without DATABASE_URL it starts the embedded PostgreSQL of the data directory, so stop the server
// first then. Prints each problem on its own line and exits 1 when there is any, 0 when the
// repository is sound, 2 on a usage or configuration error.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../api/config.ts';
import { systemClock } from '../api/clock.ts';
import { connect } from '../db/client.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../db/embedded.ts';
import { loadMasterKey } from '../workers/storage/keys.ts';
import { checkRepository } from '../workers/recovery/repository-check.ts';

function usage(message: string): never {
  console.error(`check: ${message}\nusage: npm run check -- --account <account id> [--read-data] [--json] [--grace-hours N]`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: { account: { type: 'string' }, 'read-data': { type: 'boolean' }, json: { type: 'boolean' }, 'grace-hours': { type: 'string' } },
    strict: true,
  }).values;
} catch (err) {
  usage((err as Error).message);
}
if (!args.account || !/^acct_[0-9a-z]{26}$/.test(args.account)) usage('--account must be an account id (acct_…)');
const graceHours = args['grace-hours'] === undefined ? undefined : Number(args['grace-hours']);
if (graceHours !== undefined && !(Number.isFinite(graceHours) && graceHours >= 0)) usage('--grace-hours must be a number of hours ≥ 0');

let config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) usage(`configuration error: ${err.message}`);
  throw err;
}

let embedded: EmbeddedPostgres | undefined;
let exitCode = 0;
try {
  if (!config.databaseUrl) embedded = await startEmbeddedPostgres({ dataDir: join(config.dataDir, 'pg'), log: () => {}, notice: () => {} });
  const database = connect(config.databaseUrl ?? embedded!.url, { max: 2 });
  try {
    const [account] = await database.sql`select id from accounts where id = ${args.account}`;
    if (!account) throw new Error(`no account ${args.account}`);
    const { keyring } = await loadMasterKey({ dataDir: config.dataDir });
    const started = Date.now();
    const result = await checkRepository({ config, db: database.db, sql: database.sql, keyring, clock: systemClock }, args.account, {
      readData: args['read-data'] ?? false,
      ...(graceHours !== undefined ? { graceMs: graceHours * 3_600_000 } : {}),
    });
    if (args.json) console.log(JSON.stringify(result, null, 2));
    else {
      for (const p of result.problems) console.log(`${p.kind}: ${p.detail}`);
      const read = args['read-data'] ? `, ${result.blocks_read} blocks (${result.bytes_read} bytes) read back` : '';
      console.log(`${result.problems.length === 0 ? 'no problems' : `${result.problems.length} problem(s)`} in ${args.account}: ${result.packs_checked} packs, ${result.blocks_checked} blocks checked${read} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    }
    exitCode = result.problems.length ? 1 : 0;
  } finally {
    await database.close();
  }
} catch (err) {
  console.error('check failed:', err);
  exitCode = 2;
} finally {
  await embedded?.stop();
}
process.exit(exitCode);
