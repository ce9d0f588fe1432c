// `npm run bench`: one embedded PostgreSQL (default durability settings), a migrated template
// database, then every test/bench/*.ts file in turn (each prints its own figures). Not part of npm test.
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestCluster } from './test-cluster.ts';

const only = process.argv.slice(2);
const cluster = await startTestCluster({ name: 'coffer-bench', template: 'coffer_bench_template', settings: { max_connections: '200' } });
let code = 0;
try {
  const benchDir = new URL('../test/bench/', import.meta.url);
  const files = (await readdir(benchDir)).filter((f) => f.endsWith('.ts') && (only.length === 0 || only.some((o) => f.includes(o)))).sort();
  for (const file of files) {
    console.log(`\n=== ${file} ===`);
    const child = spawn(process.execPath, ['--expose-gc', join(benchDir.pathname, file)], {
      stdio: 'inherit',
      env: { ...process.env, COFFER_TEST_PG_URL: cluster.url, COFFER_TEST_TEMPLATE: cluster.template },
    });
    const exit = await new Promise<number>((resolve) => child.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
    if (exit !== 0) code = exit;
  }
} catch (err) {
  console.error(err);
  code = 1;
} finally {
  await cluster.stop();
}
process.exit(code);
