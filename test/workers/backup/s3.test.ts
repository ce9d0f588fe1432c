// The same round trip with the blob store on S3 (s3rver): packs land under
// <prefix><region>/<account id>/packs/, and every file reads back byte for byte.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { loadConfig } from '../../../api/config.ts';
import { startBackupFixture } from '../../helpers/backup-fixture.ts';
import { createS3Client } from '../../../workers/storage/index.ts';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { startS3rver } from '../storage/fixtures/start-s3rver.ts';

const MiB = 1024 * 1024;

t.test('backup to S3 round-trips', async (t) => {
  const s3rver = await startS3rver('coffer-backups');
  t.teardown(() => s3rver.stop());
  const { s3 } = loadConfig({
    COFFER_S3_BUCKET: s3rver.bucket,
    COFFER_S3_ENDPOINT: s3rver.endpoint,
    COFFER_S3_ACCESS_KEY_ID: 'S3RVER',
    COFFER_S3_SECRET_ACCESS_KEY: 'S3RVER',
    COFFER_S3_PREFIX: 'coffer',
  });
  t.match(s3, { bucket: 'coffer-backups', prefix: 'coffer/', forcePathStyle: true });
  const f = await startBackupFixture(t, { config: { s3 }, region: 'eu-west-1' });
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  s.putFile(bob, '/empty', Buffer.alloc(0));
  s.putFile(bob, '/4mib-1', randomBytes(4 * MiB - 1));
  s.putFile(bob, '/4mib', randomBytes(4 * MiB));
  s.putFile(bob, '/4mib+1', randomBytes(4 * MiB + 1));
  s.putFile(bob, '/Ünïcode/naïve.txt', 'ünïcode');
  for (let i = 0; i < 50; i++) s.putFile(bob, `/small/${i}.txt`, `small ${i}`);
  const entityId = await f.memberEntity(bob);
  const r = await f.backup(entityId);
  t.equal(r.outcome, 'succeeded');
  if (r.outcome !== 'succeeded') return;
  await f.assertSnapshot(t, entityId, r.runId, f.dropboxState(bob.homeNsId), 'S3 run');

  const client = createS3Client({ endpoint: s3rver.endpoint, region: 'us-east-1', bucket: s3rver.bucket, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true });
  t.teardown(() => client.destroy());
  const listed = await client.send(new ListObjectsV2Command({ Bucket: s3rver.bucket }));
  const keys = (listed.Contents ?? []).map((o) => o.Key!);
  t.ok(keys.length > 0);
  t.ok(keys.every((k) => k.startsWith(`coffer/eu-west-1/${f.accountId}/packs/`)), 'packs live under prefix/region/account');
  const [packs] = await f.app.deps.sql<{ n: number }[]>`select count(*)::int as n from packs where account_id = ${f.accountId} and state = 'written'`;
  t.equal(keys.length, packs!.n, 'one object per recorded pack');
});

t.test('S3 settings are validated with one-line errors', async (t) => {
  t.throws(() => loadConfig({ COFFER_S3_BUCKET: 'x' }), { message: /^COFFER_S3_BUCKET: is not a valid bucket name/ });
  t.throws(() => loadConfig({ COFFER_S3_BUCKET: 'good-bucket' }), { message: 'COFFER_S3_ACCESS_KEY_ID: is required when COFFER_S3_BUCKET is set' });
  t.throws(() => loadConfig({ COFFER_S3_BUCKET: 'good-bucket', COFFER_S3_ACCESS_KEY_ID: 'a' }), { message: 'COFFER_S3_SECRET_ACCESS_KEY: is required when COFFER_S3_BUCKET is set' });
  t.throws(() => loadConfig({ COFFER_S3_BUCKET: 'good-bucket', COFFER_S3_ACCESS_KEY_ID: 'a', COFFER_S3_SECRET_ACCESS_KEY: 'b', COFFER_S3_ENDPOINT: 'ftp://x' }), { message: /^COFFER_S3_ENDPOINT: must use http: or https:/ });
  t.equal(loadConfig({}).s3, undefined, 'no bucket: filesystem');
});
