// `npm test`'s last step: one embedded PostgreSQL for the whole run (scripts/test-cluster.ts), then
// tap. Arguments are passed to tap, so `npm test -- test/api/accounts.test.ts` runs one file.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOG_DIR_ENV, describeScan, scanLogDir } from './secret-scan.ts';
import { slowestFiles } from './test-timings.ts';
import { startTestCluster } from './test-cluster.ts';

// Durability buys nothing in a throw-away test cluster.
const cluster = await startTestCluster({
  name: 'coffer-test',
  template: 'coffer_template',
  settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '400' },
});
// Every test process logs into this directory and records the secrets it made there: after tap,
// no log line may contain any of them (scripts/secret-scan.ts).
const logDir = await mkdtemp(join(tmpdir(), 'coffer-test-logs-'));
let code = 1;
const startedMs = Date.now();
try {
  const tap = spawn('tap', process.argv.slice(2), {
    stdio: 'inherit',
    env: { ...process.env, COFFER_TEST_PG_URL: cluster.url, COFFER_TEST_TEMPLATE: cluster.template, [LOG_DIR_ENV]: logDir },
  });
  // Interrupted: stop tap, then fall through to stopping the database (it runs detached).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => tap.kill(signal));
  code = await new Promise<number>((resolve) => tap.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
} finally {
  await cluster.stop();
}
// Where the run's time went, so that a file that grew slow is seen (npm test should stay within a
// few minutes on a 2-core machine: prefer one app and one signed-up account per file).
const slow = await slowestFiles(startedMs, 8).catch(() => []);
if (slow.length > 1) {
  console.log(`# slowest test files of this run (wall time, ${((Date.now() - startedMs) / 1000).toFixed(0)} s in all):`);
  for (const f of slow) console.log(`#   ${(f.ms / 1000).toFixed(1).padStart(6)} s  ${f.file}`);
}
const scanStartedMs = Date.now();
const scan = await scanLogDir(logDir);
for (const line of describeScan(logDir, scan)) console.log(line);
console.log(`# secret scan took ${Date.now() - scanStartedMs} ms`);
if (scan.findings.length) {
  console.log(`# the logs are kept in ${logDir}: a secret reached them (see CONTRIBUTING.md, "Secrets in logs")`);
  code = code || 1;
} else await rm(logDir, { recursive: true, force: true });
process.exit(code);
