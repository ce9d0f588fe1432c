// Filesystem blob store: the shared suite plus what only a filesystem can show (temp files, modes).
import t from 'tap';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createBlobStore } from '#workers/storage/create-store.ts';
import { FsBlobStore } from '#workers/storage/fs-store.ts';
import { blobStoreSuite, collect } from './fixtures/blob-store-suite.ts';

const base = await mkdtemp(join(tmpdir(), 'coffer-fs-store-'));
t.teardown(() => rm(base, { recursive: true, force: true }));
let n = 0;
const fresh = () => new FsBlobStore(join(base, `store-${n++}`));

blobStoreSuite(t, fresh);

t.test('temp files are never listed and failed puts leave none behind', async (t) => {
  const store = fresh();
  await store.put('dir/kept', Buffer.from('x'));
  await writeFile(join(store.root, 'dir', '.tmp-leftover'), 'crash residue');
  t.same((await collect(store, '')).map((i) => i.key), ['dir/kept']);
  await t.rejects(store.get('dir/.tmp-leftover'), TypeError, 'temp names are not keys');

  const failing = Readable.from((async function* () {
    yield Buffer.alloc(1000);
    throw new Error('boom');
  })());
  await t.rejects(store.put('dir/failed', failing), /boom/);
  t.same((await readdir(join(store.root, 'dir'))).sort(), ['.tmp-leftover', 'kept'], 'no new temp file, no object');
});

t.test('keys become nested paths under the root', async (t) => {
  const store = fresh();
  await store.put('packs/ab/abcdef', Buffer.from('pack'));
  t.same(await readdir(join(store.root, 'packs', 'ab')), ['abcdef']);
  await mkdir(join(store.root, 'emptydir'));
  t.same((await collect(store, '')).map((i) => i.key), ['packs/ab/abcdef'], 'empty directories are not objects');
});

t.test('list yields keys in byte order, as S3 does', async (t) => {
  const store = fresh();
  for (const key of ['packs/a1', 'packs-x', 'packs/ab/c', 'packs0']) await store.put(key, Buffer.from('x'));
  t.same((await collect(store, 'packs')).map((i) => i.key), ['packs-x', 'packs/a1', 'packs/ab/c', 'packs0']);
});

t.test('list on a store whose root does not exist yet is empty', async (t) => {
  t.same(await collect(new FsBlobStore(join(base, 'never-created')), ''), []);
});

t.test('createBlobStore builds both kinds', async (t) => {
  const fsStore = createBlobStore({ kind: 'fs', root: join(base, 'factory') });
  t.ok(fsStore instanceof FsBlobStore);
  await fsStore.put('k', Buffer.from('v'));
  t.equal((await fsStore.get('k')).toString(), 'v');
  const s3 = createBlobStore({ kind: 's3', region: 'us-east-1', bucket: 'b', prefix: 'eu', accessKeyId: 'a', secretAccessKey: 's', endpoint: 'http://127.0.0.1:1' });
  t.equal((s3 as unknown as { prefix: string }).prefix, 'eu/');
  t.throws(() => createBlobStore({ kind: 'ftp' } as never), /unknown blob store kind/);
});
