// Exports: a ZIP equal to the snapshot, to a download (encrypted at rest, signed link, 72 h, 410
// after), to S3 (s3rver) and Azure (Azurite); cancel; isolation of jobs and downloads.
import t, { type Test } from 'tap';
import yauzl from 'yauzl';
import { createHash } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { startRecoveryFixture, type RecoveryFixture } from '../helpers/recovery-fixture.ts';
import { startS3rver } from '../workers/storage/fixtures/start-s3rver.ts';
import { startAzurite } from '../helpers/azurite.ts';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCipheriv, randomBytes } from 'node:crypto';
import { archiveKey, ARCHIVE_KEY_CONTEXT } from '../../workers/recovery/export.ts';
import { failExportJob, runExportJob } from '../../workers/jobs/recovery.ts';
import { fakeResolver } from '../helpers/resolver.ts';
import { SEGMENT_BYTES } from '../../workers/recovery/archive-crypto.ts';
import { packKey } from '../../workers/storage/index.ts';
import { accountStorage } from '../../workers/backup/storage.ts';
import { recoverySweepJob } from '../../workers/jobs/recovery.ts';

const MiB = 1024 * 1024;
const FILES: Record<string, Buffer | string> = {
  '/Docs/a.txt': 'hello',
  '/Docs/empty.txt': '',
  '/Fotos/Ünïcødé 日本/naïve café.txt': 'unicode ✓',
  '/big.bin': Buffer.from(Array.from({ length: 5 * MiB + 3 }, (_, i) => (i * 31) % 256)),
  '/Docs/Deep/b.md': '# b '.repeat(1000),
};

async function unzip(buf: Buffer): Promise<Map<string, Buffer | 'dir'>> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(buf, { lazyEntries: true }, (err, z) => (err ? reject(err) : resolve(z!))));
  const out = new Map<string, Buffer | 'dir'>();
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      if (entry.fileName.endsWith('/')) {
        out.set(entry.fileName, 'dir');
        zip.readEntry();
        return;
      }
      zip.openReadStream(entry, (err, stream) => {
        if (err) return reject(err);
        const chunks: Buffer[] = [];
        stream!.on('data', (c: Buffer) => chunks.push(c));
        stream!.on('end', () => {
          out.set(entry.fileName, Buffer.concat(chunks));
          zip.readEntry();
        });
        stream!.on('error', reject);
      });
    });
    zip.on('end', () => resolve());
    zip.on('error', reject);
    zip.readEntry();
  });
  return out;
}

function assertArchive(t: Test, entries: Map<string, Buffer | 'dir'>, files: Record<string, Buffer | string>, dirs: string[] = []) {
  const fileNames = [...entries.keys()].filter((k) => entries.get(k) !== 'dir').sort();
  t.same(fileNames, Object.keys(files).map((p) => p.slice(1)).sort(), 'the archive holds exactly the snapshot\'s files, with their folders');
  for (const [p, c] of Object.entries(files)) t.ok((entries.get(p.slice(1)) as Buffer)?.equals(Buffer.from(c)), `${p}: same bytes`);
  for (const d of dirs) t.equal(entries.get(d), 'dir', `${d}: empty folder kept`);
}

