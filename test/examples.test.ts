// The programs in examples/ run as a user runs them, against a live Coffer (workers running) and
// the Dropbox emulator, so an example that rots fails here. The SDK examples import '@coffer/sdk'
// from the package as built (compiled into a scratch project, exactly as it ships); the shell
// examples call a `coffer` command that is that package's bin.
import t, { type Test } from 'tap';
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startLiveTeam, type LiveTeam } from './helpers/live-team.ts';
import { startS3rver } from './workers/storage/fixtures/start-s3rver.ts';
import { signatureHeader } from '../api/resources/webhooks/signature.ts';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('..', import.meta.url));
const FILES = { '/Finance/budget.xlsx': 'quarterly budget', '/Finance/notes.txt': 'notes', '/photo.jpg': Buffer.alloc(200_000, 7) };
const webhooks = { allowPrivateTargets: true, retrySchedule: [1, 2] };

/** A scratch project with @coffer/sdk compiled from sdk/ and a `coffer` command on PATH. */
async function buildPackage(t: Test): Promise<{ dir: string; path: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-examples-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const pkg = join(dir, 'node_modules/@coffer/sdk');
  const tsc = join(repo, 'node_modules/typescript/bin/tsc');
  await run(process.execPath, [tsc, '-p', join(repo, 'sdk/tsconfig.json'), '--outDir', join(pkg, 'dist')]);
  await run(process.execPath, [tsc, '-p', join(repo, 'sdk/cli/tsconfig.json'), '--outDir', join(pkg, 'dist')]);
  const manifest = JSON.parse(await readFile(join(repo, 'sdk/package.json'), 'utf8'));
  await writeFile(join(pkg, 'package.json'), JSON.stringify(manifest));
  for (const dep of Object.keys(manifest.dependencies)) {
    // A scoped dependency (@scope/name) needs its scope's folder first.
    await mkdir(dirname(join(dir, 'node_modules', dep)), { recursive: true });
    await symlink(join(repo, 'node_modules', dep), join(dir, 'node_modules', dep));
  }
  await mkdir(join(dir, 'bin'));
  await writeFile(join(dir, 'bin/coffer'), `#!/bin/sh\nexec "${process.execPath}" "${join(pkg, 'dist/cli/bin.js')}" "$@"\n`);
  await chmod(join(dir, 'bin/coffer'), 0o755);
  await mkdir(join(dir, 'examples'));
  for (const f of await readdir(join(repo, 'examples/sdk'))) await copyFile(join(repo, 'examples/sdk', f), join(dir, 'examples', f));
  return { dir, path: [join(dir, 'bin'), process.env.PATH].join(delimiter) };
}

interface Running {
  /** Resolves with the first match of `pattern` in stdout (waiting for it). */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  kill(): void;
}

function start(command: string, args: string[], env: Record<string, string>, cwd: string): Running {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COFFER_')));
  const child = spawn(command, args, { env: { ...inherited, ...env }, cwd });
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  child.stdout.on('data', (d) => {
    stdout += d;
    for (const w of [...waiters]) {
      const m = stdout.match(w.pattern);
      if (m) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m); }
    }
  });
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return {
    done,
    kill: () => child.kill(),
    waitFor: (pattern) => {
      const m = stdout.match(pattern);
      if (m) return Promise.resolve(m);
      return Promise.race([
        new Promise<RegExpMatchArray>((resolve) => waiters.push({ pattern, resolve })),
        done.then(({ code }) => { throw new Error(`${command} ${args.join(' ')} exited ${code} before printing ${pattern}:\n${stdout}\n${stderr}`); }),
      ]);
    },
  };
}

const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as { port: number };
    s.close(() => resolve(port));
  });
});

