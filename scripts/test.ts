// `npm test`'s last step: one embedded PostgreSQL for the whole run (scripts/test-cluster.ts), then
// tap. Arguments are passed to tap, so `npm test -- test/api/accounts.test.ts` runs one file.
import { spawn } from 'node:child_process';
import { startTestCluster } from './test-cluster.ts';

// Durability buys nothing in a throw-away test cluster.
const cluster = await startTestCluster({
  name: 'coffer-test',
  template: 'coffer_template',
  settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '400' },
});
let code = 1;
try {
  const tap = spawn('tap', process.argv.slice(2), {
    stdio: 'inherit',
    env: { ...process.env, COFFER_TEST_PG_URL: cluster.url, COFFER_TEST_TEMPLATE: cluster.template },
  });
  // Interrupted: stop tap, then fall through to stopping the database (it runs detached).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => tap.kill(signal));
  code = await new Promise<number>((resolve) => tap.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
} finally {
  await cluster.stop();
}
process.exit(code);
