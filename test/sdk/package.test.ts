// @coffer/sdk as a user gets it: `npm pack` the workspace, install the tarball into a project
// outside the repository, and run a plain .mjs with the system `node` (not the repository's Node
// 24: the package promises Node 20) against a live server; then type-check a TypeScript consumer
// against the shipped .d.ts files alone. The newcomer signs up and activates with the SDK too.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startTestApp } from '../helpers/app.ts';
import { signatureHeader } from '../../api/resources/webhooks/signature.ts';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
/** PATH without the repository's node_modules/.bin, so `node` and `npm` are the system's. */
const systemPath = (process.env.PATH ?? '').split(delimiter).filter((dir) => !resolve(dir).startsWith(resolve(repo))).join(delimiter);
const systemEnv = { ...process.env, PATH: systemPath, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

/** A newcomer signs up with the SDK alone: the request, then (with the emailed token) the activation. */
const signUpScript = `
import { Coffer } from '@coffer/sdk';

const coffer = new Coffer({ baseUrl: process.env.COFFER_URL });
if (process.env.ACTIVATION_TOKEN) {
  const activated = await coffer.accounts.activate({ token: process.env.ACTIVATION_TOKEN });
  console.log(JSON.stringify({ key: activated.api_key.secret, accountId: activated.account.id }));
} else {
  const asked = await coffer.accounts.signUp({ name: 'Newcomer', email: process.env.EMAIL, password: 'correct horse battery staple', region: 'eu-west-1' });
  console.log(JSON.stringify({ status: asked.status }));
}
`;

const consumerScript = `
import { Coffer, CofferError, ConflictError, NotFoundError, ValidationError } from '@coffer/sdk';
import { verifyWebhookSignature } from '@coffer/sdk/webhooks';

const coffer = new Coffer({ baseUrl: process.env.COFFER_URL, apiKey: process.env.COFFER_API_KEY });
const out = { node: process.version, execPath: process.execPath };
for (const name of ['alpha', 'beta', 'gamma']) await coffer.tags.create({ name });
out.all = [];
for await (const t of coffer.tags.list()) out.all.push(t.name);
out.paged = [];
for await (const t of coffer.tags.list({ limit: 2 })) out.paged.push(t.name);
const first = await coffer.tags.list({ limit: 2 });
out.firstPage = { names: first.data.map((t) => t.name), hasNext: first.hasNextPage() };
const created = await coffer.tags.create({ name: 'delta' });
const tag = await coffer.tags.get(created.id);
out.got = { same: tag.id === created.id, name: tag.name, etag: tag.lastResponse.etag, keys: Object.keys(tag).sort() };
out.updated = (await coffer.tags.update(tag.id, { name: 'delta-2' }, { ifMatch: tag })).name;
try { await coffer.tags.update(tag.id, { name: 'stale' }, { ifMatch: tag }); } catch (e) {
  out.stale = { conflict: e instanceof ConflictError, status: e.status, code: e.code };
}
try { await coffer.tags.get('tag_00000000000000000000000000'); } catch (e) {
  out.missing = { notFound: e instanceof NotFoundError, cofferError: e instanceof CofferError, status: e.status, code: e.code, requestId: e.requestId };
}
try { await coffer.tags.create({ name: '' }); } catch (e) {
  out.invalid = { validation: e instanceof ValidationError, pointers: e.fieldErrors.map((f) => f.pointer) };
}
const { WEBHOOK_SECRET: secret, WEBHOOK_HEADER: header, WEBHOOK_BODY: body } = process.env;
out.webhook = [await verifyWebhookSignature(secret, header, body), await verifyWebhookSignature(secret, header, body + ' ')].map((r) => r.reason ?? 'valid');
console.log(JSON.stringify(out));
`;

const consumerTs = `
import { Coffer, NotFoundError, type Page } from '@coffer/sdk';
import { verifyWebhookSignature, type VerifyResult } from '@coffer/sdk/webhooks';
import type { components } from '@coffer/sdk';

const coffer = new Coffer({ baseUrl: 'https://coffer.example.com', apiKey: 'cfk_x' });
export async function demo(): Promise<string[]> {
  const names: string[] = [];
  for await (const tag of coffer.tags.list({ limit: 10 })) names.push(tag.name);
  const page: Page<components['schemas']['Tag']> = await coffer.tags.list();
  const tag = await coffer.tags.create({ name: 'x' }, { idempotencyKey: 'k', timeoutMs: 5000 });
  const etag: string | undefined = tag.lastResponse.etag;
  await coffer.tags.update(tag.id, { name: 'y' }, { ifMatch: tag });
  await coffer.tags.update(tag.id, { name: 'z' }, { ifMatch: etag });
  await coffer.tags.delete(tag.id);
  const job = await coffer.jobs.wait('job_1', { onProgress: (j) => names.push(j.state), timeoutMs: 1000 });
  const result: VerifyResult = await verifyWebhookSignature('whsec_x', null, '');
  const scoped: Coffer = coffer.withAccount('acct_1');
  // @ts-expect-error a tag has no such field
  await coffer.tags.create({ title: 'x' });
  // @ts-expect-error update takes an id
  await coffer.tags.update({ name: 'y' });
  return [...names, page.data[0]?.name ?? '', job.state, String(result.valid), String(scoped), String(NotFoundError)];
}
`;

t.test('the packed @coffer/sdk installs into a fresh project and works on the system Node against a live server', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-sdk-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));

  const packed = await run('npm', ['pack', '-w', '@coffer/sdk', '--pack-destination', dir, '--json'], { cwd: repo, env: systemEnv, maxBuffer: 16 << 20 });
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  const shipped = info!.files.map((f) => f.path).sort();
  t.ok(['dist/index.js', 'dist/index.d.ts', 'dist/schema.d.ts', 'dist/webhooks.js', 'dist/cli/bin.js'].every((p) => shipped.includes(p)), 'the build output ships');
  t.same(shipped.filter((p) => !p.startsWith('dist/')), ['LICENSE', 'README.md', 'package.json'], 'nothing but dist, the license, the README and package.json');
  t.notOk(shipped.some((p) => p.endsWith('.ts') && !p.endsWith('.d.ts')), 'no TypeScript sources');

  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  await run('npm', ['install', '--prefer-offline', '--no-package-lock', join(dir, info!.filename.replace(/^.*\//, ''))], { cwd: dir, env: systemEnv, maxBuffer: 16 << 20 });
  const manifest = JSON.parse(await readFile(join(dir, 'node_modules/@coffer/sdk/package.json'), 'utf8'));
  t.equal(manifest.version, '0.1.0');
  t.equal(manifest.engines.node, '>=20');
  t.equal(manifest.license, 'MIT', 'users may use, change and ship it (the service itself stays unlicensed)');

  const api = await startTestApp(t);
  await writeFile(join(dir, 'signup.mjs'), signUpScript);
  const email = 'newcomer@example.test';
  const asked = await run('node', ['signup.mjs'], { cwd: dir, env: { ...systemEnv, COFFER_URL: api.url, EMAIL: email } });
  t.same(JSON.parse(asked.stdout), { status: 'activation_sent' }, 'sign-up with the SDK: an activation email');
  await api.settled();
  const mail = api.sentMail.find((m) => m.to === email);
  const token = /[?&]token=(cfa_[0-9A-Za-z]{32})/.exec(mail?.text ?? '')?.[1];
  t.ok(token, 'the activation link reached the newcomer');
  const activated = await run('node', ['signup.mjs'], { cwd: dir, env: { ...systemEnv, COFFER_URL: api.url, ACTIVATION_TOKEN: token! } });
  const account = JSON.parse(activated.stdout) as { key: string; accountId: string };
  t.match(account, { key: /^cfk_/, accountId: /^acct_/ }, 'activated with the SDK: an account and its first API key');
  await writeFile(join(dir, 'consumer.mjs'), consumerScript);
  const webhook = { WEBHOOK_SECRET: 'whsec_k3Xb0Q7c1vJ5m8Yp2Lr6Wz9Ta4Ns0Hd1Fg5Ue8Iy3Ow', WEBHOOK_BODY: '{"id":"evt_1","type":"ping"}' };
  const env = { ...systemEnv, ...webhook, WEBHOOK_HEADER: signatureHeader(webhook.WEBHOOK_SECRET, webhook.WEBHOOK_BODY, Math.floor(Date.now() / 1000)), COFFER_URL: api.url, COFFER_API_KEY: account.key };
  const { stdout } = await run('node', ['consumer.mjs'], { cwd: dir, env });
  const out = JSON.parse(stdout);
  t.comment(`ran on ${out.node} (${out.execPath})`);
  t.notOk(resolve(out.execPath).startsWith(resolve(repo)), 'the system node, not the repository one');
  t.ok(Number(/^v(\d+)/.exec(out.node)![1]) >= 20);
  t.same(out.all, ['gamma', 'beta', 'alpha'], 'for await walks the list');
  t.same(out.paged, ['gamma', 'beta', 'alpha'], 'and every page of it');
  t.same(out.firstPage, { names: ['gamma', 'beta'], hasNext: true }, 'awaiting list() gives the first page');
  t.same(out.got, { same: true, name: 'delta', etag: '"v1"', keys: ['created_at', 'entity_count', 'id', 'name', 'updated_at'] }, 'lastResponse is not an enumerable field');
  t.equal(out.updated, 'delta-2', 'updated with If-Match from the read');
  t.same(out.stale, { conflict: true, status: 412, code: 'precondition_failed' }, 'a stale If-Match is a ConflictError');
  t.match(out.missing, { notFound: true, cofferError: true, status: 404, code: 'not_found', requestId: /^req_/ });
  t.same(out.invalid, { validation: true, pointers: ['/body/name'] });
  t.same(out.webhook, ['valid', 'signature_mismatch'], 'the webhooks entry point verifies what the server signs, with WebCrypto on Node 20');

  // The `coffer` bin of the installed package, on the system Node too.
  const cliEnv = { ...systemEnv, XDG_CONFIG_HOME: join(dir, 'config'), COFFER_API_KEY: account.key, COFFER_API_URL: api.url };
  const me = await run(join(dir, 'node_modules/.bin/coffer'), ['api', 'GET', '/v1/me', '--json'], { cwd: dir, env: cliEnv });
  t.equal(JSON.parse(me.stdout).account.id, account.accountId, 'the installed coffer bin runs');
  const tags = await run(join(dir, 'node_modules/.bin/coffer'), ['tags', 'list', '--all', '--json'], { cwd: dir, env: cliEnv });
  t.same(JSON.parse(tags.stdout).map((x: { name: string }) => x.name), ['delta-2', 'gamma', 'beta', 'alpha']);
  const missing = await run(join(dir, 'node_modules/.bin/coffer'), ['tags', 'get', 'tag_00000000000000000000000000'], { cwd: dir, env: cliEnv }).catch((e: { code: number }) => e);
  t.equal((missing as { code: number }).code, 4, 'exit code 4 for not found');

  // `coffer iac` (HashiCorp's HCL parser as WebAssembly included) from the installed package, and the library entry point.
  const iacDir = join(dir, 'infra');
  await run('mkdir', ['-p', iacDir]);
  await writeFile(join(iacDir, 'main.tf'), 'resource "coffer_tag" "iac" {\n  name = lower("From-IaC")\n}\n');
  const applied = await run(join(dir, 'node_modules/.bin/coffer'), ['iac', `-chdir=${iacDir}`, 'apply', '-auto-approve'], { cwd: dir, env: cliEnv });
  t.match(applied.stdout, /Apply complete! Resources: 1 added, 0 changed, 0 destroyed\./, 'coffer iac apply on the system Node');
  await writeFile(join(dir, 'iac.mjs'), `import { plan } from '@coffer/sdk/iac';\nconst p = await plan({ dir: ${JSON.stringify(iacDir)} });\nconsole.log(JSON.stringify(p.changes.map((c) => [c.address, c.action])));\n`);
  const planned = await run('node', ['iac.mjs'], { cwd: dir, env: cliEnv });
  t.same(JSON.parse(planned.stdout), [['coffer_tag.iac', 'noop']], "import { plan } from '@coffer/sdk/iac': nothing to change after the apply");

  await writeFile(join(dir, 'consumer.ts'), consumerTs);
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'es2022', lib: ['es2023', 'dom', 'dom.iterable'], module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, types: [] },
    files: ['consumer.ts'],
  }));
  const tsc = join(repo, 'node_modules/typescript/bin/tsc');
  const checked = await run(process.execPath, [tsc, '-p', dir]).then(() => '', (err: { stdout: string }) => err.stdout);
  t.equal(checked, '', 'a TypeScript consumer type-checks against the shipped .d.ts (and the @ts-expect-error lines are errors)');
});