async function searchable(team: LiveTeam, name: string) {
  for (let i = 0; i < 300; i++) {
    const found = await team.api.request('GET', `/v1/items?q=${encodeURIComponent(name)}`, { key: team.account.key });
    if (found.body?.data?.some((x: { name: string }) => x.name === name)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} never became searchable`);
}

/** Runs the five scenarios with `runExample(name, env)` — an SDK program or a shell script. */
async function scenarios(t: Test, team: LiveTeam, runExample: (name: string, env: Record<string, string>, args?: string[]) => Running) {
  const env = team.env;

  // 1. Onboard: the program prints the consent link; the team admin approves it.
  const onboarding = runExample('onboard-team', { ...env, TEAM_NAME: 'Acme' });
  const [, url] = await onboarding.waitFor(/approve Coffer:\n(\S+)/);
  await team.approve(url!);
  const onboarded = await onboarding.done;
  t.equal(onboarded.code, 0, onboarded.stderr);
  const taskId = /TASK_ID=(task_\w+)/.exec(onboarded.stdout)?.[1];
  t.ok(taskId, 'onboard-team: the task is connected and its members discovered');
  t.match(onboarded.stdout, /bob@team\.test/);
  const entities = (await team.api.request('GET', `/v1/entities?task_id=${taskId}`, { key: team.account.key })).body.data as { id: string; email: string | null }[];
  const bob = entities.find((e) => e.email === 'bob@team.test')!.id;

  // 2. Nightly: back up now and wait.
  const nightly = await runExample('nightly-backup', { ...env, ENTITY_IDS: bob }, [bob]).done;
  t.equal(nightly.code, 0, `nightly-backup: ${nightly.stderr}`);
  t.match(nightly.stdout + nightly.stderr, new RegExp(`${bob}: (succeeded|done)`));
  const runs = (await team.api.request('GET', `/v1/entities/${bob}/runs`, { key: team.account.key })).body.data;
  t.equal(runs[0].state, 'succeeded', 'a finished run');

  // 3. Find a file and restore it.
  await searchable(team, 'budget.xlsx');
  const restored = await runExample('find-and-restore', { ...env, FILE_NAME: 'budget.xlsx' }, ['budget.xlsx']).done;
  t.equal(restored.code, 0, `find-and-restore: ${restored.stderr}`);
  const into = /restored into (\/[^\n]+) \(succeeded\)/.exec(restored.stdout)?.[1];
  t.ok(into, restored.stdout);
  t.equal(team.emu.state.readFile(team.member, `${into}/Finance/budget.xlsx`).toString(), 'quarterly budget', 'the file is back in Dropbox');

  // 4. Export the latest snapshot to S3.
  const s3 = await startS3rver('exports');
  t.teardown(() => s3.stop());
  const s3env = { ...env, ENTITY_ID: bob, S3_BUCKET: 'exports', S3_KEY: 'nightly.zip', S3_ENDPOINT: s3.endpoint, S3_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
  const exported = await runExample('export-to-s3', s3env, [bob]).done;
  t.equal(exported.code, 0, `export-to-s3: ${exported.stderr}`);
  const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  t.teardown(() => client.destroy());
  const zip = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: 'exports', Key: 'nightly.zip' }))).Body!.transformToByteArray());
  t.equal(zip.subarray(0, 2).toString(), 'PK', 'the archive is in the bucket');
  t.ok(zip.includes(Buffer.from('quarterly budget')), 'holding the files');
}

t.test('SDK examples (examples/sdk) run against a live server', async (t) => {
  const { dir } = await buildPackage(t);
  const team = await startLiveTeam(t, FILES, { config: { webhooks } });
  const examples = join(dir, 'examples');
  await scenarios(t, team, (name, env) => start(process.execPath, [join(examples, `${name}.mjs`)], env, examples));

  // 5. Webhooks: a real delivery is accepted; a forged one is refused.
  const port = await freePort();
  const endpoint = await team.api.request('POST', '/v1/webhooks', { key: team.account.key, body: { url: `http://127.0.0.1:${port}/coffer`, events: ['ping'] } });
  t.equal(endpoint.status, 201, endpoint.text);
  const handler = start(process.execPath, [join(examples, 'webhook-handler.mjs')], { COFFER_WEBHOOK_SECRET: endpoint.body.secret, PORT: String(port) }, examples);
  t.teardown(() => handler.kill());
  await handler.waitFor(/listening on \d+/);
  await team.api.request('POST', `/v1/webhooks/${endpoint.body.id}/ping`, { key: team.account.key });
  await handler.waitFor(/verified ping evt_\w+/);
  const forged = await fetch(`http://127.0.0.1:${port}/coffer`, { method: 'POST', body: '{"id":"evt_x","type":"ping"}', headers: { 'coffer-signature': `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}` } });
  t.equal(forged.status, 400, 'a forged delivery is refused');
  t.equal(await forged.text(), 'signature_mismatch');

  // 6. A partner (MSP) lists its customers and looks inside each one with its own key.
  const msp = await team.api.signUp({ kind: 'partner' });
  const customer = await team.api.request('POST', '/v1/customers', { key: msp.key, body: { name: 'Dental Clinic', region: 'eu-west-1', billing: 'partner' } });
  t.equal(customer.status, 201, customer.text);
  await team.api.request('POST', '/v1/tasks', { key: msp.key, body: { name: 'Clinic team' }, headers: { 'coffer-account': customer.body.id } });
  const listed = await start(process.execPath, [join(examples, 'msp-customers.mjs')], { ...team.env, COFFER_API_KEY: msp.key }, examples).done;
  t.equal(listed.code, 0, `msp-customers: ${listed.stderr}`);
  t.match(listed.stdout, new RegExp(`${customer.body.id}  Dental Clinic .* billing=partner  tasks=1 connected=0`));
  t.match(listed.stdout, /CUSTOMERS=1\n/);
});

t.test('CLI examples (examples/cli) run against a live server', async (t) => {
  const { dir, path } = await buildPackage(t);
  const team = await startLiveTeam(t, FILES);
  const scripts = join(repo, 'examples/cli');
  const home = join(dir, 'config');
  await scenarios(t, team, (name, env, args = []) => start(join(scripts, `${name}.sh`), args, { ...env, PATH: path, XDG_CONFIG_HOME: home }, dir));

  // 5. Webhooks: verify-webhook.sh accepts what the server signs and refuses the rest.
  const secret = 'whsec_k3Xb0Q7c1vJ5m8Yp2Lr6Wz9Ta4Ns0Hd1Fg5Ue8Iy3Ow';
  const body = '{"id":"evt_1","type":"ping","data":{}}';
  const verify = (header: string, input: string) => new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(join(scripts, 'verify-webhook.sh'), [header], { env: { ...process.env, COFFER_WEBHOOK_SECRET: secret } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.stdin.end(input);
    child.on('close', (code) => resolve({ code, out: out.trim() }));
  });
  const now = Math.floor(Date.now() / 1000);
  t.same(await verify(signatureHeader(secret, body, now), body), { code: 0, out: 'verified ping evt_1' });
  t.same(await verify(`t=${now},v1=${'0'.repeat(64)},${signatureHeader(secret, body, now).split(',')[1]}`, body), { code: 0, out: 'verified ping evt_1' }, 'one matching v1 of several is enough');
  t.same(await verify(signatureHeader(secret, body, now), body + ' '), { code: 1, out: 'signature_mismatch' }, 'a changed body');
  t.same(await verify(signatureHeader(secret, body, now - 600), body), { code: 1, out: 'timestamp_out_of_tolerance' }, 'a replay ten minutes later');
  t.same(await verify('nonsense', body), { code: 1, out: 'malformed_header' });
});
