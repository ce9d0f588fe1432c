// Master-key rotation, for operators (api/master-key-rotation.ts does the work):
//
//   npm run rotate-master-key -- --add-key     1. a new key version (file: appended to master.key;
//                                                 COFFER_MASTER_KEY: printed, to configure)
//   (restart every Coffer process: they now seal under the new key and still read the old one)
//   npm run rotate-master-key                  2. re-seal everything under the new key; killed, run it again
//   npm run rotate-master-key -- --drop-old    3. forget the old keys (refused while anything needs them)
//
// Uses the server's configuration (DATABASE_URL, COFFER_DATA_DIR, COFFER_MASTER_KEY and
// COFFER_MASTER_KEY_PREVIOUS); without DATABASE_URL it starts the embedded PostgreSQL of the data
// directory, so stop the server first then. Exit 0 when done, 1 when old-key values are left, 2 on
// a usage or configuration error. --batch-size (500) values are read per page; --pause-ms waits
// between pages, to spare a busy database.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../api/config.ts';
import { connect } from '../db/client.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../db/embedded.ts';
import { loadMasterKey, readKeyFile, writeKeyFile, MASTER_KEY_BYTES, MASTER_KEY_FILE } from '../workers/storage/keys.ts';
import { rotateMasterKey, sealedUnderOldKeys } from '../api/master-key-rotation.ts';

function usage(message: string): never {
  console.error(`rotate-master-key: ${message}\nusage: npm run rotate-master-key -- [--add-key | --drop-old] [--batch-size N] [--pause-ms N]`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({ options: { 'add-key': { type: 'boolean' }, 'drop-old': { type: 'boolean' }, 'batch-size': { type: 'string' }, 'pause-ms': { type: 'string' } }, strict: true }).values;
} catch (err) {
  usage((err as Error).message);
}
if (args['add-key'] && args['drop-old']) usage('--add-key and --drop-old are two steps: run them one at a time');
const batchSize = args['batch-size'] === undefined ? 500 : Number(args['batch-size']);
if (!Number.isInteger(batchSize) || batchSize < 1) usage('--batch-size must be a whole number ≥ 1');
const pauseMs = args['pause-ms'] === undefined ? 0 : Number(args['pause-ms']);
if (!Number.isInteger(pauseMs) || pauseMs < 0) usage('--pause-ms must be a whole number ≥ 0');

let config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) usage(`configuration error: ${err.message}`);
  throw err;
}
const fromEnv = Boolean(process.env.COFFER_MASTER_KEY);
const keyFile = join(config.dataDir, MASTER_KEY_FILE);

if (args['add-key']) {
  const fresh = randomBytes(MASTER_KEY_BYTES);
  if (fromEnv) {
    const { keyring } = await loadMasterKey({ dataDir: config.dataDir });
    const version = keyring.current.version + 1;
    console.log(`A new master key, version ${version}. Configure every Coffer process with\n` +
      `  COFFER_MASTER_KEY=${version}:${fresh.toString('base64')}\n` +
      `  COFFER_MASTER_KEY_PREVIOUS=<the current COFFER_MASTER_KEY${keyring.versions.length > 1 ? ', and the keys already there' : ''}>\n` +
      'restart them, then run `npm run rotate-master-key` with the same variables.');
  } else {
    const versions = await readKeyFile(keyFile);
    if (!versions) usage(`no master key file at ${keyFile} (and COFFER_MASTER_KEY is unset)`);
    const version = Math.max(...versions.map((v) => v.version)) + 1;
    if (version > 255) usage('master key versions are used up (255)');
    await writeKeyFile(config.dataDir, [...versions, { version, key: fresh }]);
    console.log(`Added master key version ${version} to ${keyFile} (the old one stays: back the file up now).\n` +
      'Restart every Coffer process (they then seal under the new key and still read the old), then run `npm run rotate-master-key`.');
  }
  process.exit(0);
}

let embedded: EmbeddedPostgres | undefined;
let exitCode = 0;
try {
  if (!config.databaseUrl) embedded = await startEmbeddedPostgres({ dataDir: join(config.dataDir, 'pg'), log: () => {}, notice: () => {} });
  const database = connect(config.databaseUrl ?? embedded!.url, { max: 2 });
  try {
    const { keyring } = await loadMasterKey({ dataDir: config.dataDir });
    const deps = { sql: database.sql, keyring };
    if (args['drop-old']) {
      const left = await sealedUnderOldKeys(deps);
      if (left.length) {
        for (const l of left) console.log(`still sealed under an old key: ${l.column} (${l.count})${l.unlisted ? ' — a column the rotation does not know: add it to SEALED_COLUMNS' : ''}`);
        console.log('not dropping the old keys: run `npm run rotate-master-key` first');
        exitCode = 1;
      } else if (fromEnv) {
        console.log(`Nothing needs the old keys any more: remove COFFER_MASTER_KEY_PREVIOUS and restart every Coffer process.`);
      } else {
        await writeKeyFile(config.dataDir, [keyring.current]);
        console.log(`Kept only master key version ${keyring.current.version} in ${keyFile}; restart every Coffer process.`);
      }
    } else {
      if (keyring.versions.length < 2) console.log(`Only master key version ${keyring.current.version} is loaded; checking that everything is sealed under it (add a new key with --add-key).`);
      const started = Date.now();
      const done = await rotateMasterKey(deps, {
        batchSize,
        pauseMs,
        onPage: (p) => { if (p.resealed) console.log(`${p.table}.${p.column}: ${p.resealed} re-sealed`); },
      });
      for (const d of done) console.log(`${d.table}.${d.column}: ${d.resealed} re-sealed, ${d.current} already under version ${keyring.current.version}`);
      const left = await sealedUnderOldKeys(deps);
      for (const l of left) console.log(`still sealed under an old key: ${l.column} (${l.count})${l.unlisted ? ' — a column the rotation does not know: add it to SEALED_COLUMNS' : ''}`);
      console.log(left.length ? 'rotation incomplete' : `rotation complete in ${((Date.now() - started) / 1000).toFixed(1)}s: everything is sealed under master key version ${keyring.current.version}; \`npm run rotate-master-key -- --drop-old\` forgets the old keys`);
      exitCode = left.length ? 1 : 0;
    }
  } finally {
    await database.close();
  }
} catch (err) {
  console.error('rotate-master-key failed:', err);
  exitCode = 2;
} finally {
  await embedded?.stop();
}
process.exit(exitCode);
