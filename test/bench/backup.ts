// Backup engine benchmark (run by `npm run bench`, not by npm test).
// (a) first backup of 20,000 × 10 KB files, (b) first backup of 20 × 100 MiB files, against the
// Dropbox emulator running in its own process; then an incremental run with no change and one with
// 1% of the small files changed. Prints files/s, MiB/s, Dropbox calls, pack PUTs and peak RSS, and
// each throughput as a ratio of the in-process ceiling (SHA-256 + AES-256-GCM over the same bytes),
// the CPU the engine process used (main thread + encoder threads + libuv) and how busy the whole
// machine was (the emulator and PostgreSQL share its cores). Where `restic` is on the PATH, it backs
// the same files up from local disk and Coffer's times are printed over restic's. BENCH_WINDOWS=1
// prints each phase's CLOCK_MONOTONIC window for scripts/cpuprofile-window.ts (CONTRIBUTING.md).
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runBackup, type BackupOutcome } from '../../workers/backup/engine.ts';
import type { BlobStore } from '../../workers/storage/index.ts';
import { zstdBackend } from '../../workers/storage/zstd.ts';
import { benchAccount, benchEnvironment } from './fixtures/environment.ts';
import { smallContent, smallPath } from './fixtures/content.ts';
import { availableParallelism } from 'node:os';

const SMALL = Number(process.env.BENCH_SMALL ?? 20_000);
const LARGE = Number(process.env.BENCH_LARGE ?? 20);
const LARGE_SIZE = 100 * 1024 * 1024;
const MiB = 1024 * 1024;

const env = await benchEnvironment(SMALL, LARGE, LARGE_SIZE);
const { dataDir, emulator: info } = env;
console.log(`emulator seeded in ${env.seedSeconds.toFixed(1)} s: ${SMALL} × 10 KB, ${LARGE} × 100 MiB; zstd by ${zstdBackend()}`);

const { deps, accountId, entity } = await benchAccount(env);
const smallEntity = await entity(info.small);
const largeEntity = await entity(info.large);

const control = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${info.url}/_emulator/${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return res.json() as Promise<Record<string, unknown>>;
};

let puts = 0;
const counting = (store: BlobStore): BlobStore => {
  const put = store.put.bind(store);
  return Object.assign(Object.create(Object.getPrototypeOf(store) as object) as BlobStore, store, {
    put: (key: string, body: Buffer, size?: number) => {
      puts++;
      return put(key, body, size);
    },
    get: store.get.bind(store), getRange: store.getRange.bind(store), getStream: store.getStream.bind(store),
    head: store.head.bind(store), delete: store.delete.bind(store), list: store.list.bind(store),
  });
};

/** Jiffies the whole machine spent busy (not idle, not waiting on I/O); Linux only, else null. */
function machineBusy(): number | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return f.reduce((a, b) => a + b, 0) - f[3]! - f[4]!;
  } catch {
    return null;
  }
}

interface Figures {
  phase: string;
  seconds: number;
  files: number;
  bytes: number;
  calls: Record<string, number>;
  puts: number;
  peakRssMiB: number;
  outcome: string;
  /** CPU-seconds of this process (engine: main thread, encoder threads, libuv) during the phase. */
  engineCpu: number;
}
const results: Figures[] = [];

