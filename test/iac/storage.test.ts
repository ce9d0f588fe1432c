// coffer_storage through plan and apply against an S3-compatible bucket (s3rver): the secret key is
// write-only (sent, never in state), `secret_access_key_version` sends a new one, destroy returns
// to managed storage.
import t from 'tap';
import { adminIac } from '../helpers/iac-admin.ts';
import { startS3rver } from '../workers/storage/fixtures/start-s3rver.ts';

t.test('coffer_storage: own bucket with a write-only secret; update in place; drift; destroy returns to managed storage', async (t) => {
  const s3rver = await startS3rver('acme-iac-bucket');
  t.teardown(() => s3rver.stop());
  const h = await adminIac(t, { config: { storageAllowPrivateEndpoints: true } });
  const config = (prefix: string, version: number) => `
resource "coffer_storage" "main" {
  kind                      = "s3"
  bucket                    = "${s3rver.bucket}"
  region                    = "us-east-1"
  endpoint                  = "${s3rver.endpoint}"
  prefix                    = "${prefix}"
  access_key_id             = "S3RVER"
  secret_access_key         = "S3RVER-SECRET-MARKER"
  secret_access_key_version = ${version}
}
`;
  await h.config(config('coffer/', 1));
  t.same(h.actions((await h.apply()).plan), { 'coffer_storage.main': 'create' });
  t.match((await h.api.request('GET', '/v1/storage', { key: h.admin.key })).body, { kind: 's3', bucket: 'acme-iac-bucket', prefix: 'coffer/', access_key_id: 'S3RVER' });
  const stored = JSON.stringify((await h.backend.read())!.state);
  t.notOk(stored.includes('S3RVER-SECRET-MARKER'), 'the write-only secret is not in state');
  t.same(h.actions(await h.plan()), {}, 'No changes');

  await h.config(config('backups/', 1));
  t.same(h.actions((await h.apply()).plan), { 'coffer_storage.main': 'update' });
  t.equal((await h.api.request('GET', '/v1/storage', { key: h.admin.key })).body.prefix, 'backups/');
  await h.config(config('backups/', 2));
  t.same(h.actions(await h.plan()), { 'coffer_storage.main': 'update' }, 'a new secret version sends the secret again');
  await h.apply();
  t.same(h.actions(await h.plan()), {});

  await h.api.request('PUT', '/v1/storage', { key: h.admin.key, body: { kind: 'managed' } });
  t.same(h.actions(await h.plan()), { 'coffer_storage.main': 'update' }, 'switched back outside the tool: drift');
  await h.apply();

  await h.destroy();
  t.match((await h.api.request('GET', '/v1/storage', { key: h.admin.key })).body, { kind: 'managed', bucket: null });
});
