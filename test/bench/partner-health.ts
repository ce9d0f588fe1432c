// Partner health benchmark (run by `npm run bench -- partner-health`, not by npm test): one partner
// with BENCH_CUSTOMERS (500) customers × BENCH_ENTITIES (20) entities, seeded by bulk SQL with a mix
// of states (failed and partial entities with their failed runs, stale backups, disconnected tasks,
// smart alerts, a week of backup activity), then GET /v1/partner/health (the default page of 25
// customers with their task overviews, and the totals over all of them) on the real server
// (`node api/server.ts --role api`, its own process), measured request after request beside the
// bare Fastify route of api.ts in another process. Prints p50 / p95 / p99 and the ratio to the bare
// route; the target is p95 < 200 ms.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { cpuMicros, freePort, waitFor } from './processes.ts';

const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 500);
const ENTITIES = Number(process.env.BENCH_ENTITIES ?? 20);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const TARGET_P95_MS = 200;

async function json(url: string, init: RequestInit = {}) {
  const res = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...init.headers } });
  const body = (await res.json()) as any;
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** Signs up through the API; the activation link arrives as an .eml file in the outbox. */
async function signUp(base: string, dataDir: string): Promise<{ key: string; accountId: string }> {
  const email = `bench-${randomBytes(3).toString('hex')}@example.test`;
  await json(`${base}/v1/accounts`, { method: 'POST', body: JSON.stringify({ name: 'Bench MSP', email, password: 'correct horse battery staple', region: 'eu-west-1' }) });
  let token: string | undefined;
  for (let i = 0; i < 100 && !token; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const outbox = join(dataDir, 'outbox');
    for (const f of await readdir(outbox).catch(() => [] as string[])) {
      token ??= /token=(cfa_[0-9A-Za-z]{32})/.exec((await readFile(join(outbox, f), 'utf8')).replace(/=\r?\n/g, '').replace(/=3D/g, '='))?.[1];
    }
  }
  if (!token) throw new Error('no activation email');
  const body = await json(`${base}/v1/accounts/activate`, { method: 'POST', body: JSON.stringify({ token }) });
  return { key: body.api_key.secret as string, accountId: body.account.id as string };
}