async function fetchBytes(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

let fx: RecoveryFixture;
t.before(async () => {
  // The S3 and Azure stand-ins listen on 127.0.0.1, which export destinations refuse by default (SSRF).
  // trustProxy: the IP allowlist tests say where a request comes from with X-Forwarded-For.
  fx = await startRecoveryFixture(t, FILES, { config: { storageAllowPrivateEndpoints: true, trustProxy: true } });
  fx.emu.state.mkdir(fx.member, '/Nothing here');
  const again = await fx.backup(fx.entityId);
  if (again.outcome !== 'succeeded') throw new Error('backup failed');
  fx.runId = again.runId;
});

t.test('download: the archive equals the snapshot, is encrypted at rest, and its signed link works for 72 hours, then 410', async (t) => {
  const res = await fx.post('/v1/exports', { source: { snapshot_id: fx.runId }, destination: { type: 'download' } });
  t.equal(res.status, 202, res.text);
  t.equal(res.body.type, 'export');
  t.equal(res.body.download, null);
  t.equal(await runExportJob(fx.app.deps, res.body.id), 'succeeded');
  const job = (await fx.get(`/v1/jobs/${res.body.id}`)).body;
  t.equal(job.state, 'succeeded');
  t.equal(job.items_done, 5);
  t.equal(job.bytes_done, job.bytes_total);
  t.ok(job.download, 'a download link');
  t.equal(new Date(job.download.expires_at).getTime() - new Date(job.finished_at).getTime(), 72 * 3600 * 1000);

  const viaApi = await fetchBytes(`${fx.app.url}/v1/jobs/${job.id}/download`, { authorization: `Bearer ${fx.account.key}` });
  t.equal(viaApi.status, 200);
  t.equal(viaApi.headers.get('content-type'), 'application/zip');
  t.equal(viaApi.body.length, job.download.size);
  assertArchive(t, await unzip(viaApi.body), FILES, ['Nothing here/']);

  // Stored encrypted: the blob is not a zip and does not contain the plaintext.
  const { store } = await accountStorage(fx.app.deps, fx.accountId);
  const stored = await store.get(archiveKey(job.id));
  t.not(stored.subarray(0, 2).toString(), 'PK');
  t.equal(stored.indexOf(Buffer.from('# b # b # b')), -1);

  const path = new URL(job.download.url).pathname;
  const link = await fetchBytes(`${fx.app.url}${path}`);
  t.equal(link.status, 200, 'the link needs no credentials');
  t.ok(link.body.equals(viaApi.body));
  // Forged or altered links are useless.
  const token = path.split('/').pop()!;
  const [id, exp, mac] = token.split('.');
  t.equal((await fetchBytes(`${fx.app.url}/v1/downloads/${id}.${Number(exp) + 3600}.${mac}`)).status, 404, 'a longer expiry breaks the signature');
  t.equal((await fetchBytes(`${fx.app.url}/v1/downloads/${id}.${exp}.${'A'.repeat(43)}`)).status, 404);
  t.equal((await fetchBytes(`${fx.app.url}/v1/downloads/nonsense`)).status, 404);

  // Another account: not its job, not its download.
  const other = await fx.app.signUp();
  t.equal((await fx.get(`/v1/jobs/${job.id}`, other.key)).status, 404);
  t.equal((await fetchBytes(`${fx.app.url}/v1/jobs/${job.id}/download`, { authorization: `Bearer ${other.key}` })).status, 404);
  t.equal((await fx.post('/v1/exports', { source: { snapshot_id: fx.runId }, destination: { type: 'download' } }, other.key)).status, 404);

  // 72 hours later: 410, for the link and the API.
  fx.app.clock.advance(72 * 3600 * 1000 - 1000);
  t.equal((await fetchBytes(`${fx.app.url}${path}`)).status, 200, 'still valid just before');
  fx.app.clock.advance(2000);
  const expired = await fetchBytes(`${fx.app.url}${path}`);
  t.equal(expired.status, 410);
  t.equal(JSON.parse(expired.body.toString()).code, 'download_expired');
  t.equal((await fetchBytes(`${fx.app.url}/v1/jobs/${job.id}/download`, { authorization: `Bearer ${fx.account.key}` })).status, 410);
  // The sweep erases expired archives; the link stays a 410.
  const swept = await recoverySweepJob(fx.app.deps);
  t.ok(swept.archivesDeleted >= 1);
  t.equal(await store.head(archiveKey(job.id)), null, 'the archive is gone from storage');
  t.equal((await fetchBytes(`${fx.app.url}${path}`)).status, 410);
  fx.app.clock.advance(-(72 * 3600 * 1000 + 1000));
});

t.test('download resumes: Range answers 206 with exactly the rest, checked by the published sha256; If-Range and bad ranges', async (t) => {
  const res = await fx.post('/v1/exports', { source: { snapshot_id: fx.runId }, destination: { type: 'download' } });
  t.equal(await runExportJob(fx.app.deps, res.body.id), 'succeeded');
  const job = (await fx.get(`/v1/jobs/${res.body.id}`)).body;
  const url = `${fx.app.url}/v1/jobs/${job.id}/download`;
  const auth = { authorization: `Bearer ${fx.account.key}` };
  const whole = await fetchBytes(url, auth);
  t.match(job.download.sha256, /^[0-9a-f]{64}$/);
  t.equal(createHash('sha256').update(whole.body).digest('hex'), job.download.sha256, 'the job publishes the SHA-256 of exactly the bytes served');
  t.equal(whole.headers.get('etag'), `"${job.download.sha256}"`);
  t.equal(whole.headers.get('accept-ranges'), 'bytes');

  // An interrupted download: the first 3 MiB arrived; the rest comes with Range and If-Range.
  const cut = 3 * MiB + 7;
  const rest = await fetchBytes(url, { ...auth, range: `bytes=${cut}-`, 'if-range': whole.headers.get('etag')! });
  t.equal(rest.status, 206);
  t.equal(rest.headers.get('content-range'), `bytes ${cut}-${whole.body.length - 1}/${whole.body.length}`);
  t.equal(Number(rest.headers.get('content-length')), whole.body.length - cut);
  const joined = Buffer.concat([whole.body.subarray(0, cut), rest.body]);
  t.equal(createHash('sha256').update(joined).digest('hex'), job.download.sha256, 'the two parts make the archive again');

  const middle = await fetchBytes(url, { ...auth, range: 'bytes=10-19' });
  t.equal(middle.status, 206);
  t.ok(middle.body.equals(whole.body.subarray(10, 20)), 'a closed range');
  const tail = await fetchBytes(url, { ...auth, range: 'bytes=-5' });
  t.ok(tail.body.equals(whole.body.subarray(-5)), 'a suffix range: the last bytes');
  const stale = await fetchBytes(url, { ...auth, range: `bytes=${cut}-`, 'if-range': `"${'0'.repeat(64)}"` });
  t.equal(stale.status, 200, 'If-Range naming another archive: the whole archive, never a splice of two');
  t.ok(stale.body.equals(whole.body));
  const beyond = await fetchBytes(url, { ...auth, range: `bytes=${whole.body.length}-` });
  t.equal(beyond.status, 416);
  t.equal(beyond.headers.get('content-range'), `bytes */${whole.body.length}`);
  t.equal(JSON.parse(beyond.body.toString()).code, 'range_not_satisfiable');
  t.equal((await fetchBytes(url, { ...auth, range: 'bytes=0-1,5-6' })).status, 200, 'several ranges: served whole');

  const link = `${fx.app.url}${new URL(job.download.url).pathname}`;
  const viaLink = await fetchBytes(link, { range: `bytes=${cut}-` });
  t.equal(viaLink.status, 206, 'the signed link resumes too');
  t.ok(viaLink.body.equals(rest.body));
});

t.test('chosen items: only them, folders recursively', async (t) => {
  const res = await fx.post('/v1/exports', { source: { snapshot_id: fx.runId, items: ['/docs'] }, destination: { type: 'download' } });
  t.equal(res.body.items_total, 3);
  t.equal(await runExportJob(fx.app.deps, res.body.id), 'succeeded');
  const zip = await fetchBytes(`${fx.app.url}/v1/jobs/${res.body.id}/download`, { authorization: `Bearer ${fx.account.key}` });
  const { '/Docs/a.txt': a, '/Docs/empty.txt': e, '/Docs/Deep/b.md': b } = FILES;
  assertArchive(t, await unzip(zip.body), { '/Docs/a.txt': a!, '/Docs/empty.txt': e!, '/Docs/Deep/b.md': b! });
});

t.test('S3 (s3rver): the bucket receives the archive; credentials are never returned', async (t) => {
  const s3 = await startS3rver('exports');
  t.teardown(() => s3.stop());
  const res = await fx.post('/v1/exports', {
    source: { snapshot_id: fx.runId },
    destination: { type: 's3', bucket: 'exports', key: 'coffer/backup.zip', endpoint: s3.endpoint, region: 'us-east-1', force_path_style: true, access_key_id: 'S3RVER', secret_access_key: 'S3RVER' },
  });
  t.equal(res.status, 202, res.text);
  t.notOk(JSON.stringify(res.body).includes('S3RVER'), 'credentials are not in the job');
  const [row] = await fx.app.deps.sql<{ destination_secret: string }[]>`select destination_secret from jobs where id = ${res.body.id}`;
  t.notOk(row!.destination_secret.includes('S3RVER'), 'stored sealed');
  t.equal(await runExportJob(fx.app.deps, res.body.id), 'succeeded');
  const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  t.teardown(() => client.destroy());
  const obj = await client.send(new GetObjectCommand({ Bucket: 'exports', Key: 'coffer/backup.zip' }));
  assertArchive(t, await unzip(Buffer.from(await obj.Body!.transformToByteArray())), FILES);
  const job = (await fx.get(`/v1/jobs/${res.body.id}`)).body;
  t.equal(job.destination.bucket, 'exports');
  t.equal(job.download, null);
  t.notOk(JSON.stringify(job).includes('S3RVER'));

  // Missing credentials are a 400 naming the field.
  const bad = await fx.post('/v1/exports', { source: { snapshot_id: fx.runId }, destination: { type: 's3', bucket: 'exports' } });
  t.equal(bad.status, 400);
  t.equal(bad.body.errors[0].pointer, '/body/destination/access_key_id');

  // GCS goes through the same S3 client with its interoperability endpoint (s3rver stands in for it).
  const gcs = await fx.post('/v1/exports', {
    source: { snapshot_id: fx.runId, items: ['/docs/a.txt'] },
    destination: { type: 'gcs', bucket: 'exports', key: 'gcs.zip', endpoint: s3.endpoint, access_key_id: 'S3RVER', secret_access_key: 'S3RVER' },
  });
  t.equal(await runExportJob(fx.app.deps, gcs.body.id), 'succeeded');
  const listed = await client.send(new ListObjectsV2Command({ Bucket: 'exports' }));
  t.same(listed.Contents!.map((c) => c.Key).sort(), ['coffer/backup.zip', 'gcs.zip']);
  void CreateBucketCommand;
});

t.test('destinations on private addresses are refused unless the server allows them (SSRF)', async (t) => {
  const config = fx.app.deps.config as { storageAllowPrivateEndpoints?: boolean };
  config.storageAllowPrivateEndpoints = false;
  t.teardown(() => { config.storageAllowPrivateEndpoints = true; });
  const s3 = await fx.post('/v1/exports', {
    source: { snapshot_id: fx.runId },
    destination: { type: 's3', bucket: 'exports', endpoint: 'http://169.254.169.254', access_key_id: 'a', secret_access_key: 'b' },
  });
  t.equal(s3.status, 400);
  t.match(s3.body, { errors: [{ pointer: '/body/destination/endpoint', detail: /non-public address/ }] });
  const azure = await fx.post('/v1/exports', {
    source: { snapshot_id: fx.runId },
    destination: { type: 'azure', container: 'exports', connection_string: 'DefaultEndpointsProtocol=http;AccountName=a;AccountKey=b;BlobEndpoint=http://10.0.0.5:10000/a;' },
  });
  t.equal(azure.status, 400);
  t.match(azure.body, { errors: [{ pointer: '/body/destination/connection_string' }] });
});

t.test('Azure (Azurite): the container receives the archive', async (t) => {
  const az = await startAzurite();
  t.teardown(() => az.stop());
  const service = BlobServiceClient.fromConnectionString(az.connectionString);
  await service.getContainerClient('exports').create();
  const res = await fx.post('/v1/exports', {
    source: { snapshot_id: fx.runId },
    destination: { type: 'azure', container: 'exports', blob: 'team/backup.zip', connection_string: az.connectionString },
  });
  t.equal(res.status, 202, res.text);
  t.equal(await runExportJob(fx.app.deps, res.body.id), 'succeeded');
  const buf = await service.getContainerClient('exports').getBlockBlobClient('team/backup.zip').downloadToBuffer();
  assertArchive(t, await unzip(buf), FILES);
  t.notOk(JSON.stringify((await fx.get(`/v1/jobs/${res.body.id}`)).body).includes(az.key));

  // Cancel in the middle: nothing is committed in the container.
  const c = await fx.post('/v1/exports', {
    source: { snapshot_id: fx.runId },
    destination: { type: 'azure', container: 'exports', blob: 'canceled.zip', account_name: az.account, account_key: az.key, endpoint: az.endpoint },
  });
  const outcome = await runExportJob(fx.app.deps, c.body.id, {
    afterFile: async (n) => {
      if (n === 2) await fx.post(`/v1/jobs/${c.body.id}/cancel`, {});
    },
  });
  t.equal(outcome, 'canceled');
  const job = (await fx.get(`/v1/jobs/${c.body.id}`)).body;
  t.equal(job.state, 'canceled');
  t.match(job.reason, /nothing was written to the destination/);
  t.equal(await service.getContainerClient('exports').getBlockBlobClient('canceled.zip').exists(), false, 'no blob');
});

t.test('cancel a download export: no archive is kept', async (t) => {
  const res = await fx.post('/v1/exports', { source: { snapshot_id: fx.runId }, destination: { type: 'download' } });
  const outcome = await runExportJob(fx.app.deps, res.body.id, { afterFile: async (n) => { if (n === 1) await fx.post(`/v1/jobs/${res.body.id}/cancel`, {}); } });
  t.equal(outcome, 'canceled');
  const { store } = await accountStorage(fx.app.deps, fx.accountId);
  t.equal(await store.head(archiveKey(res.body.id)), null);
  t.equal((await fetchBytes(`${fx.app.url}/v1/jobs/${res.body.id}/download`, { authorization: `Bearer ${fx.account.key}` })).status, 409);
});

/** A finished export to `download`, and its link's path. */
async function finishedDownload(t: Test): Promise<{ id: string; path: string }> {
  const res = await fx.post('/v1/exports', { source: { snapshot_id: fx.runId, items: ['/docs/a.txt'] }, destination: { type: 'download' } });
  t.equal(res.status, 202, res.text);
  t.equal(await runExportJob(fx.app.deps, res.body.id), 'succeeded');
  const job = (await fx.get(`/v1/jobs/${res.body.id}`)).body;
  return { id: job.id, path: new URL(job.download.url).pathname };
}

t.test('attack: a backups:read user lifts the signed link from the job and downloads the archive without credentials', async (t) => {
  await fx.post('/v1/webhooks', { url: 'https://hooks.example.com/coffer', events: ['job.state_changed'] });
  const { id, path } = await finishedDownload(t);
  const reader = await fx.post('/v1/api-keys', { name: 'read only', scopes: ['backups:read'] });
  t.equal(reader.status, 201, reader.text);
  const key = reader.body.secret;
  t.equal((await fetchBytes(`${fx.app.url}/v1/jobs/${id}/download`, { authorization: `Bearer ${key}` })).status, 403, 'the reader may not download');

  const seen = await fx.get(`/v1/jobs/${id}`, key);
  t.equal(seen.status, 200);
  t.equal(seen.body.state, 'succeeded');
  t.equal(seen.body.download, null, 'get: no link');
  const listed = await fx.get('/v1/jobs?type=export', key);
  t.equal(listed.status, 200);
  const mine = listed.body.data.find((j: { id: string }) => j.id === id);
  t.equal(mine.download, null, 'list: no link');
  t.notOk(listed.text.includes('/v1/downloads/'), 'no link anywhere in the list');

  // What anyone with webhooks, activity or mail sees carries no link either.
  const bodies = await fx.app.deps.sql<{ body: unknown }[]>`select body from webhook_deliveries where account_id = ${fx.accountId}`;
  t.ok(bodies.some((b) => JSON.stringify(b.body).includes(id)), 'the job.state_changed event was emitted');
  t.notOk(bodies.some((b) => JSON.stringify(b.body).includes('/v1/downloads/')), 'webhook payloads carry no link');
  const activity = await fx.app.deps.sql<{ d: string }[]>`select row_to_json(a)::text as d from activity_events a where job_id = ${id}`;
  t.notOk(activity.some((a) => a.d.includes('/v1/downloads/')), 'activity carries no link');
  // Only the completion email to the person who started the export (who may export) carries it.
  const initiator = (await fx.get('/v1/me')).body.user.email;
  const withLink = fx.app.sentMail.filter((m) => JSON.stringify(m).includes('/v1/downloads/'));
  t.ok(withLink.length > 0, 'the initiator was mailed the link');
  t.same([...new Set(withLink.map((m) => m.to))], [initiator], 'mail carries the link only to the initiator');

  // Exporters still see it, and it works.
  const exporter = (await fx.get(`/v1/jobs/${id}`)).body;
  t.equal(new URL(exporter.download.url).pathname, path);
  t.equal((await fetchBytes(`${fx.app.url}${path}`)).status, 200);
});

t.test('attack: a leaked link keeps working after the export is revoked (it must stop at once)', async (t) => {
  const { id, path } = await finishedDownload(t);
  t.equal((await fetchBytes(`${fx.app.url}${path}`)).status, 200);

  const reader = await fx.post('/v1/api-keys', { name: 'read only', scopes: ['backups:read'] });
  t.equal((await fx.app.request('DELETE', `/v1/jobs/${id}/download`, { key: reader.body.secret })).status, 403, 'revoking needs recovery:export');

  const revoked = await fx.app.request('DELETE', `/v1/jobs/${id}/download`, { key: fx.account.key });
  t.equal(revoked.status, 200, revoked.text);
  t.equal(revoked.body.download, null);
  t.equal(revoked.body.state, 'succeeded');
  const link = await fetchBytes(`${fx.app.url}${path}`);
  t.equal(link.status, 404, 'the link is dead at once');
  const api = await fetchBytes(`${fx.app.url}/v1/jobs/${id}/download`, { authorization: `Bearer ${fx.account.key}` });
  t.equal(api.status, 410);
  t.equal(JSON.parse(api.body.toString()).code, 'download_revoked');
  t.equal((await fx.get(`/v1/jobs/${id}`)).body.download, null);
  const { store } = await accountStorage(fx.app.deps, fx.accountId);
  t.equal(await store.head(archiveKey(id)), null, 'the archive is erased');

  // Another account cannot revoke (or learn of) this account's exports.
  const other = await fx.app.signUp();
  const second = await finishedDownload(t);
  t.equal((await fx.app.request('DELETE', `/v1/jobs/${second.id}/download`, { key: other.key })).status, 404);
  t.equal((await fetchBytes(`${fx.app.url}${second.path}`)).status, 200, 'untouched');

  // Not a download export, or still running: nothing to revoke.
  const running = await fx.post('/v1/exports', { source: { snapshot_id: fx.runId }, destination: { type: 'download' } });
  const early = await fx.app.request('DELETE', `/v1/jobs/${running.body.id}/download`, { key: fx.account.key });
  t.equal(early.status, 409);
  t.equal(early.body.code, 'job_not_finished');
  await fx.post(`/v1/jobs/${running.body.id}/cancel`, {});
});

t.test('attack: a leaked link is used from outside the account\'s IP allowlist', async (t) => {
  const OFFICE = '203.0.113.7';
  const { path } = await finishedDownload(t);
  const from = (ip: string) => ({ 'x-forwarded-for': ip });
  const entry = await fx.app.request('POST', '/v1/ip-allowlist/entries', { key: fx.account.key, headers: from(OFFICE), body: { description: 'Office', addresses: [OFFICE] } });
  t.equal(entry.status, 201, entry.text);
  const on = await fx.app.request('PATCH', '/v1/ip-allowlist', { key: fx.account.key, headers: from(OFFICE), body: { enabled: true } });
  t.equal(on.status, 200, on.text);
  t.teardown(async () => {
    await fx.app.request('PATCH', '/v1/ip-allowlist', { key: fx.account.key, headers: from(OFFICE), body: { enabled: false } });
  });

  const outside = await fetchBytes(`${fx.app.url}${path}`, from('198.51.100.20'));
  t.equal(outside.status, 403);
  t.equal(JSON.parse(outside.body.toString()).code, 'access_denied');
  t.notOk(outside.body.includes(Buffer.from('hello')), 'no archive bytes');
  t.equal((await fetchBytes(`${fx.app.url}${path}`, from(OFFICE))).status, 200, 'a trusted address still downloads');
  // A forged token from outside is a 404 as before (the allowlist says nothing about unknown links).
  const [jobId, exp] = path.split('/').pop()!.split('.');
  t.equal((await fetchBytes(`${fx.app.url}/v1/downloads/${jobId}.${exp}.${'A'.repeat(43)}`, from('198.51.100.20'))).status, 404);

  const off = await fx.app.request('PATCH', '/v1/ip-allowlist', { key: fx.account.key, headers: from(OFFICE), body: { enabled: false } });
  t.equal(off.status, 200);
  t.equal((await fetchBytes(`${fx.app.url}${path}`, from('198.51.100.20'))).status, 200, 'allowlist off: the link works from anywhere');
});

t.test('attack: Azure account names and connection strings aim the export worker at 127.0.0.1', async (t) => {
  const config = fx.app.deps.config as { storageAllowPrivateEndpoints?: boolean };
  config.storageAllowPrivateEndpoints = false;
  t.teardown(() => { config.storageAllowPrivateEndpoints = true; });
  const KEY = Buffer.from('k'.repeat(64)).toString('base64');
  const azure = (destination: Record<string, string>) => fx.post('/v1/exports', { source: { snapshot_id: fx.runId }, destination: { type: 'azure', container: 'exports', ...destination } });
  const refused: [string, Record<string, string>, string, RegExp][] = [
    ['an account name that is a host and a path', { account_name: '127.0.0.1:19999/an?', account_key: KEY }, '/body/destination/account_name', /3 to 24 lower-case letters and digits/],
    ['an account name in upper case', { account_name: 'AcmeBackups', account_key: KEY }, '/body/destination/account_name', /lower-case/],
    ['AccountName in a connection string', { connection_string: `DefaultEndpointsProtocol=http;AccountName=127.0.0.1:19999/x?;AccountKey=${KEY}` }, '/body/destination/connection_string', /lower-case/],
    ['a second BlobEndpoint differing only in case', { connection_string: `AccountName=acme;AccountKey=${KEY};BlobEndpoint=https://acme.blob.core.windows.net;blobendpoint=http://127.0.0.1:19999/x` }, '/body/destination/connection_string', /more than once/],
    ['development storage', { connection_string: 'UseDevelopmentStorage=true' }, '/body/destination/connection_string', /UseDevelopmentStorage is not accepted/],
    ['a development storage proxy', { connection_string: `UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://127.0.0.1:19999` }, '/body/destination/connection_string', /not accepted/],
    ['an unknown key', { connection_string: `AccountName=acme;AccountKey=${KEY};Proxy=http://127.0.0.1:19999` }, '/body/destination/connection_string', /unknown key Proxy/],
    ['an EndpointSuffix that is not a host name', { connection_string: `AccountName=acme;AccountKey=${KEY};EndpointSuffix=127.0.0.1:19999/x?` }, '/body/destination/connection_string', /EndpointSuffix/],
    ['a BlobEndpoint on 127.0.0.1', { connection_string: `AccountName=acme;AccountKey=${KEY};BlobEndpoint=http://127.0.0.1:19999/acme` }, '/body/destination/connection_string', /non-public address/],
    ['a BlobEndpoint on localhost.', { connection_string: `AccountName=acme;AccountKey=${KEY};BlobEndpoint=http://localhost.:19999/acme` }, '/body/destination/connection_string', /local host name/],
    ['an account endpoint on 127.0.0.1', { account_name: 'acme', account_key: KEY, endpoint: 'http://127.0.0.1:19999' }, '/body/destination/endpoint', /non-public address/],
  ];
  for (const [what, destination, pointer, detail] of refused) {
    const res = await azure(destination);
    t.equal(res.status, 400, `${what}: ${res.text}`);
    t.match(res.body.errors?.[0], { pointer, detail }, what);
  }
  // Well-formed destinations are accepted (and never run here).
  const accepted: Record<string, string>[] = [
    { account_name: 'acmebackups', account_key: KEY },
    { connection_string: `DefaultEndpointsProtocol=https;AccountName=acmebackups;AccountKey=${KEY};EndpointSuffix=core.windows.net` },
    { connection_string: 'BlobEndpoint=https://acmebackups.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&sig=abc%3D' },
  ];
  for (const destination of accepted) {
    const ok = await azure(destination);
    t.equal(ok.status, 202, ok.text);
    await fx.post(`/v1/jobs/${ok.body.id}/cancel`, {});
  }
});

t.test('attack: an export destination whose host name resolves to 127.0.0.1 receives the archive', async (t) => {
  const config = fx.app.deps.config as { storageAllowPrivateEndpoints?: boolean };
  config.storageAllowPrivateEndpoints = false;
  const resolver = fakeResolver({ 'exports.customer.example': '127.0.0.1' });
  fx.app.deps.resolveHost = resolver;
  t.teardown(() => {
    config.storageAllowPrivateEndpoints = true;
    delete fx.app.deps.resolveHost;
  });

  const s3 = await startS3rver('inside');
  t.teardown(() => s3.stop());
  const port = new URL(s3.endpoint).port;
  const res = await fx.post('/v1/exports', {
    source: { snapshot_id: fx.runId },
    destination: { type: 's3', bucket: 'inside', endpoint: `http://exports.customer.example:${port}`, force_path_style: true, access_key_id: 'S3RVER', secret_access_key: 'S3RVER' },
  });
  t.equal(res.status, 202, 'a public-looking name passes validation');
  t.equal(await runExportJob(fx.app.deps, res.body.id), 'failed');
  const job = (await fx.get(`/v1/jobs/${res.body.id}`)).body;
  t.equal(job.state, 'failed');
  t.equal(job.reason, 'The destination resolves to a non-public address; Coffer does not send exports there. Nothing was written.');
  t.ok(resolver.asked.includes('exports.customer.example'), 'refused when connecting, after resolving');
  const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  t.teardown(() => client.destroy());
  t.same((await client.send(new ListObjectsV2Command({ Bucket: 'inside' }))).Contents ?? [], [], 'nothing reached the bucket');

  const az = await startAzurite();
  t.teardown(() => az.stop());
  const service = BlobServiceClient.fromConnectionString(az.connectionString);
  await service.getContainerClient('inside').create();
  const azPort = new URL(az.endpoint).port;
  const viaAzure = await fx.post('/v1/exports', {
    source: { snapshot_id: fx.runId },
    destination: { type: 'azure', container: 'inside', connection_string: `DefaultEndpointsProtocol=http;AccountName=${az.account};AccountKey=${az.key};BlobEndpoint=http://exports.customer.example:${azPort}/${az.account}` },
  });
  t.equal(viaAzure.status, 202, viaAzure.text);
  t.equal(await runExportJob(fx.app.deps, viaAzure.body.id), 'failed');
  t.match((await fx.get(`/v1/jobs/${viaAzure.body.id}`)).body.reason, /non-public address/);
  t.equal(await service.getContainerClient('inside').getBlockBlobClient(`coffer-export-${viaAzure.body.id}.zip`).exists(), false, 'no blob in Azurite');
  const blobs = [];
  for await (const b of service.getContainerClient('inside').listBlobsFlat()) blobs.push(b.name);
  t.same(blobs, []);
});

t.test('attack: the Azure client follows a redirect from the destination to an inside address', async (t) => {
  // Private endpoints allowed (both servers are local): what is shown is that the redirect is not followed.
  let insideHits = 0;
  const inside = createServer((_req, res) => { insideHits++; res.writeHead(201).end(); });
  const redirector = createServer((req, res) => { res.writeHead(307, { location: `http://127.0.0.1:${(inside.address() as AddressInfo).port}${req.url}` }).end(); });
  for (const s of [inside, redirector]) await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  t.teardown(() => { inside.close(); redirector.close(); });
  const KEY = Buffer.from('k'.repeat(64)).toString('base64');
  const res = await fx.post('/v1/exports', {
    source: { snapshot_id: fx.runId, items: ['/docs/a.txt'] },
    destination: { type: 'azure', container: 'exports', account_name: 'acme', account_key: KEY, endpoint: `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/acme` },
  });
  t.equal(res.status, 202, res.text);
  await t.rejects(runExportJob(fx.app.deps, res.body.id), 'the upload fails (a 307 is not success)');
  t.equal(insideHits, 0, 'the redirect was not followed');
  await failExportJob(fx.app.deps, res.body.id, new Error('<html>inside secret</html>'));
  const job = (await fx.get(`/v1/jobs/${res.body.id}`)).body;
  t.equal(job.state, 'failed');
  t.notMatch(job.reason, /inside secret/, 'the failure reason never quotes what a server said');
  t.match(job.reason, /^The export could not be written to its destination \(/);
});

t.test('attack: a tampered download archive is streamed to the client before its tag is checked', async (t) => {
  const res = await fx.post('/v1/exports', { source: { snapshot_id: fx.runId, items: ['/big.bin'] }, destination: { type: 'download' } });
  t.equal(await runExportJob(fx.app.deps, res.body.id), 'succeeded');
  const url = `${fx.app.url}/v1/jobs/${res.body.id}/download`;
  const auth = { authorization: `Bearer ${fx.account.key}` };
  const genuine = (await fetchBytes(url, auth)).body;
  t.ok(genuine.length > 5 * MiB);

  const { store } = await accountStorage(fx.app.deps, fx.accountId);
  const stored = await store.get(archiveKey(res.body.id));
  const tampered = Buffer.from(stored);
  const segment = 40;
  tampered[12 + segment * (SEGMENT_BYTES + 16) + 500]! ^= 0x20;
  await store.put(archiveKey(res.body.id), tampered);

  const viaApi = await readUntilBroken(url, auth);
  t.equal(viaApi.status, 200, 'the first segment verified, so the download starts');
  t.ok(viaApi.broke, 'the response is cut off, not completed');
  t.ok(viaApi.body.length <= segment * SEGMENT_BYTES, `no byte of the tampered segment or after it was sent (${viaApi.body.length} bytes)`);
  t.ok(viaApi.body.equals(genuine.subarray(0, viaApi.body.length)), 'what was sent is genuine');
  const link = new URL((await fx.get(`/v1/jobs/${res.body.id}`)).body.download.url).pathname;
  const viaLink = await readUntilBroken(`${fx.app.url}${link}`, {});
  t.ok(viaLink.broke && viaLink.body.length <= segment * SEGMENT_BYTES, 'the same through the link');
});

/** Reads a response until it ends or the connection breaks. */
async function readUntilBroken(url: string, headers: Record<string, string>): Promise<{ status: number; body: Buffer; broke: boolean }> {
  const response = await fetch(url, { headers });
  const received: Buffer[] = [];
  const reader = response.body!.getReader();
  let broke = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received.push(Buffer.from(value));
    }
  } catch {
    broke = true;
  }
  return { status: response.status, body: Buffer.concat(received), broke };
}