async function phase(name: string, entityId: string, files: number, bytes: number, concurrency?: number): Promise<Figures> {
  await control('POST', 'reset-counters');
  puts = 0;
  (globalThis as { gc?: () => void }).gc?.();
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 25);
  const busy0 = machineBusy();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const mark0 = process.hrtime.bigint() / 1000n;
  const outcome: BackupOutcome = await runBackup(deps, { accountId, entityId, reason: 'manual' }, { wrapStore: counting, ...(concurrency ? { concurrency } : {}) });
  const seconds = (performance.now() - t0) / 1000;
  if (process.env.BENCH_WINDOWS) console.log(`window ${name}: ${mark0} ${process.hrtime.bigint() / 1000n}`);
  const cpu = process.cpuUsage(cpu0);
  const busy1 = machineBusy();
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const counters = (await control('GET', 'counters')) as { routes: Record<string, number> };
  const f: Figures = { phase: name, seconds, files, bytes, calls: counters.routes, puts, peakRssMiB: peak / MiB, outcome: outcome.outcome, engineCpu: (cpu.user + cpu.system) / 1e6 };
  results.push(f);
  const total = Object.values(f.calls).reduce((a, b) => a + b, 0);
  const machine = busy0 !== null && busy1 !== null ? `, machine busy ${((busy1 - busy0) / 100).toFixed(1)} of ${(seconds * availableParallelism()).toFixed(1)} CPU-s` : '';
  console.log(`${name.padEnd(34)} ${seconds.toFixed(2).padStart(7)} s  ${files ? (files / seconds).toFixed(0).padStart(6) + ' files/s' : ''.padStart(14)}  ${bytes ? (bytes / MiB / seconds).toFixed(1).padStart(6) + ' MiB/s' : ''.padStart(12)}  calls ${String(total).padStart(6)} ${JSON.stringify(f.calls)}  PUTs ${puts}  peak RSS ${f.peakRssMiB.toFixed(0)} MiB  ${f.outcome}`);
  console.log(`${''.padEnd(34)} CPU: engine ${(cpu.user / 1e6).toFixed(1)} user + ${(cpu.system / 1e6).toFixed(1)} sys CPU-s${machine}`);
  return f;
}

// Ceilings: SHA-256 + AES-256-GCM in process over the same bytes (one cipher per file / per 4 MiB block).
function ceilingSmall(): { filesPerSec: number; mibPerSec: number } {
  const key = randomBytes(32);
  const bufs = Array.from({ length: SMALL }, (_, i) => smallContent(i));
  const t0 = performance.now();
  for (const b of bufs) {
    const h = createHash('sha256').update(b).digest();
    const c = createCipheriv('aes-256-gcm', key, randomBytes(12));
    c.setAAD(h);
    c.update(b);
    c.final();
    c.getAuthTag();
  }
  const s = (performance.now() - t0) / 1000;
  return { filesPerSec: SMALL / s, mibPerSec: (SMALL * 10_240) / MiB / s };
}

function ceilingLarge(): number {
  const key = randomBytes(32);
  const file = randomBytes(LARGE_SIZE);
  const t0 = performance.now();
  for (let n = 0; n < LARGE; n++) {
    for (let off = 0; off < file.length; off += 4 * MiB) {
      const block = file.subarray(off, off + 4 * MiB);
      const h = createHash('sha256').update(block).digest();
      const c = createCipheriv('aes-256-gcm', key, randomBytes(12));
      c.setAAD(h);
      c.update(block);
      c.final();
    }
  }
  return (LARGE * LARGE_SIZE) / MiB / ((performance.now() - t0) / 1000);
}

/** CPU-seconds used by this process's waited-for children (Linux: cutime + cstime), else null. */
function childrenCpu(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return null;
  }
}

interface ResticRun {
  seconds: number;
  cpu: number | null;
}

/** restic over the same files written to local disk: first backup of (a), the unchanged re-run, then (b). */
function resticTimes(): { version: string; first: ResticRun; unchanged: ResticRun; large: ResticRun } | null {
  const probe = spawnSync('restic', ['version'], { encoding: 'utf8' });
  if (probe.status !== 0) return null;
  const root = join(dataDir, 'restic-src');
  for (let i = 0; i < SMALL; i++) {
    const path = join(root, 'small', smallPath(i));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, smallContent(i));
  }
  mkdirSync(join(root, 'large'), { recursive: true });
  for (let i = 0; i < LARGE; i++) writeFileSync(join(root, 'large', `clip-${i}.mp4`), randomBytes(LARGE_SIZE));
  spawnSync('sync');
  const env = { ...process.env, RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: join(dataDir, 'restic-repo') };
  const run = (args: string[]): ResticRun => {
    const cpu0 = childrenCpu();
    const t0 = performance.now();
    const r = spawnSync('restic', ['--quiet', ...args], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`restic ${args.join(' ')}: ${r.stderr}`);
    const cpu1 = childrenCpu();
    return { seconds: (performance.now() - t0) / 1000, cpu: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null };
  };
  run(['init']);
  const first = run(['backup', join(root, 'small')]);
  const unchanged = run(['backup', join(root, 'small')]);
  const large = run(['backup', join(root, 'large')]);
  return { version: probe.stdout.trim().split(' ').slice(0, 2).join(' '), first, unchanged, large };
}

