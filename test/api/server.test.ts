// The real entry point as a user runs it: configuration errors, start on DATABASE_URL, start on
// embedded defaults, reuse of the data on a second start, clean shutdown, and recovery from a
// killed run.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshDatabase } from '../helpers/db.ts';
import { parseMime } from '../helpers/mime.ts';
import { shippedMigrationCount } from '../../db/client.ts';

const SERVER = fileURLToPath(new URL('../../api/server.ts', import.meta.url));

function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', PORT: '0', ...extra };
  return env;
}

interface Running {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  output: () => string;
}

function start(env: NodeJS.ProcessEnv, args: string[] = []): Promise<Running> {
  const child = spawn(process.execPath, [SERVER, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c));
  child.stderr!.on('data', (c: Buffer) => (out += c));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 60_000);
    child.stdout!.on('data', () => {
      const m = /Coffer API: (http:\/\/[^/\s]+)\/v1/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, exited, output: () => out });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
}

/** The activation token of the first .eml file written into the outbox (sending does not hold up the answer). */
async function activationTokenFromOutbox(outbox: string): Promise<string> {
  for (let waited = 0; waited < 15_000; waited += 100) {
    const files = existsSync(outbox) ? (await readdir(outbox)).filter((f) => f.endsWith('.eml')) : [];
    if (files.length) {
      const text = parseMime(await readFile(join(outbox, files[0]!), 'utf8')).text ?? '';
      const token = /\/v1\/accounts\/activate\?token=(cfa_[0-9A-Za-z]{32})/.exec(text)?.[1];
      if (token) return token;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no activation email in ${outbox}`);
}

function runToExit(env: NodeJS.ProcessEnv, args: string[] = []): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [SERVER, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c));
  return new Promise((r) => child.once('exit', (code) => r({ code, stderr })));
}

t.test('bad configuration stops start-up with one line naming the variable', async (t) => {
  const cases: [Record<string, string>, string[], RegExp][] = [
    [{ PORT: 'eighty' }, [], /^coffer: configuration error: PORT: must be a whole number, got "eighty"\n$/],
    [{ PORT: '70000' }, [], /PORT: must be between 0 and 65535/],
    [{ COFFER_DEFAULT_REGION: 'mars-1' }, [], /COFFER_DEFAULT_REGION: unknown region "mars-1"/],
    [{ DATABASE_URL: 'mysql://x' }, [], /DATABASE_URL: must use postgres: or postgresql:/],
    [{ COFFER_MASTER_KEY: 'c2hvcnQ=' }, [], /COFFER_MASTER_KEY: must be 32 bytes/],
    [{}, ['--role', 'api'], /DATABASE_URL: is required with --role api/],
  ];
  for (const [vars, args, expected] of cases) {
    const { code, stderr } = await runToExit(baseEnv(vars), args);
    t.equal(code, 2, `exit code for ${JSON.stringify(vars)} ${args.join(' ')}`);
    t.match(stderr, expected);
    t.equal(stderr.trim().split('\n').length, 1, 'one line');
  }
});

t.test('with DATABASE_URL: serves, is ready, and stops cleanly on SIGTERM', async (t) => {
  const db = await freshDatabase(t);
  const server = await start(baseEnv({ DATABASE_URL: db.url, NODE_ENV: 'production', COFFER_BILLING_ALLOW_SANDBOX: 'true' }));
  const warning = server.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((l) => /sandbox/.test(l.msg));
  t.match(warning, { level: 40, msg: /^payment provider is the sandbox: every valid card number is charged "successfully" and no money moves \(NODE_ENV=production;/ }, 'the sandbox is logged at warn level at start-up');
  const ready = await fetch(server.url + '/readyz');
  t.equal(ready.status, 200);
  t.same(await ready.json(), { status: 'ready', database: 'ok', migrations: { applied: shippedMigrationCount(), expected: shippedMigrationCount() } });
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0, 'exit code 0 after a graceful shutdown');
});

t.test('API and worker roles run as separate processes on one database', async (t) => {
  const db = await freshDatabase(t);
  const apiProcess = await start(baseEnv({ DATABASE_URL: db.url, NODE_ENV: 'development' }), ['--role', 'api']);
  t.notMatch(apiProcess.output(), /sandbox/, 'no sandbox warning in development');
  const worker = spawn(process.execPath, [SERVER, '--role', 'worker'], { env: baseEnv({ DATABASE_URL: db.url }), stdio: ['ignore', 'pipe', 'pipe'] });
  let workerOut = '';
  worker.stdout!.on('data', (c: Buffer) => (workerOut += c));
  const workerExit = new Promise<number | null>((r) => worker.once('exit', (c) => r(c)));
  const deadline = Date.now() + 30_000;
  while (!workerOut.includes('Coffer workers running') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  t.match(workerOut, /Coffer workers running/);
  t.equal((await fetch(apiProcess.url + '/healthz')).status, 200);
  apiProcess.child.kill('SIGTERM');
  worker.kill('SIGINT');
  t.equal(await apiProcess.exited, 0);
  t.equal(await workerExit, 0);
});

t.test('embedded defaults: first start, reuse on the second, recovery after a kill', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'coffer-data-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const env = baseEnv({ COFFER_DATA_DIR: dataDir });

  const first = await start(env);
  const asked = await fetch(first.url + '/v1/accounts', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Kept', email: 'kept@example.test', password: 'correct horse battery staple', region: 'eu-west-1' }),
  });
  t.equal(asked.status, 202);
  // Without SMTP_URL the activation email is an .eml file in the outbox, as the README says.
  const token = await activationTokenFromOutbox(join(dataDir, 'outbox'));
  const signup = await fetch(first.url + '/v1/accounts/activate', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }),
  });
  t.equal(signup.status, 201);
  const key = ((await signup.json()) as { api_key: { secret: string } }).api_key.secret;
  t.ok(existsSync(join(dataDir, 'master.key')), 'a master key was generated into the data dir');
  first.child.kill('SIGINT');
  t.equal(await first.exited, 0);
  t.notOk(existsSync(join(dataDir, 'pg', 'data', 'postmaster.pid')), 'no stale lock after a clean stop');

  const second = await start(env);
  const me = await fetch(second.url + '/v1/me', { headers: { authorization: `Bearer ${key}` } });
  t.equal(me.status, 200, 'the second start reuses the data');
  second.child.kill('SIGKILL');
  await second.exited;
  t.ok(existsSync(join(dataDir, 'pg', 'data', 'postmaster.pid')), 'a killed run leaves its database running');

  const third = await start(env);
  t.match(third.output(), /left running by an earlier run/);
  const again = await fetch(third.url + '/v1/me', { headers: { authorization: `Bearer ${key}` } });
  t.equal(again.status, 200, 'the next start recovers');
  third.child.kill('SIGTERM');
  t.equal(await third.exited, 0);
});