t.test('attack: one byte of a stored block is changed, and the export ships the file anyway', async (t) => {
  // The block of /Docs/Deep/b.md in its pack.
  const [item] = await fx.app.deps.sql<{ blocks: Buffer }[]>`
    select blocks from item_versions where account_id = ${fx.accountId} and path_lower = '/docs/deep/b.md' and kind = 'file' limit 1`;
  const hash = item!.blocks.subarray(0, 32);
  const [block] = await fx.app.deps.sql<{ pack_id: string; offset: number; length: number }[]>`
    select pack_id, "offset"::float8 as "offset", length from blocks where account_id = ${fx.accountId} and hash = ${hash}`;
  const { store } = await accountStorage(fx.app.deps, fx.accountId);
  const key = packKey(block!.pack_id);
  const original = await store.get(key);
  const tampered = Buffer.from(original);
  tampered[block!.offset + Math.floor(block!.length / 2)]! ^= 0x01;
  await store.put(key, tampered);
  t.teardown(() => store.put(key, original));

  const res = await fx.post('/v1/exports', { source: { snapshot_id: fx.runId, items: ['/docs'] }, destination: { type: 'download' } });
  t.equal(await runExportJob(fx.app.deps, res.body.id), 'failed', 'failed at once: a retry cannot mend it');
  const job = (await fx.get(`/v1/jobs/${res.body.id}`)).body;
  t.equal(job.state, 'failed');
  t.equal(job.reason, 'Integrity check failed: the backed-up data of /Docs/Deep/b.md did not verify (authentication); it was tampered with or corrupted in storage. The export stopped before any of it was written, and nothing was written to the destination.');
  t.same(job.errors, [{ path: '/Docs/Deep/b.md', error: 'integrity check failed (authentication)' }]);
  t.equal(job.download, null);
  t.equal(await store.head(archiveKey(res.body.id)), null, 'no archive is kept');
  t.equal((await fetchBytes(`${fx.app.url}/v1/jobs/${res.body.id}/download`, { authorization: `Bearer ${fx.account.key}` })).status, 409);

  // A large file streams block by block: the tampered block never reaches the archive either.
  const big = await fx.app.deps.sql<{ blocks: Buffer }[]>`
    select blocks from item_versions where account_id = ${fx.accountId} and path_lower = '/big.bin' and kind = 'file' limit 1`;
  const second = big[0]!.blocks.subarray(32, 64);
  const [b2] = await fx.app.deps.sql<{ pack_id: string; offset: number; length: number }[]>`
    select pack_id, "offset"::float8 as "offset", length from blocks where account_id = ${fx.accountId} and hash = ${second}`;
  const key2 = packKey(b2!.pack_id);
  const original2 = await store.get(key2);
  const tampered2 = Buffer.from(original2);
  tampered2[b2!.offset + 100]! ^= 0x01;
  await store.put(key2, tampered2);
  t.teardown(() => store.put(key2, original2));
  const s3 = await startS3rver('tamper');
  t.teardown(() => s3.stop());
  const viaS3 = await fx.post('/v1/exports', {
    source: { snapshot_id: fx.runId, items: ['/big.bin'] },
    destination: { type: 's3', bucket: 'tamper', endpoint: s3.endpoint, force_path_style: true, access_key_id: 'S3RVER', secret_access_key: 'S3RVER' },
  });
  t.equal(await runExportJob(fx.app.deps, viaS3.body.id), 'failed');
  const bigJob = (await fx.get(`/v1/jobs/${viaS3.body.id}`)).body;
  t.match(bigJob.reason, /^Integrity check failed: the backed-up data of \/big\.bin did not verify/);
  const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  t.teardown(() => client.destroy());
  t.same((await client.send(new ListObjectsV2Command({ Bucket: 'tamper' }))).Contents ?? [], [], 'no object in the bucket');
});

