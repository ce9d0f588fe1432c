// The `coffer` CLI run as a user runs it (a child process with its own config directory) against
// a live server: login and profiles, generated commands, --help, --json (checked against the API's
// response schemas), tables, `coffer api`, completion scripts, and the exit codes.
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestApp } from '../helpers/app.ts';
import { cli, jsonLines, onTerminal, schemaErrors } from '../helpers/cli.ts';
import { printList } from '../../sdk/cli/output.ts';
import { Meter, renderLine } from '../../sdk/cli/progress.ts';
import { SPECS } from '../../sdk/cli/commands.ts';

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

  const refused = await cli(env, ['login', '--api-url', api.url, '--api-key-stdin'], { stdin: 'cfk_' + 'x'.repeat(32) + '\n' });
  t.equal(refused.code, 3, 'a bad key: exit 3 (auth)');
  t.match(refused.stderr, /error: unauthenticated|error: .*401/);
  await t.rejects(stat(join(home, 'coffer/config.json')), { code: 'ENOENT' }, 'and nothing is saved');

  const login = await cli(env, ['login', '--api-url', api.url, '--api-key-stdin'], { stdin: account.key + '\n' });
  t.equal(login.code, 0, login.stderr);
  t.match(login.stdout, new RegExp(`logged in to .*${account.accountId}`));
  const file = join(home, 'coffer/config.json');
  t.equal((await stat(file)).mode & 0o777, 0o600, 'the config file is readable by its owner only');
  t.same(JSON.parse(await readFile(file, 'utf8')), { current: 'default', profiles: { default: { apiUrl: api.url, apiKey: account.key } } });

  const created = await cli(env, ['tags', 'create', '--name', 'finance', '--json']);
  t.equal(created.code, 0, created.stderr);
  const tag = JSON.parse(created.stdout);
  t.same(schemaErrors('createTag', tag), [], '--json prints the API\'s Tag');
  t.equal(tag.name, 'finance');
  await cli(env, ['tags', 'create', '--name', 'legal']);

  const listed = await cli(env, ['tags', 'list']);
  t.equal(listed.code, 0);
  t.same(listed.stdout.trim().split('\n').map((l) => l.split('\t')[1]), ['legal', 'finance'], 'one line per item: id, name');
  const all = await cli(env, ['tags', 'list', '--limit', '1', '--all', '--json']);
  t.same(JSON.parse(all.stdout).map((x: { name: string }) => x.name), ['legal', 'finance'], '--all walks every page');
  for (const item of JSON.parse(all.stdout)) t.same(schemaErrors('listTags', item, { item: true }), [], '--all: one array of the API\'s items');
  const one = await cli(env, ['tags', 'list', '--limit', '1', '--json']);
  t.equal(JSON.parse(one.stdout).data.length, 1);
  t.type(JSON.parse(one.stdout).next_cursor, 'string');
  t.same(schemaErrors('listTags', JSON.parse(one.stdout)), [], 'one page: the API\'s TagList');

  const got = await cli(env, ['tags', 'get', tag.id]);
  t.match(got.stdout, /^id\s+tag_/m);
  t.match(got.stdout, /^name\s+finance$/m);

  const updated = await cli(env, ['tags', 'update', tag.id, '--name', 'Finance', '--if-match', '"v1"', '--json']);
  t.equal(JSON.parse(updated.stdout).name, 'Finance');
  t.same(schemaErrors('updateTag', JSON.parse(updated.stdout)), []);
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
  t.same(schemaErrors('getMe', JSON.parse(me.stdout)), []);
  const meCommand = await cli(env, ['me', 'get', '--json']);
  t.same(JSON.parse(meCommand.stdout), JSON.parse(me.stdout), 'the generated command prints the same JSON');
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
  for (const line of ['0    success', '1    error', '2    usage', '3    authentication', '4    not found', '5    conflict or precondition failed', '6    the job or backup run failed', '130  interrupted']) {
    t.ok(help.stdout.includes(line), `coffer help documents exit code: ${line}`);
  }
  t.same((await cli({}, ['--help'])).stdout, help.stdout, '--help: the same, logged in or not');

  const elsewhere = await cli({ XDG_CONFIG_HOME: await configHome(t) }, ['tags', 'list']);
  t.equal(elsewhere.code, 3, 'not logged in: exit 3');
  t.match(elsewhere.stderr, /not logged in/);
  const byEnv = await cli({ XDG_CONFIG_HOME: await configHome(t), COFFER_API_KEY: account.key, COFFER_API_URL: api.url }, ['tags', 'list', '--json']);
  t.equal(byEnv.code, 0, 'COFFER_API_KEY and COFFER_API_URL work without a profile');
  const oldNames = await cli({ XDG_CONFIG_HOME: await configHome(t), COFFER_API_KEY: account.key, COFFER_BASE_URL: api.url }, ['tags', 'list', '--json']);
  t.equal(oldNames.code, 0, 'COFFER_BASE_URL, the old name, still works');
  const byFlags = await cli({ XDG_CONFIG_HOME: await configHome(t) }, ['tags', 'list', '--json', '--api-url', api.url, '--api-key', account.key]);
  t.equal(byFlags.code, 0, '--api-url and --api-key work without a profile');
  const overridden = await cli({ ...env, COFFER_API_KEY: 'cfk_' + 'y'.repeat(32) }, ['tags', 'list']);
  t.equal(overridden.code, 3, 'COFFER_API_KEY overrides the profile\'s key');
  t.equal((await cli(env, ['tags', 'list', '--profile', 'other'])).code, 3, 'an unknown profile');

  // A second profile: login --profile makes it current; profiles use switches back.
  const other = await api.signUp();
  t.equal((await cli(env, ['login', '--profile', 'other', '--base-url', api.url, '--api-key-stdin'], { stdin: other.key })).code, 0, '--base-url: the old name of --api-url');
  const listedProfiles = await cli(env, ['profiles', 'list']);
  t.equal(listedProfiles.stdout, `  default          ${api.url}\n* other            ${api.url}\n`, 'profiles list: the current one starred, no keys');
  t.notMatch(listedProfiles.stdout, /cfk_/);
  t.same((await cli(env, ['tags', 'list', '--all', '--json'])).stdout.trim(), '[]', 'the other account now');
  t.equal((await cli(env, ['profiles', 'use', 'default'])).code, 0);
  t.equal(JSON.parse((await cli(env, ['tags', 'list', '--all', '--json'])).stdout).length, 2, 'and back');
  t.equal(JSON.parse((await cli(env, ['tags', 'list', '--all', '--json', '--profile', 'other'])).stdout).length, 0, '--profile for one command');
  t.equal((await cli(env, ['profiles', 'use', 'nobody'])).code, 3);
  t.equal((await cli(env, ['profiles', 'frob'])).code, 2);
  t.same(JSON.parse((await cli(env, ['profiles', 'list', '--json'])).stdout), [{ name: 'default', current: true, api_url: api.url }, { name: 'other', current: false, api_url: api.url }]);
  t.equal((await cli(env, ['logout', '--profile', 'other'])).code, 0);

  t.equal((await cli(env, ['logout'])).code, 0);
  t.same(JSON.parse(await readFile(file, 'utf8')), { profiles: {} });
});

