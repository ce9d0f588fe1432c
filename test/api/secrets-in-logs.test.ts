// Secrets never reach the logs. Representative flows run with the log captured at its most verbose
// level (services, workers, the request log, the mail outbox's lines): sign-up and sign-in,
// password reset, API keys (also a refused one), TOTP, webhook secrets and a signed delivery,
// storage credentials refused by the bucket, the Dropbox OAuth code and state, the refresh and
// access tokens Dropbox issued, a backup, an export's download link, and a SAML sign-in. Then every
// secret the test created or was given is searched for in every log line, and in every error body.
// (The whole suite's logs are scanned too, after tap: scripts/secret-scan.ts.)
import t, { type Test } from 'tap';
import { Writable } from 'node:stream';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createMailer } from '../../api/mail/mailer.ts';
import { startLiveTeam } from '../helpers/live-team.ts';
import { startTestApp, type TestResponse } from '../helpers/app.ts';
import { startTestIdp } from '../helpers/saml-idp.ts';
import { sp, acs, startLogin } from '../helpers/saml.ts';
import { PASSWORD } from '../helpers/security.ts';

/** A pino logger at `trace` whose lines are kept, and the error bodies the test saw. */
function capture() {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { lines.push(chunk.toString()); cb(); } });
  const errorBodies: string[] = [];
  return {
    log: pino({ level: 'trace' }, sink),
    lines,
    /** Keeps the body of an error answer, to be scanned too. */
    seen(res: TestResponse) {
      if (res.status >= 400) errorBodies.push(res.text);
      return res;
    },
    assertClean(t: Test, secrets: Record<string, string>) {
      t.ok(lines.length > 5, `${lines.length} log lines captured`);
      for (const [name, secret] of Object.entries(secrets)) {
        t.ok(secret && secret.length >= 8, `${name} was created`);
        const inLog = lines.find((l) => l.includes(secret));
        t.notOk(inLog, `${name} is in no log line${inLog ? `: ${inLog.slice(0, 300)}` : ''}`);
        t.notOk(errorBodies.some((b) => b.includes(secret)), `${name} is in no error body`);
      }
    },
  };
}

async function outboxToken(dir: string, pattern: RegExp): Promise<string> {
  for (const file of await readdir(join(dir, 'outbox')).catch(() => [] as string[])) {
    const m = pattern.exec((await readFile(join(dir, 'outbox', file), 'utf8')).replace(/=\r?\n/g, '').replace(/=3D/g, '='));
    if (m) return m[1]!;
  }
  throw new Error(`no mail matching ${pattern} in ${(await readdir(join(dir, 'outbox')).catch(() => [])).join(', ')}`);
}