/** Every row in a handful of INSERT … SELECT FROM generate_series statements. */
async function seed(db: postgres.Sql, partnerId: string) {
  const started = performance.now();
  await db`update accounts set kind = 'partner' where id = ${partnerId}`;
  // Customer i: account acct_c…i, task task_c…i (every 20th disconnected), entities ent_c…i_j.
  // Entity j of customer i: 5 % not activated, 5 % failed, 5 % partial, the rest successful; the
  // last good backup 2–21 hours ago, except on every 10th customer (2–3 days ago: critical) and
  // the customers 5 after them (25–44 hours ago: warning).
  await db.unsafe(`
    insert into accounts (id, name, email, region, state, kind)
    select 'acct_c' || lpad(i::text, 25, '0'), 'Customer ' || i, 'c' || i || '@bench.test',
      case when i % 3 = 0 then 'us-east-1' else 'eu-west-1' end, case when i % 50 = 0 then 'past_due' else 'active' end, 'standard'
    from generate_series(1, ${CUSTOMERS}) i`);
  await db.unsafe(`
    insert into partner_customers (customer_account_id, partner_account_id, billing)
    select 'acct_c' || lpad(i::text, 25, '0'), '${partnerId}', case when i % 4 = 0 then 'direct' else 'partner' end
    from generate_series(1, ${CUSTOMERS}) i`);
  await db.unsafe(`
    insert into tasks (id, account_id, name, plan, connection_status)
    select 'task_c' || lpad(i::text, 25, '0'), 'acct_c' || lpad(i::text, 25, '0'), 'Team ' || i, 'business',
      case when i % 20 = 0 then 'disconnected' else 'connected' end
    from generate_series(1, ${CUSTOMERS}) i`);
  await db.unsafe(`
    insert into entities (id, account_id, task_id, kind, dropbox_id, name, email, dropbox_status, status, size_bytes, item_count, last_backup_at, next_backup_at)
    select 'ent_c' || lpad(i::text, 20, '0') || lpad(j::text, 5, '0'), 'acct_c' || lpad(i::text, 25, '0'), 'task_c' || lpad(i::text, 25, '0'),
      'member', 'dbmid:' || i || ':' || j, 'Member ' || j, 'm' || j || '@c' || i || '.test', 'active',
      case when j % 20 = 0 then 'not_active' when j % 20 = 1 then 'failed' when j % 20 = 2 then 'partial' else 'success' end,
      1000000 * j, 100 * j,
      now() - (case when i % 10 = 0 then 48 + j when i % 10 = 5 then 24 + j else 1 + j end) * interval '1 hour', now() + interval '6 hours'
    from generate_series(1, ${CUSTOMERS}) i, generate_series(1, ${ENTITIES}) j`);
  await db.unsafe(`
    insert into backup_runs (id, account_id, task_id, entity_id, state, reason, mode, started_at, finished_at, error, errors)
    select 'run_' || substr(e.id, 5), e.account_id, e.task_id, e.id, e.status, 'scheduled', 'incremental', now() - interval '1 hour', now(),
      case when e.status = 'failed' then 'Dropbox answered 500 five times' end,
      case when e.status = 'partial' then '[{"path": "/x.txt", "error": "content_hash mismatch"}]'::jsonb else '[]'::jsonb end
    from entities e where e.status in ('failed', 'partial') and e.account_id like 'acct_c%'`);
  // A week of backup activity (one event a day per entity) and a smart alert on every 7th customer.
  await db.unsafe(`
    insert into activity_events (id, account_id, type, status, task_id, entity_id, item, description, occurred_at)
    select 'evt_' || substr(e.id, 6) || d, e.account_id, 'backup', 'succeeded', e.task_id, e.id, e.name, 'Backup of ' || e.name,
      now() - d * interval '1 day'
    from entities e, generate_series(0, 6) d where e.account_id like 'acct_c%'`);
  await db.unsafe(`
    insert into activity_events (id, account_id, type, status, task_id, entity_id, item, description, occurred_at)
    select 'evt_a' || lpad(i::text, 25, '0'), 'acct_c' || lpad(i::text, 25, '0'), 'smart_alert', 'succeeded', 'task_c' || lpad(i::text, 25, '0'),
      null, 'Member 3', 'mass deletion: 400 of 500 items', now() - interval '2 days'
    from generate_series(7, ${CUSTOMERS}, 7) i`);
  await db.unsafe('analyze');
  return performance.now() - started;
}

/** Sequential requests (one connection, as a portal page would load it): latency percentiles in ms. */
async function measure(url: string, headers: Record<string, string>, n: number) {
  for (let i = 0; i < 10; i++) await (await fetch(url, { headers })).arrayBuffer(); // warm-up
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(url, { headers });
    const body = await res.arrayBuffer();
    times.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`${url}: ${res.status} ${Buffer.from(body).toString()}`);
    bytes = body.byteLength;
  }
  times.sort((a, b) => a - b);
  const p = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!;
  return { p50: p(0.5), p95: p(0.95), p99: p(0.99), bytes };
}

