// Azure blob store against a real Azurite: the shared suite, plus what is Azure's own (a missing
// container is an error rather than "not found", and every connection goes through the guard).
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { AzureBlobStore } from '#workers/storage/azure-store.ts';
import { accountTarget } from '#workers/outbound/azure-destination.ts';
import { azureContainer, isTargetRefused } from '#workers/outbound/clients.ts';
import { blobStoreSuite, collect } from './fixtures/blob-store-suite.ts';
import { startAzurite } from '../../helpers/azurite.ts';
import { fakeResolver } from '../../helpers/resolver.ts';

const azurite = await startAzurite();
t.teardown(() => azurite.stop());
const target = accountTarget(azurite.account, azurite.key, azurite.endpoint);
const open = { allowPrivate: true };
const container = azureContainer(target, 'coffer-test', open);
await container.create();

let n = 0;
const fresh = () => new AzureBlobStore({ container, prefix: `run-${n++}` });

blobStoreSuite(t, fresh);

t.test('the prefix isolates stores in one container', async (t) => {
  const a = fresh();
  const b = fresh();
  await a.put('same-key', Buffer.from('a'));
  t.equal(await b.head('same-key'), null);
  t.same(await collect(b, ''), []);
  t.same(await collect(a, ''), [{ key: 'same-key', size: 1 }]);
});

t.test('a missing container surfaces as an error, not as "not found"', async (t) => {
  const store = new AzureBlobStore({ container: azureContainer(target, 'no-such-container', open) });
  await t.rejects(store.put('k', Buffer.from('v')), { statusCode: 404, code: 'ContainerNotFound' } as never);
  await t.rejects(store.get('k'), { statusCode: 404 } as never);
  await t.rejects(store.head('k'), { statusCode: 404 } as never, 'head does not answer "absent" for a missing container');
});

t.test('many deletes, missing ones included', async (t) => {
  const store = fresh();
  const keys = Array.from({ length: 40 }, (_, i) => `many/${String(i).padStart(3, '0')}`);
  await Promise.all(keys.map((key) => store.put(key, randomBytes(10))));
  await store.delete([...keys, 'many/never-there']);
  t.same(await collect(store, 'many/'), []);
});

t.test('attack: a service URL whose name resolves inward is refused at connect time', async (t) => {
  const port = new URL(azurite.endpoint).port;
  const resolver = fakeResolver({ 'blob.customer.example': '127.0.0.1' });
  const inward = accountTarget(azurite.account, azurite.key, `http://blob.customer.example:${port}/${azurite.account}`);
  const store = new AzureBlobStore({ container: azureContainer(inward, 'coffer-test', { allowPrivate: false, resolve: resolver }) });
  const err = await store.put('k', Buffer.from('v')).then(() => undefined, (e: unknown) => e);
  t.ok(isTargetRefused(err), `refused: ${String(err)}`);
  t.ok(resolver.asked.includes('blob.customer.example'));
  t.same(await collect(fresh(), ''), [], 'nothing was written');
  t.throws(() => azureContainer(accountTarget(azurite.account, azurite.key, azurite.endpoint), 'c', { allowPrivate: false }), /non-public address/, 'a literal inside address is refused before any request');
});
