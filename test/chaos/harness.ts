// The crash series: backups, restores and exports run by a real worker process
// (`node api/server.ts --role worker`) that is SIGKILLed at a random moment of each, restarted, and
// left to finish. After each one: the backup's snapshot equals the emulator's state byte for byte,
// a restore put exactly the snapshot into Dropbox, an export's archive holds exactly the snapshot;
// every job ran to its end once (one run per backup asked for, the same run resumed); the
// whole-repository check (`npm run check`'s code) finds every referenced block and pack. At the end,
// after garbage collection, `npm run check -- --read-data` finds the repository sound and no block
// or pack is left unreferenced.
//
// The moments are drawn from a seeded generator; the seed is printed so that a failure can be
// replayed (CHAOS_SEED). What a production worker does every minute (scheduler: resume runs whose
// worker died; recovery sweep: re-enqueue orphaned restores and exports) the harness does every
// second, with the same functions, so a series takes minutes instead of hours. A job a worker had
// picked up but not yet recorded when it died is left to pg-boss's heartbeat supervision (the
// restarted worker's, every minute), as in production: such a kill costs a minute or two.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import yauzl from 'yauzl';
import { systemClock } from '../../api/clock.ts';
import type { AppDeps } from '../../api/deps.ts';
import { requestBackup } from '../../workers/backup/request.ts';
import { assertRepositoryConsistent } from '../helpers/repository-consistency.ts';
import { recoverySweepJob } from '../../workers/jobs/recovery.ts';
import { sweepAccount } from '../../workers/jobs/retention.ts';
import { schedulerJob } from '../../workers/jobs/scheduler.ts';
import { startQueue } from '../../workers/queue.ts';
import { checkRepository } from '../../workers/recovery/repository-check.ts';
import { startBackupFixture, type BackupFixture } from '../helpers/backup-fixture.ts';
import type { Member } from '../dropbox-emulator/state.ts';
import { latestRevision } from '../dropbox-emulator/state.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVER = fileURLToPath(new URL('../../api/server.ts', import.meta.url));
const CHECK = fileURLToPath(new URL('../../scripts/check.ts', import.meta.url));

export interface ChaosOptions {
  seed: number;
  backups: number;
  restores: number;
  exports: number;
  /** Files in the member's Dropbox before the first backup. */
  files?: number;
  /** Files of 6 MiB (several blocks each) among them. */
  bigFiles?: number;
  /** Added latency of every emulator call (ms), so that a job lasts long enough to be hit. */
  latencyMs?: number;
  /** Kills land uniformly in [0, killWithinMs) after the job is asked for. */
  killWithinMs?: number;
}

/** mulberry32: small, seedable, good enough to spread kill moments. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

export function chaosSeed(): number {
  const fromEnv = process.env.CHAOS_SEED;
  return fromEnv ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Worker {
  child: ChildProcess;
  output: string[];
}

/** Files of a namespace: path_lower → bytes. */
function filesOf(f: BackupFixture, nsId: string, under = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const prefix = under.toLowerCase();
  for (const e of f.emu.state.namespace(nsId).tree.entries.values()) {
    if (e.kind !== 'file') continue;
    if (prefix ? !e.pathLower.startsWith(prefix + '/') : e.pathLower.startsWith('/restored ')) continue;
    out.set(e.pathLower.slice(prefix.length), latestRevision(e).bytes);
  }
  return out;
}

async function unzip(buf: Buffer): Promise<Map<string, Buffer>> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(buf, { lazyEntries: true }, (err, z) => (err ? reject(err) : resolve(z!))));
  const out = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      if (entry.fileName.endsWith('/')) return zip.readEntry();
      zip.openReadStream(entry, (err, stream) => {
        if (err) return reject(err);
        const chunks: Buffer[] = [];
        stream!.on('data', (c: Buffer) => chunks.push(c));
        stream!.on('end', () => {
          out.set(entry.fileName, Buffer.concat(chunks));
          zip.readEntry();
        });
        stream!.on('error', reject);
      });
    });
    zip.on('end', () => resolve());
    zip.on('error', reject);
    zip.readEntry();
  });
  return out;
}

