// EncoderPool: blocks encoded on worker threads decode to the same bytes under the right key, keys
// of different accounts never mix within a batch, views into bigger buffers are copied (the source
// stays usable) and a pack writer using the pool writes readable packs.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeBlock, sha256 } from '#workers/storage/block-codec.ts';
import { BlockReader } from '#workers/storage/block-reader.ts';
import { EncoderPool } from '#workers/storage/encoder-pool.ts';
import { FsBlobStore } from '#workers/storage/fs-store.ts';
import { deriveAccountKeys } from '#workers/storage/keys.ts';
import { PackWriter } from '#workers/storage/pack-writer.ts';

const pool = new EncoderPool(2);
t.teardown(() => pool.close());

t.test('blocks of two accounts in one tick: each decodes under its own key only', async (t) => {
  const keyA = randomBytes(32);
  const keyB = randomBytes(32);
  const blocks = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? randomBytes(5000) : Buffer.from(`line ${i}\n`.repeat(500))));
  const encoded = await Promise.all(blocks.map((b, i) => pool.encode(i % 2 ? keyA : keyB, b, sha256(b))));
  let wrong = 0;
  for (const [i, e] of encoded.entries()) {
    const data = Buffer.concat(e.parts);
    t.equal(data.length, e.length);
    const key = i % 2 ? keyA : keyB;
    if (!decodeBlock(key, data, sha256(blocks[i]!)).equals(blocks[i]!)) wrong++;
    t.throws(() => decodeBlock(i % 2 ? keyB : keyA, data, sha256(blocks[i]!)), 'the other key fails authentication');
  }
  t.equal(wrong, 0);
  t.ok(encoded.filter((e) => e.compressed).length >= 199, 'text blocks compressed');
});

t.test('a view into a bigger buffer is copied, so the source stays intact', async (t) => {
  const big = randomBytes(1024 * 1024);
  const view = big.subarray(1000, 1000 + 300 * 1024);
  const copy = Buffer.from(view);
  const e = await pool.encode(randomBytes(32), view, sha256(view));
  t.equal(big.length, 1024 * 1024, 'the source buffer was not transferred away');
  t.ok(view.equals(copy));
  t.equal(e.length, view.length + 29);
});

t.test('one request of blocks in shared memory, copied views and handed-over big blocks, big and small results', async (t) => {
  const key = randomBytes(32);
  // A zip in shared memory: its files are views the thread reads in place.
  const zip = Buffer.from(new SharedArrayBuffer(64 * 1024));
  randomBytes(64 * 1024).copy(zip);
  const inShared = [zip.subarray(0, 10_000), zip.subarray(10_000, 30_000), Buffer.from(zip.subarray(30_000))];
  const pooled = Buffer.from('pooled small block '.repeat(200)); // a view into Node's pool: copied
  const big = randomBytes(4 * 1024 * 1024); // owns its memory: handed over
  const bigCopy = Buffer.from(big);
  const inputs = [...inShared, pooled, big];
  const expected = inputs.map((b) => Buffer.from(b));
  const encoded = await Promise.all(inputs.map((b) => pool.encode(key, b, sha256(b))));
  for (const [i, e] of encoded.entries()) t.ok(decodeBlock(key, Buffer.concat(e.parts), sha256(expected[i]!)).equals(expected[i]!), `block ${i} decodes`);
  t.ok(zip.subarray(0, 30_000).equals(Buffer.concat([expected[0]!, expected[1]!])), 'shared memory left as it was');
  t.equal(big.length, 0, 'the big block was handed over, not copied');
  t.ok(decodeBlock(key, Buffer.concat(encoded[4]!.parts), sha256(bigCopy)).equals(bigCopy));
  t.equal(encoded[4]!.parts[0]!.buffer.byteLength, encoded[4]!.length, 'a big result has a buffer of its own');
  t.equal(encoded[0]!.parts[0]!.buffer, encoded[1]!.parts[0]!.buffer, 'small results share one buffer');
});

t.test('a pack writer on the pool: concurrent duplicate adds store one block, flush waits for encoding', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-encoder-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = new FsBlobStore(dir);
  const keys = deriveAccountKeys(randomBytes(32));
  const writer = new PackWriter({ store, keys, encoder: pool, targetPackSize: 256 * 1024 });
  const blocks = Array.from({ length: 100 }, () => randomBytes(20_000));
  const rows = await Promise.all([...blocks, ...blocks].map((b) => writer.add(sha256(b), Buffer.from(b))));
  await writer.flush();
  t.equal(new Set(rows.map((r) => `${r.packId}:${r.offset}`)).size, 100, 'each duplicate resolved to the same stored block');
  const reader = new BlockReader({ store, keys });
  for (const [i, b] of blocks.entries()) t.ok((await reader.read(rows[i]!)).equals(b));
});

t.test('close rejects what is in flight and later requests', async (t) => {
  const local = new EncoderPool(1);
  const b = randomBytes(100_000);
  const inflight = local.encode(randomBytes(32), b, sha256(b));
  await local.close();
  await t.rejects(inflight, /closed/);
  await t.rejects(local.encode(randomBytes(32), b, sha256(b)), /closed/);
});
