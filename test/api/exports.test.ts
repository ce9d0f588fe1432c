// Exports: a ZIP equal to the snapshot, to a download (encrypted at rest, signed link, 72 h, 410
// after), to S3 (s3rver) and Azure (Azurite); cancel; isolation of jobs and downloads.
import t, { type Test } from 'tap';
import yauzl from 'yauzl';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { startRecoveryFixture, type RecoveryFixture } from '../helpers/recovery-fixture.ts';
import { startS3rver } from '../workers/storage/fixtures/start-s3rver.ts';
import { startAzurite } from '../helpers/azurite.ts';
import { runExport, archiveKey } from '../../workers/recovery/export.ts';
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
  t.equal(await runExport(fx.app.deps, res.body.id), 'succeeded');
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

t.test('chosen items: only them, folders recursively', async (t) => {
  const res = await fx.post('/v1/exports', { source: { snapshot_id: fx.runId, items: ['/docs'] }, destination: { type: 'download' } });
  t.equal(res.body.items_total, 3);
  t.equal(await runExport(fx.app.deps, res.body.id), 'succeeded');
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
  t.equal(await runExport(fx.app.deps, res.body.id), 'succeeded');
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
  t.equal(await runExport(fx.app.deps, gcs.body.id), 'succeeded');
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
  t.equal(await runExport(fx.app.deps, res.body.id), 'succeeded');
  const buf = await service.getContainerClient('exports').getBlockBlobClient('team/backup.zip').downloadToBuffer();
  assertArchive(t, await unzip(buf), FILES);
  t.notOk(JSON.stringify((await fx.get(`/v1/jobs/${res.body.id}`)).body).includes(az.key));

  // Cancel in the middle: nothing is committed in the container.
  const c = await fx.post('/v1/exports', {
    source: { snapshot_id: fx.runId },
    destination: { type: 'azure', container: 'exports', blob: 'canceled.zip', account_name: az.account, account_key: az.key, endpoint: az.endpoint },
  });
  const outcome = await runExport(fx.app.deps, c.body.id, {
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
  const outcome = await runExport(fx.app.deps, res.body.id, { afterFile: async (n) => { if (n === 1) await fx.post(`/v1/jobs/${res.body.id}/cancel`, {}); } });
  t.equal(outcome, 'canceled');
  const { store } = await accountStorage(fx.app.deps, fx.accountId);
  t.equal(await store.head(archiveKey(res.body.id)), null);
  t.equal((await fetchBytes(`${fx.app.url}/v1/jobs/${res.body.id}/download`, { authorization: `Bearer ${fx.account.key}` })).status, 409);
});

/** A finished export to `download`, and its link's path. */
async function finishedDownload(t: Test): Promise<{ id: string; path: string }> {
  const res = await fx.post('/v1/exports', { source: { snapshot_id: fx.runId, items: ['/docs/a.txt'] }, destination: { type: 'download' } });
  t.equal(res.status, 202, res.text);
  t.equal(await runExport(fx.app.deps, res.body.id), 'succeeded');
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
  t.notOk(fx.app.sentMail.some((m) => JSON.stringify(m).includes('/v1/downloads/')), 'mail carries no link');

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
