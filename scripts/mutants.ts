// `npm run mutants`: do the tests notice when an important behaviour breaks? Each mutant of
// scripts/mutants-table.ts (a file, an exact search string, its replacement) is applied in a
// scratch copy of the repository (the tree without .git and node_modules, node_modules symlinked),
// and the test files it names run there; a mutant is caught when they fail. First, the same test
// files run once unmutated, so a failure is the mutant's and not the suite's.
//   npm run mutants                    every mutant
//   npm run mutants -- --only GC       mutants whose name contains "GC"
//   npm run mutants -- --no-baseline   skip the unmutated run
//   npm run mutants -- --check         only check that the table still matches the code
// Ends with `N caught, M survived`; the exit code is 0 only when nothing survived. A search string
// that is not found exactly once stops the run before anything is tested.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { cp, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MUTANTS, type Mutant } from './mutants-table.ts';

const { values } = parseArgs({ options: { only: { type: 'string' }, 'no-baseline': { type: 'boolean', default: false }, check: { type: 'boolean', default: false } } });
const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const SKIP = new Set(['.git', 'node_modules', '.tap', '.data', 'tmp']);
const TIMEOUT_MS = 15 * 60_000;

const chosen = MUTANTS.filter((m) => !values.only || m.name.toLowerCase().includes(values.only.toLowerCase()));
if (!chosen.length) {
  console.error(`no mutant matches ${JSON.stringify(values.only)}`);
  process.exit(2);
}

// The table must name code that exists, exactly once, and test files that exist.
const problems: string[] = [];
for (const m of chosen) {
  const text = await readFile(join(root, m.file), 'utf8').catch(() => undefined);
  if (text === undefined) problems.push(`${m.name}: ${m.file} does not exist`);
  else {
    const n = text.split(m.search).length - 1;
    if (n !== 1) problems.push(`${m.name}: the search string occurs ${n} times in ${m.file} (must be once): ${JSON.stringify(m.search)}`);
  }
  for (const f of m.tests) if (!(await readFile(join(root, f)).catch(() => undefined))) problems.push(`${m.name}: test file ${f} does not exist`);
}
if (problems.length) {
  for (const p of problems) console.error(`mutants table: ${p}`);
  console.error('Update scripts/mutants-table.ts to the current code.');
  process.exit(2);
}
if (values.check) {
  console.log(`mutants table: ${chosen.length} mutants match the code`);
  process.exit(0);
}

const logs = await mkdtemp(join(tmpdir(), 'coffer-mutants-'));
const nodeModules = await realpath(join(root, 'node_modules'));

/** A copy of the repository with `mutant` applied; returns its directory. */
async function scratch(mutant?: Mutant): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-mutant-'));
  await cp(root, dir, { recursive: true, filter: (src) => !(dirname(src) === root && SKIP.has(basename(src))) });
  await symlink(nodeModules, join(dir, 'node_modules'), 'dir');
  if (mutant) {
    const file = join(dir, mutant.file);
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace(mutant.search, () => mutant.replace));
  }
  return dir;
}

/** Runs test files in `dir` (scripts/test.ts: its own PostgreSQL); resolves with the exit code. */
function runTests(dir: string, files: string[], log: string): Promise<number> {
  return new Promise((resolvePromise) => {
    const out = createWriteStream(log);
    const child = spawn(process.execPath, ['scripts/test.ts', ...files], {
      cwd: dir,
      env: { ...process.env, PATH: `${join(dir, 'node_modules', '.bin')}:${process.env.PATH}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    // A mutant that hangs the tests counts as caught: tap's own timeout would fail them too.
    const timer = setTimeout(() => child.kill('SIGTERM'), TIMEOUT_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      out.end();
      resolvePromise(code ?? (signal ? 1 : 0));
    });
  });
}

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(0)} s`;

if (!values['no-baseline']) {
  const files = [...new Set(chosen.flatMap((m) => m.tests))];
  const started = Date.now();
  const dir = await scratch();
  const log = join(logs, 'baseline.log');
  const code = await runTests(dir, files, log);
  await rm(dir, { recursive: true, force: true });
  if (code !== 0) {
    console.error(`baseline: the unmutated test files fail (${seconds(started)}); see ${log}`);
    process.exit(2);
  }
  console.log(`baseline: ${files.length} test files pass unmutated (${seconds(started)})`);
}

let caught = 0;
const survived: string[] = [];
for (const [i, m] of chosen.entries()) {
  const started = Date.now();
  const dir = await scratch(m);
  const log = join(logs, `${String(i + 1).padStart(2, '0')}.log`);
  const code = await runTests(dir, m.tests, log);
  await rm(dir, { recursive: true, force: true });
  if (code !== 0) {
    caught++;
    console.log(`caught    ${m.name} (${seconds(started)})`);
  } else {
    survived.push(m.name);
    console.log(`SURVIVED  ${m.name} (${seconds(started)}; ${m.file}; ran ${m.tests.join(' ')}; log ${log})`);
  }
}
console.log(`${caught} caught, ${survived.length} survived`);
process.exit(survived.length ? 1 : 0);
