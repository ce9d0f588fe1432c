// Bring your own storage: GET /v1/storage says where backups go; PUT points them at the account's
// own S3-compatible bucket (s3rver here) after a real write/read/delete probe. Backups then land in
// that bucket under the prefix and read back; wrong credentials or a missing bucket are a 422 that
// saves nothing; the secret is never returned; private endpoints are refused unless allowed; the
// target cannot change once backups are stored; another account never sees it; and purging the
// account removes Coffer's packs from the bucket, nothing else.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { startBackupFixture } from '../helpers/backup-fixture.ts';
import { startS3rver } from '../workers/storage/fixtures/start-s3rver.ts';
import { createS3Client } from '../../workers/storage/index.ts';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fakeResolver } from '../helpers/resolver.ts';

t.test('an account backs up into its own bucket', async (t) => {
  const s3rver = await startS3rver('acme-own-bucket');
  t.teardown(() => s3rver.stop());
  const f = await startBackupFixture(t, { config: { storageAllowPrivateEndpoints: true }, region: 'eu-west-1' });
  const key = f.account.key;
  const client = createS3Client({ endpoint: s3rver.endpoint, region: 'us-east-1', bucket: s3rver.bucket, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true });
  t.teardown(() => client.destroy());
  const keysIn = async (prefix: string) =>
    ((await client.send(new ListObjectsV2Command({ Bucket: s3rver.bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!);
  // Something of the customer's own, which Coffer must never touch.
  await client.send(new PutObjectCommand({ Bucket: s3rver.bucket, Key: 'theirs/report.pdf', Body: 'not coffer' }));

  const initial = await f.app.request('GET', '/v1/storage', { key });
  t.equal(initial.status, 200);
  t.match(initial.body, { kind: 'managed', region: 'eu-west-1', bucket: null, has_backups: false });

  const target = { kind: 's3', bucket: s3rver.bucket, region: 'us-east-1', endpoint: s3rver.endpoint, prefix: 'coffer/', access_key_id: 'S3RVER', secret_access_key: 'S3RVER' };
  // (s3rver does not check signatures, so a wrong secret cannot be shown failing here; a missing
  // bucket and an endpoint nobody answers can.)
  const missing = await f.app.request('PUT', '/v1/storage', { key, body: { ...target, bucket: 'no-such-bucket', secret_access_key: 'secret-xyz' } });
  t.equal(missing.status, 422);
  t.match(missing.body, { type: 'urn:coffer:problem:storage_unreachable', detail: /could not write a test object to bucket "no-such-bucket" \(NoSuchBucket/ });
  t.notMatch(missing.text, /secret-xyz/, 'the secret is not echoed');
  const silent = await f.app.request('PUT', '/v1/storage', { key, body: { ...target, endpoint: 'http://127.0.0.1:9' } });
  t.equal(silent.status, 422);
  const badPrefix = await f.app.request('PUT', '/v1/storage', { key, body: { ...target, prefix: 'no-trailing-slash' } });
  t.equal(badPrefix.status, 400);
  t.match((await f.app.request('GET', '/v1/storage', { key })).body, { kind: 'managed' }, 'nothing saved by failed attempts');

  const saved = await f.app.request('PUT', '/v1/storage', { key, body: target });
  t.equal(saved.status, 200);
  t.match(saved.body, { kind: 's3', bucket: 'acme-own-bucket', prefix: 'coffer/', endpoint: s3rver.endpoint, access_key_id: 'S3RVER', force_path_style: true });
  t.ok(saved.body.verified_at);
  t.notOk('secret_access_key' in saved.body, 'the secret is never returned');
  const [row] = await f.app.deps.sql<{ secret_access_key: string }[]>`select secret_access_key from account_storage where account_id = ${f.accountId}`;
  t.notMatch(row!.secret_access_key, /S3RVER/, 'the secret is stored sealed');
  t.same(await keysIn('coffer/coffer-probe/'), [], 'the probe object was deleted');

  const other = await f.app.signUp({ email: 'other@coffer.test' });
  t.match((await f.app.request('GET', '/v1/storage', { key: other.key })).body, { kind: 'managed', bucket: null }, 'another account keeps its own target');

  // A backup goes to the bucket and reads back.
  const bob = f.emu.state.addMember({ email: 'bob@coffer-emu.test' });
  f.emu.state.putFile(bob, '/big.bin', randomBytes(5 * 1024 * 1024));
  for (let i = 0; i < 20; i++) f.emu.state.putFile(bob, `/notes/${i}.txt`, `note ${i}`);
  const entityId = await f.memberEntity(bob);
  const r = await f.backup(entityId);
  t.equal(r.outcome, 'succeeded');
  if (r.outcome !== 'succeeded') return;
  await f.assertSnapshot(t, entityId, r.runId, f.dropboxState(bob.homeNsId), 'own bucket');
  const packs = await keysIn('coffer/packs/');
  t.ok(packs.length >= 1, `${packs.length} pack objects in the customer's bucket`);

  const locked = await f.app.request('PUT', '/v1/storage', { key, body: { kind: 'managed' } });
  t.equal(locked.status, 409);
  t.match(locked.body, { type: 'urn:coffer:problem:storage_in_use' });
  t.match((await f.app.request('GET', '/v1/storage', { key })).body, { kind: 's3', has_backups: true });

  // Purging the account removes Coffer's packs and nothing else of the bucket.
  await f.app.deps.sql`update accounts set state = 'pending_deletion', purge_at = ${new Date(0).toISOString()} where id = ${f.accountId}`;
  const { purgeAccount } = await import('../../workers/jobs/account-purge.ts');
  await purgeAccount(f.app.deps, f.accountId, f.app.clock.now());
  t.same(await keysIn('coffer/'), [], "Coffer's objects are gone");
  t.same(await keysIn('theirs/'), ['theirs/report.pdf'], "the customer's own object is untouched");
});

t.test('endpoints on private addresses are refused unless the server allows them; permissions apply', async (t) => {
  const f = await startBackupFixture(t);
  const key = f.account.key;
  const body = { kind: 's3', bucket: 'b-1', region: 'us-east-1', endpoint: 'http://127.0.0.1:9000', access_key_id: 'a', secret_access_key: 's' };
  const refused = await f.app.request('PUT', '/v1/storage', { key, body });
  t.equal(refused.status, 400);
  t.match(refused.body, { errors: [{ pointer: '/body/endpoint', detail: /non-public address/ }] });
  const metadata = await f.app.request('PUT', '/v1/storage', { key, body: { ...body, endpoint: 'http://169.254.169.254' } });
  t.equal(metadata.status, 400, 'the cloud metadata address too');

  const backupsOnly = await f.app.request('POST', '/v1/api-keys', { key, body: { name: 'backups only', scopes: ['backups:read'] } });
  t.equal(backupsOnly.status, 201);
  t.equal((await f.app.request('GET', '/v1/storage', { key: backupsOnly.body.secret })).status, 403, 'account:read is needed to see the target');
  const readOnly = await f.app.request('POST', '/v1/api-keys', { key, body: { name: 'settings reader', scopes: ['account:read'] } });
  t.equal((await f.app.request('GET', '/v1/storage', { key: readOnly.body.secret })).status, 200);
  t.equal((await f.app.request('PUT', '/v1/storage', { key: readOnly.body.secret, body: { kind: 'managed' } })).status, 403, 'account:manage is needed to change it');
});

t.test('attack: a bucket endpoint whose name resolves to 127.0.0.1 (or is localhost.) passes the storage check', async (t) => {
  const s3rver = await startS3rver('inside-bucket');
  t.teardown(() => s3rver.stop());
  const f = await startBackupFixture(t);
  const key = f.account.key;
  const port = new URL(s3rver.endpoint).port;
  // `storage.customer.example` stands for a public-looking name whose DNS answer is 127.0.0.1.
  const resolver = fakeResolver({ 'storage.customer.example': '127.0.0.1' });
  f.app.deps.resolveHost = resolver;
  const client = createS3Client({ endpoint: s3rver.endpoint, region: 'us-east-1', bucket: s3rver.bucket, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true });
  t.teardown(() => client.destroy());
  const objects = async () => ((await client.send(new ListObjectsV2Command({ Bucket: s3rver.bucket }))).Contents ?? []).map((o) => o.Key!);
  const body = { kind: 's3', bucket: s3rver.bucket, region: 'us-east-1', prefix: 'coffer/', access_key_id: 'S3RVER', secret_access_key: 'S3RVER' };

  const rebound = await f.app.request('PUT', '/v1/storage', { key, body: { ...body, endpoint: `http://storage.customer.example:${port}` } });
  t.equal(rebound.status, 422, rebound.text);
  t.equal(rebound.body.code, 'storage_unreachable');
  t.match(rebound.body.detail, /could not write a test object to bucket "inside-bucket" \(the endpoint resolves to a non-public address\)/);
  t.ok(resolver.asked.includes('storage.customer.example'), 'the name was resolved at connect time');
  t.same(await objects(), [], 'nothing reached the server behind the name');
  t.match((await f.app.request('GET', '/v1/storage', { key })).body, { kind: 'managed' }, 'nothing saved');

  const dotted = await f.app.request('PUT', '/v1/storage', { key, body: { ...body, endpoint: `http://localhost.:${port}` } });
  t.equal(dotted.status, 400, '`localhost.` is localhost');
  t.match(dotted.body, { errors: [{ pointer: '/body/endpoint', detail: /local host name/ }] });

  // COFFER_STORAGE_ALLOW_PRIVATE_ENDPOINTS still lets it through, by the same name: the probe now
  // reaches s3rver (which reads a host name it does not know as a virtual-hosted bucket's, hence
  // NoSuchBucket rather than success).
  (f.app.deps.config as { storageAllowPrivateEndpoints?: boolean }).storageAllowPrivateEndpoints = true;
  const allowed = await f.app.request('PUT', '/v1/storage', { key, body: { ...body, endpoint: `http://storage.customer.example:${port}` } });
  t.equal(allowed.status, 422, allowed.text);
  t.match(allowed.body.detail, /\(NoSuchBucket\)/, 'the request reached the server behind the name');
});

t.test('attack: the storage probe echoes what the server behind the endpoint answered', async (t) => {
  // Not S3: an inside service that answers with something worth stealing.
  const server = createServer((req, res) => {
    res.writeHead(500, { 'content-type': 'application/xml' });
    res.end('<?xml version="1.0"?><Error><Code>InternalMetadata</Code><Message>iam-role=coffer-prod secret=AKIA-LEAKED</Message></Error>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const f = await startBackupFixture(t, { config: { storageAllowPrivateEndpoints: true } });
  const port = (server.address() as AddressInfo).port;
  const res = await f.app.request('PUT', '/v1/storage', {
    key: f.account.key,
    body: { kind: 's3', bucket: 'b-1', region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, access_key_id: 'a', secret_access_key: 's' },
  });
  t.equal(res.status, 422);
  t.match(res.body.detail, /\(the endpoint answered HTTP 500\)/);
  t.notMatch(res.text, /AKIA-LEAKED|iam-role|InternalMetadata/, 'nothing of the answer is echoed');
});
