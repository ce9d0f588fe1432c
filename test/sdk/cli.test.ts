// The `coffer` CLI run as a user runs it (a child process with its own config directory) against
// a live server: login and profiles, generated commands, --json, `coffer api`, and the exit codes.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestApp } from '../helpers/app.ts';

const bin = fileURLToPath(new URL('../../sdk/cli/bin.ts', import.meta.url));

interface Run { code: number | null; stdout: string; stderr: string }

function cli(env: Record<string, string>, args: string[], opts: { stdin?: string; interruptAfterMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const { COFFER_API_KEY: _k, COFFER_BASE_URL: _u, COFFER_PROFILE: _p, ...inherited } = process.env;
    const child = spawn(process.execPath, [bin, ...args], { env: { ...inherited, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(opts.stdin ?? '');
    if (opts.interruptAfterMs) setTimeout(() => child.kill('SIGINT'), opts.interruptAfterMs);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function configHome(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('login saves a 0600 profile; commands, --json and `coffer api` use it; failures have their exit codes', async (t) => {
  const api = await startTestApp(t);
  const account = await api.signUp();
  const home = await configHome(t);
  const env = { XDG_CONFIG_HOME: home };

  const refused = await cli(env, ['login', '--base-url', api.url, '--api-key', 'cfk_' + 'x'.repeat(32)]);
  t.equal(refused.code, 3, 'a bad key: exit 3 (auth)');
  t.match(refused.stderr, /error: unauthenticated|error: .*401/);
  await t.rejects(stat(join(home, 'coffer/config.json')), { code: 'ENOENT' }, 'and nothing is saved');

  const login = await cli(env, ['login', '--base-url', api.url], { stdin: account.key + '\n' });
  t.equal(login.code, 0, login.stderr);
  t.match(login.stdout, new RegExp(`logged in to .*${account.accountId}`));
  const file = join(home, 'coffer/config.json');
  t.equal((await stat(file)).mode & 0o777, 0o600, 'the config file is readable by its owner only');
  t.same(JSON.parse(await readFile(file, 'utf8')), { current: 'default', profiles: { default: { baseUrl: api.url, apiKey: account.key } } });

  const created = await cli(env, ['tags', 'create', '--name', 'finance', '--json']);
  t.equal(created.code, 0, created.stderr);
  const tag = JSON.parse(created.stdout);
  t.equal(tag.name, 'finance');
  await cli(env, ['tags', 'create', '--name', 'legal']);

  const listed = await cli(env, ['tags', 'list']);
  t.equal(listed.code, 0);
  t.same(listed.stdout.trim().split('\n').map((l) => l.split('\t')[1]), ['legal', 'finance'], 'one line per item: id, name');
  const all = await cli(env, ['tags', 'list', '--limit', '1', '--all', '--json']);
  t.same(JSON.parse(all.stdout).map((x: { name: string }) => x.name), ['legal', 'finance'], '--all walks every page');
  const one = await cli(env, ['tags', 'list', '--limit', '1', '--json']);
  t.equal(JSON.parse(one.stdout).data.length, 1);
  t.type(JSON.parse(one.stdout).next_cursor, 'string');

  const got = await cli(env, ['tags', 'get', tag.id]);
  t.match(got.stdout, /^id\s+tag_/m);
  t.match(got.stdout, /^name\s+finance$/m);

  const updated = await cli(env, ['tags', 'update', tag.id, '--name', 'Finance', '--if-match', '"v1"', '--json']);
  t.equal(JSON.parse(updated.stdout).name, 'Finance');
  const stale = await cli(env, ['tags', 'update', tag.id, '--name', 'stale', '--if-match', '"v1"']);
  t.equal(stale.code, 5, 'a stale If-Match: exit 5');
  t.match(stale.stderr, /error: precondition_failed \(412\)/);
  t.match(stale.stderr, /request id: req_/);

  const missing = await cli(env, ['tags', 'get', 'tag_00000000000000000000000000']);
  t.equal(missing.code, 4, 'not found: exit 4');
  const invalid = await cli(env, ['tags', 'create', '--name', '']);
  t.equal(invalid.code, 1);
  t.match(invalid.stderr, /validation_failed[\s\S]*\/body\/name/);

  const me = await cli(env, ['api', 'GET', '/v1/me', '--json']);
  t.equal(JSON.parse(me.stdout).account.id, account.accountId, '`coffer api` calls any path');
  const posted = await cli(env, ['api', 'post', '/v1/tags', '--data', '{"name":"ops"}', '--json']);
  t.equal(JSON.parse(posted.stdout).name, 'ops');

  const deleted = await cli(env, ['tags', 'delete', tag.id]);
  t.equal(deleted.code, 0);
  t.equal((await cli(env, ['tags', 'get', tag.id])).code, 4);

  for (const args of [[], ['tags'], ['tags', 'frobnicate'], ['tags', 'get'], ['tags', 'get', 'a', 'b'], ['nothing', 'here'], ['api', 'GET'], ['tags', 'create']]) {
    const r = await cli(env, args);
    t.equal(r.code, 2, `usage error: coffer ${args.join(' ')}`);
  }
  t.match((await cli(env, ['tags', 'frobnicate'])).stderr, /unknown action "frobnicate" for tags; one of: create, delete, get, list, update/);
  const help = await cli(env, ['help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /coffer billing invoices pay <id>/);
  t.match(help.stdout, /coffer tasks reconnect <id>/);

  const elsewhere = await cli({ XDG_CONFIG_HOME: await configHome(t) }, ['tags', 'list']);
  t.equal(elsewhere.code, 3, 'not logged in: exit 3');
  t.match(elsewhere.stderr, /not logged in/);
  const byEnv = await cli({ XDG_CONFIG_HOME: await configHome(t), COFFER_API_KEY: account.key, COFFER_BASE_URL: api.url }, ['tags', 'list', '--json']);
  t.equal(byEnv.code, 0, 'COFFER_API_KEY and COFFER_BASE_URL work without a profile');
  t.equal((await cli(env, ['tags', 'list', '--profile', 'other'])).code, 3, 'an unknown profile');

  t.equal((await cli(env, ['logout'])).code, 0);
  t.same(JSON.parse(await readFile(file, 'utf8')), { profiles: {} });
});

t.test('a failed job exits 6 and Ctrl-C exits 130', async (t) => {
  const answers = [{ state: 'in_progress' }, { state: 'failed', reason: 'storage unreachable' }];
  const server = createServer((req, res) => {
    req.resume();
    if (req.url === '/v1/tags') return; // never answers: the client waits until interrupted
    const next = answers.shift() ?? { state: 'failed', reason: 'x' };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'job_1', items_done: 0, items_total: 1, ...next }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => { server.closeAllConnections(); return new Promise<void>((r) => server.close(() => r())); });
  const env = { XDG_CONFIG_HOME: await configHome(t), COFFER_API_KEY: 'cfk_test', COFFER_BASE_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };

  const failed = await cli(env, ['jobs', 'wait', 'job_1']);
  t.equal(failed.code, 6, failed.stderr);
  t.match(failed.stderr, /in_progress 0\/1/);
  t.match(failed.stderr, /error: job job_1 failed: storage unreachable/);

  const interrupted = await cli(env, ['tags', 'list'], { interruptAfterMs: 1_500 });
  t.equal(interrupted.code, 130);
});
