// Bring your own storage on Google Cloud Storage, through its S3-compatible XML API with an HMAC key,
// against a stand-in that behaves as GCS does where it differs from S3 (test/helpers/gcs-imitation.ts):
// the save-time probe names the step and the kind of failure (unknown key, missing bucket, a key
// that may not write), a good key is saved, backups land in the bucket and read back, and erasing
// them works without S3's multi-object delete, which GCS does not have.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { startBackupFixture } from '../helpers/backup-fixture.ts';
import { startGcsImitation } from '../helpers/gcs-imitation.ts';
import { createS3Client } from '../../workers/storage/index.ts';

t.test('a GCS bucket is probed, saved, backed up into and erased', async (t) => {
  const gcs = await startGcsImitation('acme-gcs', { GOOGRW: 'read-write', GOOGRO: 'read-only' });
  t.teardown(() => gcs.stop());
  const f = await startBackupFixture(t, { config: { storageAllowPrivateEndpoints: true } });
  const key = f.account.key;
  const body = { kind: 'gcs', bucket: gcs.bucket, endpoint: gcs.endpoint, prefix: 'coffer/', access_key_id: 'GOOGRW', secret_access_key: 'hmac-secret-1' };

  const unknownKey = await f.app.request('PUT', '/v1/storage', { key, body: { ...body, access_key_id: 'GOOGNOPE' } });
  t.equal(unknownKey.status, 422, unknownKey.text);
  t.match(unknownKey.body, { code: 'storage_unreachable', failed_step: 'write', failure: 'authentication', detail: /could not write a test object to bucket "acme-gcs" \(InvalidAccessKeyId\)\. The credentials were refused/ });
  t.notMatch(unknownKey.text, /hmac-secret-1/, 'the secret is not echoed');

  const missing = await f.app.request('PUT', '/v1/storage', { key, body: { ...body, bucket: 'no-such-bucket' } });
  t.match(missing.body, { code: 'storage_unreachable', failed_step: 'write', failure: 'not_found', detail: /\(NoSuchBucket\)\. It does not exist/ });

  const readOnly = await f.app.request('PUT', '/v1/storage', { key, body: { ...body, access_key_id: 'GOOGRO' } });
  t.match(readOnly.body, { code: 'storage_unreachable', failed_step: 'write', failure: 'permission_denied', detail: /\(AccessDenied\)\. The credentials are valid but may not do this/ });
  t.match((await f.app.request('GET', '/v1/storage', { key })).body, { kind: 'managed' }, 'nothing saved by failed attempts');

  const saved = await f.app.request('PUT', '/v1/storage', { key, body });
  t.equal(saved.status, 200, saved.text);
  t.same({ ...saved.body, verified_at: 'x' }, {
    kind: 'gcs', region: null, endpoint: gcs.endpoint, bucket: 'acme-gcs', container: null, account_name: null, prefix: 'coffer/',
    force_path_style: true, access_key_id: 'GOOGRW', verified_at: 'x', has_backups: false,
  });
  t.ok(gcs.seen.some((r) => r.startsWith('DELETE /acme-gcs/coffer/coffer-probe/')), 'the probe object was deleted one by one');
  t.notOk(gcs.seen.some((r) => r.includes('?delete')), 'never with the multi-object delete GCS lacks');

  const bob = f.emu.state.addMember({ email: 'bob@coffer-emu.test' });
  f.emu.state.putFile(bob, '/big.bin', randomBytes(3 * 1024 * 1024));
  for (let i = 0; i < 10; i++) f.emu.state.putFile(bob, `/notes/${i}.txt`, `note ${i}`);
  const entityId = await f.memberEntity(bob);
  const r = await f.backup(entityId);
  t.equal(r.outcome, 'succeeded');
  if (r.outcome !== 'succeeded') return;
  await f.assertSnapshot(t, entityId, r.runId, f.dropboxState(bob.homeNsId), 'GCS bucket');
  const client = createS3Client({ endpoint: gcs.endpoint, region: 'auto', bucket: gcs.bucket, accessKeyId: 'GOOGRW', secretAccessKey: 'x', forcePathStyle: true });
  t.teardown(() => client.destroy());
  const keysIn = async (prefix: string) => ((await client.send(new ListObjectsV2Command({ Bucket: gcs.bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!);
  t.ok((await keysIn('coffer/packs/')).length >= 1, 'packs are in the bucket');

  await f.app.deps.sql`update accounts set state = 'pending_deletion', purge_at = ${new Date(0).toISOString()} where id = ${f.accountId}`;
  const { purgeAccount } = await import('../../workers/jobs/account-purge.ts');
  await purgeAccount(f.app.deps, f.accountId, f.app.clock.now());
  t.same(await keysIn('coffer/'), [], 'purging erased the packs without a multi-object delete');
  t.notOk(gcs.seen.some((r) => r.includes('?delete')));
});
