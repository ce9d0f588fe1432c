// Signals reach the server however it is started. npm runs a script through `sh -c`; without
// `exec` the shell is the process npm signals, and a SIGTERM to npm (what Docker, systemd and
// process managers send) killed the shell and left the server running, orphaned, undrained, with
// its PostgreSQL still up. The scripts exec the server, so npm's signal reaches it.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test('SIGTERM to `npm start` drains and stops the server and its embedded PostgreSQL', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'coffer-npm-start-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const npm = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', COFFER_DATA_DIR: dataDir, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  npm.stdout!.on('data', (c: Buffer) => (out += c));
  npm.stderr!.on('data', (c: Buffer) => (out += c));
  const exited = new Promise<number | null>((r) => npm.once('exit', (code, signal) => r(code ?? (signal ? -1 : null))));
  t.teardown(() => { if (npm.exitCode === null) npm.kill('SIGKILL'); });

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not serve:\n${out}`)), 90_000);
    npm.stdout!.on('data', () => {
      const m = /Coffer API: (http:\/\/[^/\s]+)\/v1/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`npm start exited with ${code}:\n${out}`)); });
  });
  t.equal((await fetch(`${url}/healthz`)).status, 200);
  const pidFile = join(dataDir, 'pg', 'data', 'postmaster.pid');
  t.ok(existsSync(pidFile), 'the embedded PostgreSQL runs');
  const postgresPid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  t.ok(alive(postgresPid));

  npm.kill('SIGTERM');
  t.equal(await exited, 0, 'npm exits with the server\'s code after a graceful shutdown');
  t.match(out, /shutting down/, 'the server itself received the signal and drained');
  await t.rejects(fetch(`${url}/healthz`), 'the server no longer listens');
  t.notOk(existsSync(pidFile), 'PostgreSQL stopped with it');
  t.notOk(alive(postgresPid), 'no PostgreSQL process is left');
});
