// Bring your own storage on Azure Blob Storage, against Azurite: the save-time probe names the step
// and the kind of failure (a wrong account key, a missing container, a signature that may only
// read), a good key is saved (never returned), backups land in the container and read back, the
// target is locked once they do, and purging the account erases Coffer's blobs and nothing else.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from '@azure/storage-blob';
import { startBackupFixture } from '../helpers/backup-fixture.ts';
import { startAzurite } from '../helpers/azurite.ts';
import { accountTarget } from '../../workers/outbound/azure-destination.ts';
import { azureContainer } from '../../workers/outbound/clients.ts';

t.test('an Azure container is probed, saved, backed up into and erased', async (t) => {
  const azurite = await startAzurite();
  t.teardown(() => azurite.stop());
  const container = azureContainer(accountTarget(azurite.account, azurite.key, azurite.endpoint), 'backups', { allowPrivate: true });
  await container.create();
  await container.getBlockBlobClient('theirs/report.pdf').upload(Buffer.from('not coffer'), 10);
  const names = async (prefix: string) => {
    const out: string[] = [];
    for await (const b of container.listBlobsFlat({ prefix })) out.push(b.name);
    return out;
  };
  const f = await startBackupFixture(t, { config: { storageAllowPrivateEndpoints: true } });
  const key = f.account.key;
  const body = { kind: 'azure', account_name: azurite.account, container: 'backups', endpoint: azurite.endpoint, prefix: 'coffer/', account_key: azurite.key };

  const wrongKey = await f.app.request('PUT', '/v1/storage', { key, body: { ...body, account_key: Buffer.alloc(64, 7).toString('base64') } });
  t.equal(wrongKey.status, 422, wrongKey.text);
  t.match(wrongKey.body, { code: 'storage_unreachable', failed_step: 'write', failure: 'authentication', detail: /could not write a test object to container "backups" of storage account "devstoreaccount1" \(AuthorizationFailure\)\. The credentials were refused/ });
  // (Azure's code for this is AuthenticationFailed; Azurite's AuthorizationFailure with the same message.)

  const missing = await f.app.request('PUT', '/v1/storage', { key, body: { ...body, container: 'no-such-container' } });
  t.match(missing.body, { code: 'storage_unreachable', failed_step: 'write', failure: 'not_found', detail: /\(ContainerNotFound\)\. It does not exist/ });

  const credential = new StorageSharedKeyCredential(azurite.account, azurite.key);
  const sas = (permissions: string) => generateBlobSASQueryParameters({
    containerName: 'backups', permissions: ContainerSASPermissions.parse(permissions), expiresOn: new Date(Date.now() + 3_600_000),
  }, credential).toString();
  const { account_key: _, ...withoutKey } = body;
  const readOnly = await f.app.request('PUT', '/v1/storage', { key, body: { ...withoutKey, sas: sas('rl') } });
  t.match(readOnly.body, { code: 'storage_unreachable', failed_step: 'write', failure: 'permission_denied', detail: /\(AuthorizationPermissionMismatch\)\. The credentials are valid but may not do this/ });
  const noDelete = await f.app.request('PUT', '/v1/storage', { key, body: { ...withoutKey, sas: sas('rcwl') } });
  t.match(noDelete.body, { code: 'storage_unreachable', failed_step: 'delete', failure: 'permission_denied', detail: /could not delete the test object from container "backups".* The test object coffer\/coffer-probe\/[0-9a-f]{16} is left there\.$/ });
  const left = await names('coffer/coffer-probe/');
  t.equal(left.length, 1, 'the probe that could not delete left its object, as it said');
  await container.deleteBlob(left[0]!);

  const both = await f.app.request('PUT', '/v1/storage', { key, body: { ...body, sas: sas('rcwdl') } });
  t.equal(both.status, 400);
  t.match(both.body, { errors: [{ pointer: '/body/account_key', detail: 'give either account_key or sas' }] });
  const badKey = await f.app.request('PUT', '/v1/storage', { key, body: { ...body, account_key: 'not base64!' } });
  t.match(badKey.body, { status: 400, errors: [{ pointer: '/body/account_key' }] });
  t.match((await f.app.request('GET', '/v1/storage', { key })).body, { kind: 'managed' }, 'nothing saved by failed attempts');

  const bySas = await f.app.request('PUT', '/v1/storage', { key, body: { ...withoutKey, sas: sas('rcwdl') } });
  t.equal(bySas.status, 200, `a signature that may create, write, read, delete and list passes: ${bySas.text}`);
  const saved = await f.app.request('PUT', '/v1/storage', { key, body });
  t.equal(saved.status, 200, saved.text);
  t.same({ ...saved.body, verified_at: 'x' }, {
    kind: 'azure', region: null, endpoint: azurite.endpoint, bucket: null, container: 'backups', account_name: azurite.account, prefix: 'coffer/',
    force_path_style: null, access_key_id: null, verified_at: 'x', has_backups: false,
  });
  t.notMatch(saved.text, new RegExp(azurite.key.slice(0, 20).replace(/[+/]/g, '.')), 'the key is never returned');
  const [row] = await f.app.deps.sql<{ secret_access_key: string }[]>`select secret_access_key from account_storage where account_id = ${f.accountId}`;
  t.notMatch(row!.secret_access_key, /Eby8vdM02x/, 'the key is stored sealed');
  t.same(await names('coffer/coffer-probe/'), [], 'the probe blob was deleted');

  const bob = f.emu.state.addMember({ email: 'bob@coffer-emu.test' });
  f.emu.state.putFile(bob, '/big.bin', randomBytes(3 * 1024 * 1024));
  for (let i = 0; i < 10; i++) f.emu.state.putFile(bob, `/notes/${i}.txt`, `note ${i}`);
  const entityId = await f.memberEntity(bob);
  const r = await f.backup(entityId);
  t.equal(r.outcome, 'succeeded');
  if (r.outcome !== 'succeeded') return;
  await f.assertSnapshot(t, entityId, r.runId, f.dropboxState(bob.homeNsId), 'Azure container');
  t.ok((await names('coffer/packs/')).length >= 1, 'packs are in the container');
  const locked = await f.app.request('PUT', '/v1/storage', { key, body: { kind: 'managed' } });
  t.equal(locked.status, 409);

  await f.app.deps.sql`update accounts set state = 'pending_deletion', purge_at = ${new Date(0).toISOString()} where id = ${f.accountId}`;
  const { purgeAccount } = await import('../../workers/jobs/account-purge.ts');
  await purgeAccount(f.app.deps, f.accountId, f.app.clock.now());
  t.same(await names('coffer/'), [], "Coffer's blobs are gone");
  t.same(await names('theirs/'), ['theirs/report.pdf'], "the customer's own blob is untouched");
});