t.test('sign-in, API keys, password reset, TOTP, webhooks, storage, Dropbox OAuth, backup and export: no secret is logged', async (t) => {
  const cap = capture();
  const dataDir = await mkdtemp(join(tmpdir(), 'coffer-secrets-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  // A webhook receiver that answers 500 once, then 200 (a failed attempt is logged too).
  let hits = 0;
  const receiver = createServer((_req, res) => { res.statusCode = hits++ === 0 ? 500 : 200; res.end('nope'); });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  t.teardown(() => receiver.close());
  const live = await startLiveTeam(t, { '/Docs/a.txt': 'hello', '/b.bin': Buffer.alloc(100_000, 1) }, {
    log: cap.log,
    mailer: createMailer({ smtpUrl: undefined, mailFrom: 'Coffer <no-reply@coffer.test>', dataDir }, cap.log),
    config: { dataDir, webhooks: { allowPrivateTargets: true, retrySchedule: [1] } },
  });
  const { api, account } = live;
  const email = account.body.user.email as string;
  const secrets: Record<string, string> = { 'the first API key': account.key, 'the sign-up password': 'correct horse battery staple' };
  const req = async (method: string, path: string, o: { key?: string; body?: unknown; headers?: Record<string, string> } = {}) => cap.seen(await api.request(method, path, o));

  const session = await req('POST', '/v1/sessions', { body: { email, password: 'correct horse battery staple' } });
  t.equal(session.status, 201);
  secrets['a session token'] = session.body.token;
  t.equal((await req('POST', '/v1/sessions', { body: { email, password: 'wrong-password-s3cr3t' } })).status, 401);
  secrets['a wrong password'] = 'wrong-password-s3cr3t';

  const created = await req('POST', '/v1/api-keys', { key: account.key, body: { name: 'ci', scopes: ['account:read'] } });
  t.equal(created.status, 201, created.text);
  secrets['a new API key'] = created.body.secret;
  t.equal((await req('GET', '/v1/me', { key: created.body.secret })).status, 200);
  t.equal((await req('GET', '/v1/me', { key: 'cfk_NotARealKeyButSecretLooking123456' })).status, 401);
  secrets['a refused API key'] = 'cfk_NotARealKeyButSecretLooking123456';

  const totp = await req('POST', '/v1/me/2fa', { key: session.body.token });
  t.equal(totp.status, 201);
  secrets['a TOTP secret'] = totp.body.secret;

  const hook = await req('POST', '/v1/webhooks', { key: account.key, body: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, events: ['ping'] } });
  t.equal(hook.status, 201, hook.text);
  secrets['a webhook secret'] = hook.body.secret;
  t.equal((await req('POST', `/v1/webhooks/${hook.body.id}/ping`, { key: account.key })).status, 202);
  const rotated = await req('POST', `/v1/webhooks/${hook.body.id}/rotate-secret`, { key: account.key });
  secrets['a rotated webhook secret'] = rotated.body.secret;

  const storage = await req('PUT', '/v1/storage', { key: account.key, body: {
    kind: 's3', bucket: 'nobody-answers', region: 'us-east-1', endpoint: 'http://127.0.0.1:9', access_key_id: 'AKIASECRETSINLOGS01', secret_access_key: 'StorageSecretAccessKey/InLogs+0123456789',
  } });
  t.equal(storage.status, 422, 'the bucket cannot be reached');
  secrets['a storage secret access key'] = 'StorageSecretAccessKey/InLogs+0123456789';

  // Dropbox: the OAuth code and state travel through the callback; the emulator issues the tokens.
  const { entityId } = await live.connect();
  for (const code of live.emu.state.authCodes.keys()) secrets[`the OAuth code ${code.slice(0, 6)}…`] = code;
  for (const token of live.emu.state.refreshTokens.keys()) secrets[`a Dropbox refresh token ${token.slice(0, 6)}…`] = token;
  const backup = await req('POST', '/v1/entities/actions', { key: account.key, body: { action: 'backup_now', entity_ids: [entityId] } });
  t.ok(backup.status < 300, `backup asked for (${backup.status})`);
  for (let i = 0; i < 300; i++) {
    const runs = await req('GET', `/v1/entities/${entityId}/runs`, { key: account.key });
    if (runs.body?.data?.some((r: { state: string }) => r.state === 'succeeded')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const token of live.emu.state.accessTokens.keys()) secrets[`a Dropbox access token ${token.slice(0, 6)}…`] = token;
  const snapshots = await req('GET', `/v1/entities/${entityId}/snapshots`, { key: account.key });
  const exported = await req('POST', '/v1/exports', { key: account.key, body: { source: { snapshot_id: snapshots.body.data[0].id }, destination: { type: 'download' } } });
  t.equal(exported.status, 202, exported.text);
  let job: any;
  for (let i = 0; i < 300; i++) {
    job = (await req('GET', `/v1/jobs/${exported.body.id}`, { key: account.key })).body;
    if (job.state === 'succeeded') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(job.state, 'succeeded');
  const link = new URL(job.download.url).pathname;
  t.equal((await fetch(`${api.url}${link}`)).status, 200, 'the download link works');
  secrets['an export download link token'] = link.split('/').pop()!;

  // Password reset last (it ends the sessions): its token arrives by mail.
  t.equal((await req('POST', '/v1/password-reset', { body: { email } })).status, 202);
  const reset = await outboxToken(dataDir, /token=(cft_[0-9A-Za-z]+)/);
  secrets['a password-reset token'] = reset;
  t.equal((await req('POST', '/v1/password-reset/complete', { body: { token: reset, password: 'a brand new passphrase 42' } })).status, 204);
  secrets['a new password'] = 'a brand new passphrase 42';

  await api.settled();
  cap.assertClean(t, secrets);
});

t.test('a SAML sign-in: the session token and the assertion are not logged', async (t) => {
  const cap = capture();
  const api = await startTestApp(t, { log: cap.log, config: { samlMetadataTrustedHosts: ['127.0.0.1'] } });
  const idp = await startTestIdp(t);
  const admin = await api.signUp();
  const email = admin.body.user.email as string;
  const on = cap.seen(await api.request('PUT', '/v1/security/saml', { key: admin.key, body: { metadata_url: idp.metadataUrl, enabled: true, confirm: true, current_password: PASSWORD } }));
  t.equal(on.status, 200, on.text);
  const urls = sp(api, admin.accountId);
  const authn = await startLogin(api, idp, admin.accountId);
  const response = idp.response({ inResponseTo: authn.id, nameId: email, audience: urls.entityId, recipient: urls.acsUrl });
  const res = cap.seen(await acs(api, admin.accountId, response));
  t.equal(res.status, 201, 'signed in through the identity provider');
  const token: string = res.body?.token ?? '';
  t.equal((await api.request('GET', '/v1/me', { key: token })).status, 200);
  cap.assertClean(t, { 'the SAML session token': token ?? '', 'the signed SAML response': response.slice(40, 120), 'the API key': admin.key });
});