t.test('--help on a command shows its description and fields from the OpenAPI document', async (t) => {
  const env = { XDG_CONFIG_HOME: await configHome(t) };
  const exportHelp = await cli(env, ['exports', 'create', '--help']);
  t.equal(exportHelp.code, 0);
  t.match(exportHelp.stdout, /^usage: coffer exports create \[--field value…\] \[--data JSON\] \[--wait \[--download FILE\]\]$/m);
  t.match(exportHelp.stdout, /Export a snapshot or items as a ZIP\. Starts an export job \(202\)/, 'summary and description');
  t.match(exportHelp.stdout, /POST \/v1\/exports/);
  t.match(exportHelp.stdout, /--source\.snapshot-id\s+string \(required\) The snapshot/, 'nested fields, dotted, with type and required');
  t.match(exportHelp.stdout, /--destination\.type\s+download \| s3 \| azure \| gcs \(required\)/, 'allowed values');
  t.match(exportHelp.stdout, /--download FILE/);
  const listHelp = await cli(env, ['help', 'jobs', 'list']);
  t.match(listHelp.stdout, /parameters:[\s\S]*--type\s+restore \| export[\s\S]*--state\s+string One or more states/, 'query parameters of a list');
  t.match(listHelp.stdout, /--all/);
  t.match((await cli(env, ['tags', 'update', 'tag_1', '--help'])).stdout, /<id>[\s\S]*--if-match ETAG/);
  t.match((await cli(env, ['backup', '--help'])).stdout, /usage: coffer backup <entity-id> \[--wait\]/);
  t.equal((await cli(env, ['nothing', '--help'])).code, 2);
  // Every command has help with a description.
  for (const spec of SPECS) {
    const words = [...spec.namespace, spec.name].map((w) => w.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`));
    t.ok(spec.summary.length > 0, `${words.join(' ')} has a description`);
  }
});

t.test('completion scripts: bash parses and completes resources and actions; zsh and fish name them too', async (t) => {
  const env = { XDG_CONFIG_HOME: await configHome(t) };
  const bash = await cli(env, ['completion', 'bash']);
  t.equal(bash.code, 0);
  const dir = await configHome(t);
  await writeFile(join(dir, 'coffer.bash'), bash.stdout);
  await t.resolves(run('bash', ['-n', join(dir, 'coffer.bash')]), 'bash -n: it parses');
  const complete = async (...words: string[]) => (await run('bash', ['-c', `source ${join(dir, 'coffer.bash')}; COMP_WORDS=(coffer ${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length}; _coffer; printf '%s\n' "\${COMPREPLY[@]}"`])).stdout.trim().split('\n');
  const resources = await complete('');
  for (const r of ['tags', 'jobs', 'exports', 'restores', 'billing', 'api-keys', 'login', 'profiles', 'backup', 'completion']) t.ok(resources.includes(r), `resource: ${r}`);
  t.same(await complete('ta'), ['tags', 'tasks']);
  t.same(await complete('billing', 'invoices', ''), ['download-pdf', 'email', 'get', 'list', 'pay', 'record-payment']);
  t.ok((await complete('jobs', '')).includes('watch'));
  t.same(await complete('tags', '--js'), ['--json']);
  const zsh = await cli(env, ['completion', 'zsh']);
  t.match(zsh.stdout, /^#compdef coffer/);
  t.match(zsh.stdout, /billing invoices pay/);
  const fish = await cli(env, ['completion', 'fish']);
  t.match(fish.stdout, /complete -c coffer -f -a '\(__coffer_next\)'/);
  t.match(fish.stdout, /'billing invoices pay'/);
  t.equal((await cli(env, ['completion', 'powershell'])).code, 2);
});

t.test('lists are a table on a terminal and tab-separated lines on a pipe; the progress line', async (t) => {
  const items = [
    { id: 'tag_1', name: 'finance', entity_count: 3, created_at: '2026-01-01T00:00:00.000Z' },
    { id: 'tag_22', name: 'a much longer name', entity_count: 0, created_at: '2026-01-02T00:00:00.000Z' },
  ];
  const capture = (isTTY: boolean) => {
    let text = '';
    printList(items, { isTTY, columns: 200, write: (s: string) => ((text += s), true) } as never);
    return text;
  };
  t.equal(capture(true), [
    'ID      NAME                CREATED AT',
    'tag_1   finance             2026-01-01T00:00:00.000Z',
    'tag_22  a much longer name  2026-01-02T00:00:00.000Z',
    '',
  ].join('\n'));
  t.equal(capture(false), 'tag_1\tfinance\t2026-01-01T00:00:00.000Z\ntag_22\ta much longer name\t2026-01-02T00:00:00.000Z\n');

  let now = 0;
  const meter = new Meter(() => now);
  meter.add(0);
  now = 2_000;
  meter.add(4 * 1024 * 1024);
  const line = renderLine('job_1 in_progress', { itemsDone: 120, itemsTotal: 300, bytesDone: 4 * 1024 * 1024, bytesTotal: 10 * 1024 * 1024 }, meter, 120);
  t.equal(line, '[===========>                  ] job_1 in_progress  40% 120/300 items · 4.0 MiB/10.0 MiB · 2.0 MiB/s · ETA 0:03', 'items and bytes of total, rate, ETA');
});

const run = promisify(execFile);


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
  const env = { XDG_CONFIG_HOME: await configHome(t), COFFER_API_KEY: 'cfk_test', COFFER_API_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };

  const failed = await cli(env, ['jobs', 'wait', 'job_1']);
  t.equal(failed.code, 6, failed.stderr);
  t.match(failed.stderr, /in_progress 0\/1/);
  t.match(failed.stderr, /error: job job_1 failed: storage unreachable/);

  answers.push({ state: 'in_progress' }, { state: 'failed', reason: 'disk full' });
  const watched = await cli(env, ['jobs', 'watch', 'job_1', '--json']);
  t.equal(watched.code, 6, 'jobs watch --json: exit 6 too');
  t.same(jsonLines(watched.stdout).map((l) => [l.type, l.job.state]), [['progress', 'in_progress'], ['progress', 'failed'], ['summary', 'failed']], 'progress lines, then the summary even when it failed');

  const interrupted = await cli(env, ['tags', 'list'], { interruptAfterMs: 1_500 });
  t.equal(interrupted.code, 130);
});

t.test('on a terminal: the API key typed at the prompt is not echoed, and long work draws a progress bar', async (t) => {
  const states = [{ state: 'in_progress', items_done: 120, bytes_done: 4 << 20 }, { state: 'succeeded', items_done: 300, bytes_done: 10 << 20 }];
  const server = createServer((req, res) => {
    req.resume();
    const body = req.url === '/v1/me'
      ? { account: { id: 'acct_1', name: 'Acme' } }
      : { id: 'job_1', type: 'export', items_total: 300, bytes_total: 10 << 20, reason: null, ...(states.shift() ?? { state: 'succeeded' }) };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => { server.closeAllConnections(); return new Promise<void>((r) => server.close(() => r())); });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const home = await configHome(t);

  const secret = 'cfk_TYPEDATTHEPROMPT0123456789abcdef';
  const login = await onTerminal({ XDG_CONFIG_HOME: home }, ['login', '--api-url', url], { waitFor: /API key: /, input: `${secret}\r` });
  t.equal(login.code, 0, login.output);
  t.match(login.output, /logged in to .* account Acme \(acct_1\)/);
  t.notOk(login.output.includes(secret), 'the key never appears on the terminal');
  t.notOk(login.output.includes('cfk_'), 'not even its prefix');
  t.equal(JSON.parse(await readFile(join(home, 'coffer/config.json'), 'utf8')).profiles.default.apiKey, secret, 'yet it was read and saved');

  const watched = await onTerminal({ XDG_CONFIG_HOME: home }, ['jobs', 'watch', 'job_1']);
  t.equal(watched.code, 0, watched.output);
  t.match(watched.output, /\r\x1b\[2K\[=+>? *\] job_1 in_progress  40% 120\/300 items · 4\.0 MiB\/10\.0 MiB/, 'redrawn in place: items and bytes done of total');
  t.match(watched.output, /\r\x1b\[2K\[=+\] job_1 succeeded 100% 300\/300 items · 10\.0 MiB\/10\.0 MiB · [\d.]+ [KMG]?i?B\/s · ETA 0:00/, 'rate and ETA once it moves');
});
