// `npm run soak` (not part of `npm test`): a mixed workload against one Coffer (API and workers in
// one process, as `npm start` runs them) for a fixed time: API reads and writes from many keys,
// backups, restores and exports, and webhook deliveries. It prints throughput, p50/p99 latency,
// the count of every status, the 5xx count (must be 0), the errors of the background work, and
// the RSS every SOAK_SAMPLE_SECONDS; the RSS after warm-up must not keep growing.
//
//   SOAK_SECONDS=600 npm run soak      (default 600; SOAK_CLIENTS, default 8)
import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { startLiveTeam } from '../helpers/live-team.ts';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 8);
const SAMPLE_SECONDS = Number(process.env.SOAK_SAMPLE_SECONDS ?? Math.max(5, Math.round(SECONDS / 20)));
const MiB = 1024 * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! : 0;
}

t.test(`soak: ${SECONDS} s of mixed work from ${CLIENTS} keys`, async (t) => {
  const files: Record<string, Buffer | string> = {};
  for (let i = 0; i < 200; i++) files[`/d${i % 10}/f${i}.txt`] = `file ${i} `.repeat(50 + i);
  files['/big.bin'] = randomBytes(5 * MiB);
  // Webhook deliveries go to a local receiver that counts them.
  let delivered = 0;
  const receiver = createServer((_req, res) => { delivered++; res.end('ok'); });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  t.teardown(() => receiver.close());
  // The per-key rate limit is lifted: the soak measures the server, not the limiter (429s would be most answers).
  const live = await startLiveTeam(t, files, { config: { webhooks: { allowPrivateTargets: true, retrySchedule: [5] }, rateLimitPerMinute: 1_000_000 } });
  const { api, account } = live;
  const { entityId } = await live.connect();
  // The ManualClock follows real time, so schedules and expiries behave as in production.
  const tick = setInterval(() => api.clock.set(new Date()), 200);
  t.teardown(() => clearInterval(tick));

  const hook = await api.request('POST', '/v1/webhooks', { key: account.key, body: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, events: ['ping', 'job.state_changed'] } });
  if (hook.status !== 201) throw new Error(`webhook: ${hook.text}`);
  const keys: string[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const k = await api.request('POST', '/v1/api-keys', { key: account.key, body: { name: `soak ${i}` } });
    if (k.status !== 201) throw new Error(`key: ${k.text}`);
    keys.push(k.body.secret);
  }

  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const fiveHundreds: string[] = [];
  let requests = 0;
  const call = async (key: string, method: string, path: string, body?: unknown) => {
    const started = performance.now();
    const res = await fetch(api.url + path, {
      method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    latencies.push(performance.now() - started);
    requests++;
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    if (res.status >= 500) fiveHundreds.push(`${method} ${path} → ${res.status} ${text.slice(0, 200)}`);
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  const end = Date.now() + SECONDS * 1000;
  const rss: { at: number; mb: number }[] = [];
  const started = Date.now();
  const sampler = setInterval(() => rss.push({ at: Math.round((Date.now() - started) / 1000), mb: Math.round(process.memoryUsage().rss / MiB) }), SAMPLE_SECONDS * 1000);
  t.teardown(() => clearInterval(sampler));

  const background = { backups: 0, restores: 0, exports: 0, failed: [] as string[] };
  const client = async (key: string, n: number) => {
    let i = 0;
    while (Date.now() < end) {
      i++;
      const pick = (i + n) % 10;
      if (pick < 6) {
        await call(key, 'GET', ['/v1/me', '/v1/entities?limit=20', '/v1/jobs?limit=20', '/v1/tags', `/v1/entities/${entityId}/snapshots`, '/v1/activity?limit=20'][i % 6]!);
      } else if (pick < 9) {
        const tag = await call(key, 'POST', '/v1/tags', { name: `soak-${n}-${i}` });
        if (tag.status === 201) {
          await call(key, 'PATCH', `/v1/tags/${tag.body.id}`, { name: `soak-${n}-${i}-renamed` });
          await call(key, 'DELETE', `/v1/tags/${tag.body.id}`);
        }
      } else {
        await call(key, 'POST', `/v1/webhooks/${hook.body.id}/ping`);
      }
    }
  };
  /** Backups, restores and exports one after the other for the whole run. */
  const jobs = async () => {
    let round = 0;
    while (Date.now() < end) {
      round++;
      live.emu.state.putFile(live.member, `/changes/r${round}.txt`, `round ${round} `.repeat(1000));
      await call(account.key, 'POST', '/v1/entities/actions', { action: 'backup_now', entity_ids: [entityId] });
      background.backups++;
      await sleep(3_000);
      const snaps = await call(account.key, 'GET', `/v1/entities/${entityId}/snapshots`);
      const snapshot = snaps.body?.data?.[0]?.id;
      if (!snapshot) continue;
      const job = round % 2
        ? await call(account.key, 'POST', '/v1/restores', { source: { snapshot_id: snapshot, items: ['/d1'] }, destination: { mode: 'non_destructive' } })
        : await call(account.key, 'POST', '/v1/exports', { source: { snapshot_id: snapshot }, destination: { type: 'download' } });
      if (job.status !== 202) {
        background.failed.push(`job refused: ${job.status}`);
        continue;
      }
      if (round % 2) background.restores++;
      else background.exports++;
      for (let w = 0; w < 120 && Date.now() < end; w++) {
        const j = await call(account.key, 'GET', `/v1/jobs/${job.body.id}`);
        if (['succeeded', 'failed', 'partially_succeeded', 'canceled'].includes(j.body.state)) {
          if (j.body.state !== 'succeeded') background.failed.push(`${j.body.type} ${j.body.id}: ${j.body.state}`);
          break;
        }
        await sleep(500);
      }
      await sleep(1_000);
    }
  };
  await Promise.all([...keys.map((k, n) => client(k, n)), jobs()]);
  clearInterval(sampler);
  rss.push({ at: Math.round((Date.now() - started) / 1000), mb: Math.round(process.memoryUsage().rss / MiB) });

  const runs = (await api.database.sql<{ state: string; n: number }[]>`select state, count(*)::int as n from backup_runs where entity_id = ${entityId} group by state`);
  const sorted = latencies.slice().sort((a, b) => a - b);
  const warm = rss.filter((s) => s.at >= SECONDS / 4);
  const firstWarm = warm[0]?.mb ?? 0;
  const lastWarm = warm.length ? Math.max(...warm.slice(-Math.max(1, Math.floor(warm.length / 3))).map((s) => s.mb)) : 0;
  t.comment(`requests: ${requests} in ${SECONDS} s = ${(requests / SECONDS).toFixed(1)} req/s from ${CLIENTS} keys`);
  t.comment(`latency: p50 ${percentile(sorted, 0.5).toFixed(1)} ms, p99 ${percentile(sorted, 0.99).toFixed(1)} ms, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms`);
  t.comment(`statuses: ${[...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ')}`);
  t.comment(`background: ${background.backups} backups asked (runs: ${runs.map((r) => `${r.state} ${r.n}`).join(', ')}), ${background.restores} restores, ${background.exports} exports, ${delivered} webhook deliveries received`);
  t.comment(`RSS (MiB) by second: ${rss.map((s) => `${s.at}s ${s.mb}`).join(', ')}`);
  t.equal(fiveHundreds.length, 0, `no 5xx${fiveHundreds.length ? `: ${fiveHundreds.slice(0, 5).join('; ')}` : ''}`);
  t.same(background.failed, [], 'every restore and export succeeded');
  t.same(runs.filter((r) => r.state === 'failed'), [], 'no backup run failed');
  t.ok(delivered > 0, 'webhooks were delivered');
  t.ok(lastWarm <= firstWarm * 1.5 + 50, `RSS after warm-up: ${firstWarm} MiB, at the end at most ${lastWarm} MiB (no growth beyond 1.5× + 50 MiB)`);
});
