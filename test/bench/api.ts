// API benchmark (run by `npm run bench -- api`, not by npm test): authenticated reads against the
// real server (`node api/server.ts --role api` on the bench database, in its own process) and, as
// the reference, a bare Fastify route in another process, both loaded by autocannon from this one,
// at 1 and 50 connections. Prints req/s, p50/p99 latency and the ratio to the bare route.
// BENCH_API_SECONDS sets each run's length (default 8); the machine is shared, so compare runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import postgres from 'postgres';
import { cpuMicros, freePort, waitFor } from './processes.ts';

const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 8);
const CONNECTIONS = [1, 50];

async function json(url: string, init: RequestInit = {}) {
  const res = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...init.headers } });
  const body = (await res.json()) as any;
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${JSON.stringify(body)}`);
  return { body, headers: res.headers };
}

async function main() {
  const adminUrl = process.env.COFFER_TEST_PG_URL;
  if (!adminUrl) throw new Error('run through `npm run bench -- api`');
  const dbName = `bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { onnotice: () => {}, max: 1 });
  await admin.unsafe(`create database ${dbName} template ${process.env.COFFER_TEST_TEMPLATE}`);
  const dataDir = await mkdtemp(join(tmpdir(), 'coffer-bench-api-'));
  const children: ChildProcess[] = [];
  try {
    const apiPort = await freePort();
    const api = spawn(process.execPath, [fileURLToPath(new URL('../../api/server.ts', import.meta.url)), '--role', 'api'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env, DATABASE_URL: adminUrl.replace(/\/postgres$/, `/${dbName}`), COFFER_DATA_DIR: dataDir, PORT: String(apiPort),
        // The per-key limit stays on (its cost is part of every request) but far above what a run sends.
        COFFER_RATE_LIMIT_PER_MINUTE: '1000000', NODE_ENV: 'test',
      },
    });
    children.push(api);
    const barePort = await freePort();
    const bare = spawn(process.execPath, [fileURLToPath(import.meta.url), 'bare', String(barePort)], { stdio: ['pipe', 'inherit', 'inherit'] });
    children.push(bare);
    const base = `http://127.0.0.1:${apiPort}`;
    await waitFor(`${base}/healthz`, api);
    await waitFor(`http://127.0.0.1:${barePort}/v1/me`, bare);

    // Sign up as a user would: the activation link arrives as an .eml file in the outbox.
    const email = `bench-${randomBytes(3).toString('hex')}@example.test`;
    await json(`${base}/v1/accounts`, { method: 'POST', body: JSON.stringify({ name: 'Bench', email, password: 'correct horse battery staple', region: 'eu-west-1' }) });
    let token: string | undefined;
    for (let i = 0; i < 100 && !token; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const outbox = join(dataDir, 'outbox');
      for (const f of await readdir(outbox).catch(() => [] as string[])) {
        token ??= /token=(cfa_[0-9A-Za-z]{32})/.exec((await readFile(join(outbox, f), 'utf8')).replace(/=\r?\n/g, '').replace(/=3D/g, '='))?.[1];
      }
    }
    if (!token) throw new Error('no activation email');
    const key = (await json(`${base}/v1/accounts/activate`, { method: 'POST', body: JSON.stringify({ token }) })).body.api_key.secret as string;
    const auth = { authorization: `Bearer ${key}` };
    let tagId = '';
    for (let i = 0; i < 20; i++) {
      tagId = (await json(`${base}/v1/tags`, { method: 'POST', headers: auth, body: JSON.stringify({ name: `tag-${i}` }) })).body.id;
    }
    const etag = (await fetch(`${base}/v1/tags/${tagId}`, { headers: auth })).headers.get('etag')!;

    const cases: { name: string; url: string; headers: Record<string, string>; status: number }[] = [
      { name: 'bare Fastify GET /v1/me', url: `http://127.0.0.1:${barePort}/v1/me`, headers: {}, status: 200 },
      { name: 'GET /v1/me', url: `${base}/v1/me`, headers: auth, status: 200 },
      { name: 'GET /v1/tags (20 items)', url: `${base}/v1/tags`, headers: auth, status: 200 },
      { name: 'GET /v1/tags/:id', url: `${base}/v1/tags/${tagId}`, headers: auth, status: 200 },
      { name: 'GET /v1/tags/:id If-None-Match → 304', url: `${base}/v1/tags/${tagId}`, headers: { ...auth, 'if-none-match': etag }, status: 304 },
    ];
    // The machine is shared, so req/s moves with everyone else's load; the CPU the API process and
    // its PostgreSQL backends spend per request moves far less.
    const db = postgres(adminUrl.replace(/\/postgres$/, `/${dbName}`), { onnotice: () => {}, max: 1 });
    const cpu = async () => {
      const backends = await db<{ pid: number }[]>`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`;
      return { api: await cpuMicros(api.pid!), pg: new Map(await Promise.all(backends.map(async (b) => [b.pid, await cpuMicros(b.pid)] as const))) };
    };
    const lines: string[] = [];
    for (const connections of CONNECTIONS) {
      let bareRate = 0;
      for (const c of cases) {
        await autocannon({ url: c.url, headers: c.headers, connections, duration: 1 }); // warm-up
        const before = await cpu();
        const r = await autocannon({ url: c.url, headers: c.headers, connections, duration: SECONDS });
        const after = await cpu();
        const total = r.requests.total;
        // Backends that came or went during the run (pg-boss's, a pool growing) are left out.
        let pg = 0;
        for (const [pid, us] of after.pg) pg += before.pg.has(pid) ? us - before.pg.get(pid)! : 0;
        const wrong = Object.entries(r.statusCodeStats).filter(([s]) => Number(s) !== c.status);
        if (wrong.length || r.errors || r.timeouts) throw new Error(`${c.name}: unexpected answers ${JSON.stringify(r.statusCodeStats)}, ${r.errors} errors`);
        if (!bareRate) bareRate = r.requests.average;
        const line = `${String(connections).padStart(2)} conn  ${c.name.padEnd(38)} ${r.requests.average.toFixed(0).padStart(6)} req/s  p50 ${String(r.latency.p50).padStart(3)} ms  p99 ${String(r.latency.p99).padStart(3)} ms  ${(r.requests.average / bareRate).toFixed(2)}× bare` +
          (c.url.startsWith(base) ? `  CPU/req: API ${((after.api - before.api) / total).toFixed(0)} µs, PostgreSQL ${(pg / total).toFixed(0)} µs` : '');
        console.log(line);
        lines.push(line);
      }
    }
    await db.end();
    console.log(`\nsummary (${SECONDS} s per run):\n${lines.join('\n')}`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
    await admin.unsafe(`drop database if exists ${dbName} with (force)`).catch(() => {});
    await admin.end();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'bare') {
  // The reference: Fastify's own hello-world cost, a JSON route with nothing in front of it.
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  app.get('/v1/me', async () => ({ id: 'usr_bare', email: 'bare@example.test', role: 'administrator' }));
  await app.listen({ port: Number(process.argv[3]), host: '127.0.0.1' });
  process.stdin.resume();
  process.stdin.once('end', () => process.exit(0));
} else {
  await main();
}