/** Same paths (case-insensitively: archives and restores keep the display case) and the same bytes. */
function sameFiles(t: Test, got: Map<string, Buffer>, expected: Map<string, Buffer>, label: string): void {
  const lower = new Map([...got].map(([k, v]) => [k.toLowerCase(), v]));
  t.same([...lower.keys()].sort(), [...expected.keys()].sort(), `${label}: exactly the snapshot's files`);
  let differ = 0;
  for (const [p, bytes] of expected) if (!lower.get(p)?.equals(bytes)) differ++;
  t.equal(differ, 0, `${label}: every file byte for byte`);
}

export async function runChaos(t: Test, opts: ChaosOptions): Promise<void> {
  const random = seeded(opts.seed);
  const killWithin = opts.killWithinMs ?? 3_000;
  t.comment(`chaos seed ${opts.seed} (replay: CHAOS_SEED=${opts.seed}): ${opts.backups} backups, ${opts.restores} restores, ${opts.exports} exports`);

  const masterKey = randomBytes(32);
  const f = await startBackupFixture(t, { masterKey });
  const bob = f.emu.state.addMember({ email: 'bob@coffer-emu.test', givenName: 'Bob', surname: 'Builder' });
  const ns = bob.homeNsId;
  const files = opts.files ?? 600;
  for (let i = 0; i < files; i++) f.emu.state.putFile(bob, `/d${i % 20}/f${i}.txt`, `file ${i} `.repeat(1 + Math.floor(random() * 2000)));
  for (let i = 0; i < (opts.bigFiles ?? 2); i++) f.emu.state.putFile(bob, `/big/${i}.bin`, randomBytes(6 * 1024 * 1024));
  f.emu.faults.latencyMs = opts.latencyMs ?? 10;
  const entityId = await f.memberEntity(bob);
  // Only the backups the series asks for: the worker's own scheduler must not add one.
  await f.app.deps.sql`update entities set next_backup_at = now() + interval '30 days' where id = ${entityId}`;

  const boss = await startQueue({ connectionString: f.app.database.url, runsWorkers: false, onError: () => {} });
  t.teardown(() => boss.stop({ graceful: false }));
  // The API (jobs it creates are enqueued here) and the harness's ticks share this queue.
  f.app.deps.boss = boss;
  const tickDeps = (): AppDeps => ({ ...f.app.deps, boss, clock: systemClock });
  const { sql } = f.app.deps;
  /** The whole-repository check (`npm run check`'s code) after each job: what is referenced exists. */
  const consistent = async (label: string) => {
    const { problems } = await checkRepository(tickDeps(), f.accountId);
    t.same(problems, [], `${label}: the repository check finds no problem`);
  };
  const api = async (method: string, path: string, body?: unknown) => {
    f.app.clock.set(new Date());
    return f.app.request(method, path, { key: f.account.key, body });
  };

  let worker: Worker | undefined;
  const workers = new Set<ChildProcess>();
  t.teardown(() => {
    for (const c of workers) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  const startWorker = async (): Promise<Worker> => {
    const child = spawn(process.execPath, [SERVER, '--role', 'worker'], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: f.app.database.url,
        COFFER_DROPBOX_API_URL: f.emu.url,
        COFFER_MASTER_KEY: masterKey.toString('base64'),
        COFFER_DATA_DIR: f.dataDir,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    workers.add(child);
    const output: string[] = [];
    const keep = (b: Buffer) => {
      output.push(b.toString());
      if (output.length > 200) output.shift();
    };
    child.stderr!.on('data', keep);
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`worker exited early (${code}):\n${output.join('')}`)));
      child.stdout!.on('data', (b: Buffer) => {
        keep(b);
        if (b.toString().includes('Coffer workers running')) resolve();
      });
    });
    return { child, output };
  };
  const killWorker = async () => {
    const w = worker!;
    w.child.kill('SIGKILL');
    if (w.child.exitCode === null && w.child.signalCode === null) await new Promise((r) => w.child.once('exit', r));
  };
  /** Waits until `done` holds, ticking the scheduler and the recovery sweep every second. */
  const untilDone = async (what: string, done: () => Promise<boolean>, ms = 300_000) => {
    const end = Date.now() + ms;
    let ticks = 0;
    while (Date.now() < end) {
      if (await done()) return;
      await sleep(250);
      if (++ticks % 4 === 0) {
        await schedulerJob(tickDeps());
        await recoverySweepJob(tickDeps());
      }
    }
    throw new Error(`timed out waiting for ${what}; the worker said:\n${worker?.output.join('') ?? ''}`);
  };
  const landed = { before: 0, during: 0, after: 0 };
  /** Kills the worker at a random moment; `where` says what the job had done by then. */
  const killAt = async (label: string, where: () => Promise<{ phase: 'before' | 'during' | 'after'; detail: string }>) => {
    const delay = Math.floor(random() * killWithin);
    await sleep(delay);
    await killWorker();
    const at = await where();
    landed[at.phase]++;
    t.comment(`${label}: SIGKILL after ${delay} ms, ${at.phase} the job (${at.detail})`);
    worker = await startWorker();
  };
  const jobAt = (id: string) => async () => {
    const [j] = await sql<{ state: string; items_done: number; items_total: number }[]>`
      select state, items_done, items_total from jobs where id = ${id}`;
    const phase = j!.state === 'pending' ? 'before' : j!.state === 'in_progress' ? 'during' : 'after';
    return { phase, detail: `${j!.state}, ${j!.items_done} of ${j!.items_total} items done` } as const;
  };

  worker = await startWorker();
  let lastRunId = '';
  let snapshotFiles = new Map<string, Buffer>();

  for (let i = 1; i <= opts.backups; i++) {
    const label = `backup ${i}/${opts.backups}`;
    if (i > 1) mutate(f, bob, random, i);
    const expected = f.dropboxState(ns);
    for (const p of [...expected.keys()]) if (p.startsWith('/restored ')) expected.delete(p);
    await f.app.deps.db.transaction((tx) => requestBackup({ boss }, tx, { accountId: f.accountId, entityId, reason: 'manual' }));
    await killAt(label, async () => {
      const [r] = await sql<{ n: number; state: string | null; pages: number | null }[]>`
        select (select count(*)::int from backup_runs where entity_id = ${entityId}) as n, state, pages
        from (select 1) x left join lateral (select state, pages from backup_runs where entity_id = ${entityId} order by id desc limit 1) r on true`;
      if (r!.n < i) return { phase: 'before', detail: 'no run yet' };
      return { phase: r!.state === 'running' ? 'during' : 'after', detail: `run ${r!.state}, ${r!.pages} page(s) committed` };
    });
    await untilDone(`${label} to end`, async () => {
      const [r] = await sql<{ n: number; running: number }[]>`
        select count(*)::int as n, count(*) filter (where state = 'running')::int as running from backup_runs where entity_id = ${entityId}`;
      return r!.n === i && r!.running === 0;
    });
    const [run] = await sql<{ id: string; state: string; resumes: number }[]>`
      select id, state, resumes from backup_runs where entity_id = ${entityId} order by id desc limit 1`;
    t.equal(run!.state, 'succeeded', `${label}: succeeded (resumed ${run!.resumes} time(s))`);
    const [count] = await sql<{ n: number }[]>`select count(*)::int as n from backup_runs where entity_id = ${entityId}`;
    t.equal(count!.n, i, `${label}: one run for one backup asked for`);
    await f.assertSnapshot(t, entityId, run!.id, expected, label);
    await consistent(label);
    lastRunId = run!.id;
    snapshotFiles = new Map([...expected].filter(([, e]) => e.kind === 'file').map(([p, e]) => [p, e.bytes!]));
  }
  if (!lastRunId) throw new Error('the series needs at least one backup');

  const jobDone = (id: string) => async () => {
    const [j] = await sql<{ state: string }[]>`select state from jobs where id = ${id}`;
    return j!.state !== 'pending' && j!.state !== 'in_progress';
  };

  for (let i = 1; i <= opts.restores; i++) {
    const label = `restore ${i}/${opts.restores}`;
    // The non-destructive destination is named after the second the restore was asked in.
    await sleep(1_000);
    const res = await api('POST', '/v1/restores', { source: { snapshot_id: lastRunId }, destination: { mode: 'non_destructive' } });
    if (res.status !== 202) throw new Error(`${label}: ${res.status} ${res.text}`);
    await killAt(label, jobAt(res.body.id));
    await untilDone(`${label} to end`, jobDone(res.body.id));
    const job = (await api('GET', `/v1/jobs/${res.body.id}`)).body;
    t.equal(job.state, 'succeeded', `${label}: succeeded`);
    t.equal(job.items_failed, 0, `${label}: no item failed`);
    t.equal(job.items_done, job.items_total, `${label}: every item counted once`);
    sameFiles(t, filesOf(f, ns, job.destination.path), snapshotFiles, label);
    await consistent(label);
  }

  for (let i = 1; i <= opts.exports; i++) {
    const label = `export ${i}/${opts.exports}`;
    const res = await api('POST', '/v1/exports', { source: { snapshot_id: lastRunId }, destination: { type: 'download' } });
    if (res.status !== 202) throw new Error(`${label}: ${res.status} ${res.text}`);
    await killAt(label, jobAt(res.body.id));
    await untilDone(`${label} to end`, jobDone(res.body.id));
    const job = (await api('GET', `/v1/jobs/${res.body.id}`)).body;
    t.equal(job.state, 'succeeded', `${label}: succeeded`);
    t.equal(job.items_done, job.items_total, `${label}: every item counted once`);
    const download = await fetch(`${f.app.url}/v1/jobs/${job.id}/download`, { headers: { authorization: `Bearer ${f.account.key}` } });
    t.equal(download.status, 200, `${label}: downloadable`);
    const archive = await unzip(Buffer.from(await download.arrayBuffer()));
    sameFiles(t, new Map([...archive].map(([p, b]) => [`/${p}`, b])), snapshotFiles, label);
    await consistent(label);
  }

  t.comment(`kills: ${landed.before} before a job started, ${landed.during} during one, ${landed.after} after it ended`);
  // The end: stop the worker, collect garbage, and check the whole repository.
  await killWorker();
  const swept = await sweepAccount(tickDeps(), f.accountId);
  t.equal(swept.mode, 'exclusive', 'garbage collection ran with no backup running');
  await assertRepositoryConsistent(t, f.app.deps, f.accountId);

  const check = await runCheck({
    DATABASE_URL: f.app.database.url, COFFER_MASTER_KEY: masterKey.toString('base64'), COFFER_DATA_DIR: f.dataDir,
  }, f.accountId);
  t.equal(check.code, 0, `npm run check -- --read-data --grace-hours 0: ${check.out.trim().split('\n').pop()}`);
  if (check.code !== 0) t.comment(check.out);
}