try {
  console.log('');
  const a = await phase(`(a) first: ${SMALL} × 10 KB`, smallEntity, SMALL, SMALL * 10_240);
  await phase('(a) incremental, no change', smallEntity, 0, 0);
  const changed = Math.round(SMALL / 100);
  for (let i = 0; i < changed; i++) {
    const n = i * 100;
    await control('POST', 'files', { member_email: info.small.email, path: smallPath(n), content_base64: smallContent(n, ' v2').toString('base64') });
  }
  const inc = await phase(`(a) incremental, 1% changed (${changed})`, smallEntity, changed, changed * 10_240);
  const unchanged = results.find((r) => r.phase === '(a) incremental, no change')!;
  const b = await phase(`(b) first: ${LARGE} × 100 MiB`, largeEntity, LARGE, LARGE * LARGE_SIZE);
  await phase('(b) incremental, no change', largeEntity, 0, 0);
  const restic = resticTimes();

  const cs = ceilingSmall();
  const cl = ceilingLarge();
  console.log('');
  console.log(`ceiling (in-process SHA-256 + AES-256-GCM): 10 KB files ${cs.filesPerSec.toFixed(0)} files/s (${cs.mibPerSec.toFixed(0)} MiB/s); 4 MiB blocks ${cl.toFixed(0)} MiB/s`);
  console.log(`(a) first backup: ${(a.files / a.seconds).toFixed(0)} files/s = ${((a.files / a.seconds / cs.filesPerSec) * 100).toFixed(1)}% of the ceiling`);
  console.log(`(a) 1% changed:   ${(inc.files / inc.seconds).toFixed(0)} files/s = ${((inc.files / inc.seconds / cs.filesPerSec) * 100).toFixed(1)}% of the ceiling`);
  console.log(`(b) first backup: ${(b.bytes / MiB / b.seconds).toFixed(1)} MiB/s = ${((b.bytes / MiB / b.seconds / cl) * 100).toFixed(1)}% of the ceiling`);
  console.log(`process maxRSS over the whole benchmark: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  if (restic) {
    console.log('');
    console.log(`restic (${restic.version}, same files from local disk, no network, no database):`);
    const cpu = (r: ResticRun) => (r.cpu === null ? '' : ` (${r.cpu.toFixed(1)} CPU-s)`);
    console.log(`  (a) first ${restic.first.seconds.toFixed(2)} s${cpu(restic.first)}, unchanged ${restic.unchanged.seconds.toFixed(2)} s; (b) first ${restic.large.seconds.toFixed(2)} s${cpu(restic.large)}`);
    console.log(`  Coffer / restic: (a) first ${(a.seconds / restic.first.seconds).toFixed(2)}x, (a) unchanged ${(unchanged.seconds / restic.unchanged.seconds).toFixed(2)}x, (b) first ${(b.seconds / restic.large.seconds).toFixed(2)}x (below 1 = Coffer faster)`);
    if (restic.first.cpu) console.log(`  CPU, Coffer's engine / restic: (a) first ${(a.engineCpu / restic.first.cpu).toFixed(2)}x (the emulator and PostgreSQL use the same cores on top)`);
  } else {
    console.log('restic is not on the PATH: no comparison (install it to get one)');
  }
} finally {
  await env.close();
}