async function main() {
  const adminUrl = process.env.COFFER_TEST_PG_URL;
  if (!adminUrl) throw new Error('run through `npm run bench -- partner-health`');
  const dbName = `bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { onnotice: () => {}, max: 1 });
  await admin.unsafe(`create database ${dbName} template ${process.env.COFFER_TEST_TEMPLATE}`);
  const dbUrl = adminUrl.replace(/\/postgres$/, `/${dbName}`);
  const dataDir = await mkdtemp(join(tmpdir(), 'coffer-bench-partner-'));
  const children: ChildProcess[] = [];
  const db = postgres(dbUrl, { onnotice: () => {}, max: 1 });
  try {
    const apiPort = await freePort();
    const api = spawn(process.execPath, [fileURLToPath(new URL('../../api/server.ts', import.meta.url)), '--role', 'api'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DATABASE_URL: dbUrl, COFFER_DATA_DIR: dataDir, PORT: String(apiPort), COFFER_RATE_LIMIT_PER_MINUTE: '1000000', NODE_ENV: 'test' },
    });
    children.push(api);
    const barePort = await freePort();
    const bare = spawn(process.execPath, [fileURLToPath(new URL('./api.ts', import.meta.url)), 'bare', String(barePort)], { stdio: ['pipe', 'inherit', 'inherit'] });
    children.push(bare);
    const base = `http://127.0.0.1:${apiPort}`;
    await waitFor(`${base}/healthz`, api);
    await waitFor(`http://127.0.0.1:${barePort}/v1/me`, bare);

    const partner = await signUp(base, dataDir);
    const seedMs = await seed(db, partner.accountId);
    const auth = { authorization: `Bearer ${partner.key}` };
    const check = await json(`${base}/v1/partner/health`, { headers: auth });
    console.log(`seeded ${CUSTOMERS} customers × ${ENTITIES} entities in ${(seedMs / 1000).toFixed(1)} s; totals: ${JSON.stringify(check.totals.by_health)}, ` +
      `${check.totals.entities.total} entities, ${check.totals.failing_entities} failing, ${check.totals.disconnected_tasks} disconnected tasks`);

    const cases = [
      { name: 'bare Fastify GET /v1/me', url: `http://127.0.0.1:${barePort}/v1/me`, headers: {} },
      { name: 'GET /v1/partner/health (25 of 500)', url: `${base}/v1/partner/health`, headers: auth },
      { name: 'GET /v1/partner/health?health=critical', url: `${base}/v1/partner/health?health=critical`, headers: auth },
      { name: 'GET /v1/partner/health?limit=100', url: `${base}/v1/partner/health?limit=100`, headers: auth },
    ];
    const lines: string[] = [];
    let bareP95 = 0;
    let p95 = 0;
    // The machine is shared, so latency moves with everyone else's load; the CPU the API process
    // and its PostgreSQL backends spend per request moves far less.
    const cpu = async () => {
      const backends = await db<{ pid: number }[]>`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`;
      return { api: await cpuMicros(api.pid!), pg: new Map(await Promise.all(backends.map(async (b) => [b.pid, await cpuMicros(b.pid)] as const))) };
    };
    const load = async () => (await readFile('/proc/loadavg', 'utf8')).split(' ')[0];
    for (const c of cases) {
      const before = await cpu();
      const r = await measure(c.url, c.headers, REQUESTS);
      const after = await cpu();
      let pg = 0;
      for (const [pid, us] of after.pg) pg += before.pg.has(pid) ? us - before.pg.get(pid)! : 0;
      const perRequest = c.url.startsWith(base)
        ? `  CPU/req: API ${((after.api - before.api) / (REQUESTS + 10) / 1000).toFixed(1)} ms, PostgreSQL ${(pg / (REQUESTS + 10) / 1000).toFixed(1)} ms`
        : '';
      if (!bareP95) bareP95 = r.p95;
      if (c.name.startsWith('GET /v1/partner/health (')) p95 = r.p95;
      const line = `${c.name.padEnd(42)} p50 ${r.p50.toFixed(1).padStart(6)} ms  p95 ${r.p95.toFixed(1).padStart(6)} ms  p99 ${r.p99.toFixed(1).padStart(6)} ms  ` +
        `${(r.p95 / bareP95).toFixed(0).padStart(4)}× bare p95  ${(r.bytes / 1024).toFixed(0)} KiB${perRequest}`;
      console.log(line);
      lines.push(line);
    }
    console.log(`\nsummary (${REQUESTS} sequential requests each; load average ${await load()} on ${availableParallelism()} cores):\n${lines.join('\n')}\n` +
      `GET /v1/partner/health p95 ${p95.toFixed(1)} ms: ${p95 < TARGET_P95_MS ? 'under' : 'OVER'} the ${TARGET_P95_MS} ms target`);
    if (p95 >= TARGET_P95_MS) process.exitCode = 1;
  } finally {
    await db.end();
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
    await admin.unsafe(`drop database if exists ${dbName} with (force)`).catch(() => {});
    await admin.end();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