/** Changes some of the member's files between backups: edits, additions, deletions. */
function mutate(f: BackupFixture, bob: Member, random: () => number, round: number): void {
  const paths = [...f.emu.state.namespace(bob.homeNsId).tree.entries.values()]
    .filter((e) => e.kind === 'file' && !e.pathLower.startsWith('/restored '))
    .map((e) => e.pathDisplay);
  for (let i = 0; i < 60; i++) {
    const p = paths[Math.floor(random() * paths.length)]!;
    f.emu.state.putFile(bob, p, `edited in round ${round} ${i} `.repeat(1 + Math.floor(random() * 2000)));
  }
  for (let i = 0; i < 30; i++) f.emu.state.putFile(bob, `/new${round}/f${i}.txt`, `new in round ${round}: ${i} `.repeat(1 + Math.floor(random() * 500)));
  for (let i = 0; i < 10; i++) {
    const p = paths[Math.floor(random() * paths.length)]!;
    if (f.emu.state.getEntry(bob, p)?.kind === 'file') f.emu.state.delete(bob, p);
  }
  if (round % 5 === 0) f.emu.state.putFile(bob, `/big/r${round}.bin`, randomBytes(5 * 1024 * 1024));
}

/** `npm run check` as an operator runs it, against the series' database and data directory. */
async function runCheck(env: Record<string, string>, accountId: string): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [CHECK, '--account', accountId, '--read-data', '--grace-hours', '0'], {
    cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b));
  child.stderr!.on('data', (b: Buffer) => (out += b));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return { code, out };
}
