// Each region's backups live in that region's own storage location: with a bucket configured for
// eu-west-1 and another for us-east-1, GET /v1/regions offers exactly those two, sign-up refuses a
// region without a location, and two accounts of the two regions write only into their own
// region's bucket (two s3rver buckets).
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { FAST, startBackupFixture } from '../helpers/backup-fixture.ts';
import { startS3rver, type RunningS3rver } from '../workers/storage/fixtures/start-s3rver.ts';
import { createS3Client } from '../../workers/storage/index.ts';
import { newId } from '../../db/ids.ts';
import { entities, tasks } from '../../db/schema.ts';
import { runBackup } from '../../workers/backup/engine.ts';
import { loadConfig, ConfigError } from '../../api/config.ts';

const location = (s: RunningS3rver, region: string) => ({
  bucket: s.bucket, region, endpoint: s.endpoint, prefix: 'coffer/', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true,
});

t.test('two accounts in two regions write into two different buckets', async (t) => {
  const eu = await startS3rver('coffer-eu-west-1');
  t.teardown(() => eu.stop());
  const us = await startS3rver('coffer-us-east-1');
  t.teardown(() => us.stop());
  const f = await startBackupFixture(t, {
    region: 'eu-west-1',
    config: { s3: undefined, storageLocations: { 'eu-west-1': location(eu, 'eu-west-1'), 'us-east-1': location(us, 'us-east-1') } },
  });

  const regions = await f.app.request('GET', '/v1/regions');
  t.same(regions.body.data, [
    { id: 'us-east-1', name: 'US East (N. Virginia)', country: 'US', storage: 'dedicated' },
    { id: 'eu-west-1', name: 'Europe (Ireland)', country: 'IE', storage: 'dedicated' },
  ], 'only the regions with a location are offered');
  const tokyo = await f.app.request('POST', '/v1/accounts', { body: { name: 'Tokyo', email: 'tokyo@coffer.test', password: 'correct horse battery', region: 'ap-northeast-1' } });
  t.equal(tokyo.status, 400, 'a region without a location cannot be chosen');
  t.match(tokyo.body, { errors: [{ pointer: '/body/region' }] });

  // Account A (eu-west-1) is the fixture's; account B signs up in us-east-1 and connects the same team.
  const b = await f.app.signUp({ email: 'b@coffer.test', region: 'us-east-1' });
  const bTask = newId('task');
  const [aTask] = await f.app.deps.db.select().from(tasks);
  await f.app.deps.db.insert(tasks).values({ ...aTask!, id: bTask, accountId: b.accountId });
  const bob = f.emu.state.addMember({ email: 'bob@coffer-emu.test' });
  f.emu.state.putFile(bob, '/report.bin', randomBytes(200_000));
  const aEntity = await f.memberEntity(bob);
  const bEntity = newId('ent');
  await f.app.deps.db.insert(entities).values({
    id: bEntity, accountId: b.accountId, taskId: bTask, kind: 'member', dropboxId: bob.teamMemberId, name: 'Bob', email: bob.email, namespaceId: bob.homeNsId, dropboxStatus: 'active', status: 'scheduled',
  });

  t.equal((await f.backup(aEntity)).outcome, 'succeeded');
  t.equal((await runBackup(f.app.deps, { accountId: b.accountId, entityId: bEntity, reason: 'manual' }, FAST)).outcome, 'succeeded');

  const keys = async (s: RunningS3rver) => {
    const client = createS3Client({ endpoint: s.endpoint, region: 'us-east-1', bucket: s.bucket, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true });
    try {
      return ((await client.send(new ListObjectsV2Command({ Bucket: s.bucket }))).Contents ?? []).map((o) => o.Key!);
    } finally {
      client.destroy();
    }
  };
  const inEu = await keys(eu);
  const inUs = await keys(us);
  t.ok(inEu.length > 0 && inEu.every((k) => k.startsWith(`coffer/eu-west-1/${f.accountId}/packs/`)), `eu bucket: only account A's packs (${inEu.length})`);
  t.ok(inUs.length > 0 && inUs.every((k) => k.startsWith(`coffer/us-east-1/${b.accountId}/packs/`)), `us bucket: only account B's packs (${inUs.length})`);
  await f.assertSnapshot(t, aEntity, (await f.app.deps.sql<{ id: string }[]>`select id from backup_runs where entity_id = ${aEntity}`)[0]!.id, f.dropboxState(bob.homeNsId), 'account A reads back from its region');
});

t.test('configuration: per-region variables, the shared bucket, and regions without a location', async (t) => {
  const base = { COFFER_S3_ACCESS_KEY_ID: 'AK', COFFER_S3_SECRET_ACCESS_KEY: 'SK' };
  const own = loadConfig({ ...base, COFFER_REGION_EU_WEST_1_S3_BUCKET: 'eu-bucket', COFFER_REGION_EU_WEST_1_S3_ENDPOINT: 'https://s3.example.eu', COFFER_DEFAULT_REGION: 'eu-west-1' });
  t.same(own.storageLocations, { 'eu-west-1': { bucket: 'eu-bucket', region: 'eu-west-1', endpoint: 'https://s3.example.eu', prefix: '', accessKeyId: 'AK', secretAccessKey: 'SK', forcePathStyle: true } },
    'a region signs for its own id and takes the shared credentials by default');
  t.equal(own.s3, undefined);
  t.throws(() => loadConfig({ ...base, COFFER_REGION_EU_WEST_1_S3_BUCKET: 'eu-bucket' }), new ConfigError('COFFER_DEFAULT_REGION', 'region "us-east-1" has no storage location (set COFFER_REGION_US_EAST_1_S3_BUCKET or COFFER_S3_BUCKET)'),
    'the default region must have a location');
  t.throws(() => loadConfig({ ...base, COFFER_REGION_MARS_1_S3_BUCKET: 'x-bucket' }), /COFFER_REGION_MARS_1_S3_BUCKET: names no region/);
  t.throws(() => loadConfig({ COFFER_REGION_US_EAST_1_S3_BUCKET: 'us-bucket' }), /COFFER_REGION_US_EAST_1_S3_ACCESS_KEY_ID: is required/);
  const shared = loadConfig({ ...base, COFFER_S3_BUCKET: 'one-bucket', COFFER_REGION_EU_WEST_1_S3_BUCKET: 'eu-bucket' });
  t.equal(shared.s3?.bucket, 'one-bucket');
  t.same(Object.keys(shared.storageLocations), ['eu-west-1']);
});

t.test('GET /v1/regions says how each region is stored', async (t) => {
  const eu = await startS3rver('coffer-eu-shared');
  t.teardown(() => eu.stop());
  const f = await startBackupFixture(t, { config: { s3: location(eu, 'us-east-1'), storageLocations: { 'eu-west-1': location(eu, 'eu-west-1') } } });
  const regions = (await f.app.request('GET', '/v1/regions')).body.data as { id: string; storage: string }[];
  t.equal(regions.length, 9, 'with a shared bucket every region has a location');
  t.same(regions.filter((r) => r.storage === 'dedicated').map((r) => r.id), ['eu-west-1']);
  t.ok(regions.filter((r) => r.id !== 'eu-west-1').every((r) => r.storage === 'shared'));
});