t.test('an archive written in the first format is verified through to its tag before any byte is served', async (t) => {
  const { id } = await finishedDownload(t);
  const url = `${fx.app.url}/v1/jobs/${id}/download`;
  const auth = { authorization: `Bearer ${fx.account.key}` };
  const plain = (await fetchBytes(url, auth)).body;
  // The same archive as the first format wrote it: nonce(12) AES-256-GCM(zip) tag(16), one stream.
  const [row] = await fx.app.deps.sql<{ result_secret: string }[]>`select result_secret from jobs where id = ${id}`;
  const key = Buffer.from(fx.app.deps.keyring.openSecret(row!.result_secret, ARCHIVE_KEY_CONTEXT), 'base64');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const legacy = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  const { store } = await accountStorage(fx.app.deps, fx.accountId);
  const legacyKey = `exports/${id}.zip.enc`;
  await store.put(legacyKey, legacy);
  await fx.app.deps.sql`update jobs set result_key = ${legacyKey} where id = ${id}`;
  const ok = await fetchBytes(url, auth);
  t.equal(ok.status, 200);
  t.ok(ok.body.equals(plain), 'served as before');

  const tampered = Buffer.from(legacy);
  tampered[20]! ^= 0x01;
  await store.put(legacyKey, tampered);
  const bad = await readUntilBroken(url, auth);
  t.not(bad.status, 200);
  t.equal(bad.body.indexOf(Buffer.from('PK\x03\x04', 'latin1')), -1, 'no archive byte was served');
});
