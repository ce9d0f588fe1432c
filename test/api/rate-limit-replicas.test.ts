// Rate limits are shared by every API process on one database (api/rate-counters.ts): two real
// `node api/server.ts --role api` processes together allow the limit once, not twice.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshDatabase } from '../helpers/db.ts';

const SERVER = fileURLToPath(new URL('../../api/server.ts', import.meta.url));

async function startApi(t: Test, env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, [SERVER, '--role', 'api'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', PORT: '0', NODE_ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  t.teardown(async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  });
  let out = '';
  child.stderr!.on('data', (c: Buffer) => (out += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 60_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c;
      const m = /Coffer API: (http:\/\/[^/\s]+)\/v1/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => reject(new Error(`server exited with ${code}:\n${out}`)));
  });
}

t.test('attack: with two API replicas, a client gets twice the request rate and twice the guesses', async (t) => {
  const db = await freshDatabase(t);
  const dataDir = await mkdtemp(join(tmpdir(), 'coffer-replicas-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const env = {
    DATABASE_URL: db.url, COFFER_DATA_DIR: dataDir, COFFER_MASTER_KEY: randomBytes(32).toString('base64'),
    COFFER_RATE_LIMIT_PER_MINUTE: '4', COFFER_RATE_LIMIT_AUTH_FAILURES_PER_IP: '2',
  };
  const [a, b] = await Promise.all([startApi(t, env), startApi(t, env)]);

  // Requests without a credential are counted per client IP: 4 in all, across both processes.
  const remaining: (string | null)[] = [];
  for (const base of [a, b, a, b]) {
    const res = await fetch(`${base}/v1/regions`);
    t.equal(res.status, 200);
    remaining.push(res.headers.get('ratelimit-remaining'));
  }
  t.same(remaining, ['3', '2', '1', '0'], 'each process sees the other\'s requests');
  for (const base of [a, b]) {
    const limited = await fetch(`${base}/v1/regions`);
    t.equal(limited.status, 429, 'the fifth request is refused by either process');
    t.equal(limited.headers.get('ratelimit-limit'), '4');
    t.ok(Number(limited.headers.get('retry-after')) > 0);
    t.equal(((await limited.json()) as { code: string }).code, 'rate_limited');
  }

  // Refused credentials are counted per client IP: 2 in all, across both processes.
  const guess = { authorization: `Bearer cfk_${'x'.repeat(32)}` };
  t.equal((await fetch(`${a}/v1/me`, { headers: guess })).status, 401);
  t.equal((await fetch(`${b}/v1/me`, { headers: guess })).status, 401);
  for (const base of [a, b]) {
    const gated = await fetch(`${base}/v1/me`, { headers: guess });
    t.equal(gated.status, 429, 'the third guess is refused before any lookup, by either process');
    t.equal(gated.headers.get('ratelimit-limit'), '2');
  }
});
