// Packs: many small blocks become a few PUTs, every block reads back, a pack describes itself,
// duplicates are stored once, and a failed PUT never reports blocks as written.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { BlobStore } from '#workers/storage/blob-store.ts';
import { blockName, sha256 } from '#workers/storage/block-codec.ts';
import { BlockReader, readPackIndex } from '#workers/storage/block-reader.ts';
import { IntegrityError } from '#workers/storage/errors.ts';
import { FsBlobStore } from '#workers/storage/fs-store.ts';
import { deriveAccountKeys } from '#workers/storage/keys.ts';
import { packKey } from '#workers/storage/pack-format.ts';
import { PackWriter, type StoredBlock, type WrittenPack } from '#workers/storage/pack-writer.ts';
import { collect, readAll } from './fixtures/blob-store-suite.ts';
import { splitAll } from '#workers/storage/block-splitter.ts';
import { contentHashOf } from '#workers/storage/content-hash.ts';
import { createFileStream } from '#workers/storage/file-reader.ts';

const base = await mkdtemp(join(tmpdir(), 'coffer-packs-'));
t.teardown(() => rm(base, { recursive: true, force: true }));
let n = 0;

/** A store that counts puts and can be told to fail them. */
class CountingStore implements BlobStore {
  puts: string[] = [];
  failPuts = false;
  inner: BlobStore;
  constructor(inner: BlobStore) {
    this.inner = inner;
  }
  async put(key: string, body: Buffer | Readable, size?: number) {
    if (this.failPuts) throw new Error('injected put failure');
    this.puts.push(key);
    return this.inner.put(key, body, size);
  }
  get(key: string) { return this.inner.get(key); }
  getRange(key: string, offset: number, length: number) { return this.inner.getRange(key, offset, length); }
  getStream(key: string) { return this.inner.getStream(key); }
  head(key: string) { return this.inner.head(key); }
  delete(keys: string[]) { return this.inner.delete(keys); }
  list(prefix: string) { return this.inner.list(prefix); }
}

const fresh = () => new CountingStore(new FsBlobStore(join(base, `store-${n++}`)));
const keys = deriveAccountKeys(randomBytes(32));

/** 10 KB-ish blocks: half compressible text, half random. */
function smallBlock(i: number): Buffer {
  return i % 2 === 0 ? Buffer.from(`file ${i} `.repeat(1000 + (i % 7))) : randomBytes(10_000 + i);
}

t.test('1,000 small blocks: a handful of PUTs, every block byte-identical', async (t) => {
  const store = fresh();
  const reported: WrittenPack[] = [];
  const writer = new PackWriter({ store, keys, targetPackSize: 1024 * 1024, onPackWritten: (p) => void reported.push(p) });
  const blocks = Array.from({ length: 1000 }, (_, i) => smallBlock(i));
  for (const block of blocks) await writer.add(sha256(block), block);
  const last = await writer.flush();
  t.ok(last, 'the final flush wrote the open pack');

  // ~5.5 MB stored (text compresses) in 1 MiB packs: about 6 packs, one PUT each.
  t.ok(store.puts.length >= 4 && store.puts.length <= 8, `${store.puts.length} PUTs for 1,000 blocks`);
  t.equal(reported.length, store.puts.length, 'one report per PUT');
  t.equal(writer.packsWritten, store.puts.length);
  // Packs are written several at a time, so reports may come in any order, but each follows its PUT.
  t.same([...store.puts].sort(), reported.map((p) => p.key).sort(), 'one report for each PUT');
  t.same(reported.find((p) => p.packId === last!.packId), last);
  for (const pack of reported) {
    t.equal(pack.key, packKey(pack.packId));
    t.match(pack.key, /^packs\/[0-9a-f]{2}\/[0-9a-f]{32}$/);
    t.ok(pack.size <= 1024 * 1024, `pack ${pack.packId} within target (${pack.size})`);
    t.same(await store.head(pack.key), { size: pack.size });
  }

  const rows = reported.flatMap((p) => p.blocks);
  t.equal(rows.length, 1000, 'every block reported exactly once');
  t.equal(new Set(rows.map((r) => r.hash.toString('hex'))).size, 1000);
  const compressed = rows.filter((r) => r.compressed).length;
  t.equal(compressed, 500, 'text blocks compressed, random ones not');

  const reader = new BlockReader({ store, keys });
  const wrong: string[] = [];
  const index = new Map(blocks.map((b, i) => [sha256(b).toString('hex'), i]));
  for (const row of rows) {
    const i = index.get(row.hash.toString('hex'))!;
    if (row.length !== row.storedSize) wrong.push(`${i}: length`);
    if (row.plainSize !== blocks[i]!.length) wrong.push(`${i}: plainSize`);
    if (row.name !== blockName(keys.namingKey, row.hash)) wrong.push(`${i}: name`);
    if (!(await reader.read(row)).equals(blocks[i]!)) wrong.push(`${i}: bytes`);
  }
  t.same(wrong, [], 'all 1,000 blocks read back byte-identical, with exact sizes and names');
});

t.test('a pack is self-describing: its index is readable from the pack alone', async (t) => {
  const store = fresh();
  const writer = new PackWriter({ store, keys });
  const blocks = Array.from({ length: 20 }, (_, i) => smallBlock(i));
  for (const block of blocks) await writer.add(sha256(block), block);
  const pack = (await writer.flush())!;
  t.equal(store.puts.length, 1, 'default 16 MiB target: one pack');

  // Disaster recovery: only the store, the account keys and a listing of packs/.
  const listed = await collect(store, 'packs/');
  t.same(listed, [{ key: pack.key, size: pack.size }]);
  const packId = listed[0]!.key.split('/')[2]!;
  const index = await readPackIndex(store, keys, packId);
  t.same(
    index.map((e) => ({ hash: e.hash.toString('hex'), name: e.name, offset: e.offset, length: e.length, plainSize: e.plainSize })),
    pack.blocks.map((b) => ({ hash: b.hash.toString('hex'), name: b.name, offset: b.offset, length: b.length, plainSize: b.plainSize })),
  );
  const reader = new BlockReader({ store, keys });
  for (const [i, entry] of index.entries()) t.ok((await reader.read({ ...entry, packId })).equals(blocks[i]!), `block ${i} from the index`);

  // The index needs this account's key, and is bound to its own pack.
  await t.rejects(readPackIndex(store, deriveAccountKeys(randomBytes(32)), packId), IntegrityError);
  const raw = await store.get(pack.key);
  const otherId = 'ff'.repeat(16);
  await store.put(packKey(otherId), raw);
  await t.rejects(readPackIndex(store, keys, otherId), { name: 'IntegrityError', reason: 'authentication' }, 'index copied to another pack id');
  await store.put(packKey(otherId), raw.subarray(0, raw.length - 1));
  await t.rejects(readPackIndex(store, keys, otherId), { name: 'IntegrityError', reason: 'format' }, 'truncated pack');
});

t.test('pack layout: blocks, then index, then a 16-byte footer', async (t) => {
  const store = fresh();
  const writer = new PackWriter({ store, keys });
  const block = randomBytes(1000);
  const row = await writer.add(sha256(block), block);
  const pack = (await writer.flush())!;
  const raw = await store.get(pack.key);
  t.equal(row.offset, 0);
  t.equal(row.length, 1000 + 29);
  const footer = raw.subarray(raw.length - 16);
  t.equal(footer.subarray(0, 4).toString(), 'CFPK');
  t.equal(footer[4], 1, 'format version');
  t.equal(footer.readUInt32BE(12), 1, 'block count');
  const indexLength = footer.readUInt32BE(8);
  t.equal(indexLength, 12 + 4 + 76 + 16, 'nonce + count + one entry + tag');
  t.equal(raw.length, 1029 + indexLength + 16);
  t.equal(raw[0], 0x10, 'the first block starts at offset 0 with its codec header');
});

t.test('dedup within a writer session', async (t) => {
  const store = fresh();
  const writer = new PackWriter({ store, keys });
  const block = smallBlock(0);
  const first = await writer.add(sha256(block), block);
  const other = smallBlock(1);
  await writer.add(sha256(other), other);
  const again = await writer.add(sha256(block), Buffer.from(block));
  t.equal(again, first, 'same hash → the same stored block and location');
  const pack = (await writer.flush())!;
  t.equal(pack.blocks.length, 2, 'stored once');
  // After the flush the session still remembers it: adding it again writes nothing new.
  t.ok(writer.has(sha256(block)));
  t.notOk(writer.has(sha256(Buffer.from('never added'))));
  t.same(await writer.add(sha256(block), block), first);
  t.equal(await writer.flush(), null, 'nothing new to write');
  t.equal(store.puts.length, 1);
});

t.test('written blocks are remembered up to a bound; pending ones always', async (t) => {
  const store = fresh();
  const writer = new PackWriter({ store, keys, targetPackSize: 10_000, rememberWritten: 2, maxConcurrentWrites: 1 });
  const blocks = Array.from({ length: 4 }, () => randomBytes(6000)); // one block per pack
  for (const block of blocks) await writer.add(sha256(block), block);
  t.equal(store.puts.length, 3, 'three packs written, the fourth block pending');
  t.same(blocks.map((b) => writer.has(sha256(b))), [false, true, true, true], 'oldest written block forgotten');
  await writer.add(sha256(blocks[0]!), blocks[0]!);
  await writer.flush();
  t.equal(store.puts.length, 5, 'a forgotten block is written again (the caller’s database check prevents that)');
});

t.test('a block larger than the target gets a pack of its own', async (t) => {
  const store = fresh();
  const writer = new PackWriter({ store, keys, targetPackSize: 64 * 1024 });
  const small = randomBytes(1000);
  const big = randomBytes(200_000);
  await writer.add(sha256(small), small);
  const bigRow = await writer.add(sha256(big), big);
  const small2 = randomBytes(1000);
  await writer.add(sha256(small2), small2);
  await writer.flush();
  t.equal(store.puts.length, 3, 'small | big | small');
  t.equal(bigRow.offset, 0);
  t.ok((await new BlockReader({ store, keys }).read(bigRow)).equals(big));
});

t.test('a failed PUT reports nothing and fails the writer', async (t) => {
  const store = fresh();
  const reported: WrittenPack[] = [];
  const writer = new PackWriter({ store, keys, onPackWritten: (p) => void reported.push(p) });
  const block = randomBytes(5000);
  await writer.add(sha256(block), block);
  store.failPuts = true;
  await t.rejects(writer.flush(), /injected put failure/);
  t.same(reported, [], 'no blocks reported as written');
  t.same(await collect(store, ''), [], 'no pack object');
  await t.rejects(writer.add(sha256(block), block), /injected put failure/, 'the writer stays failed');
  await t.rejects(writer.flush(), /injected put failure/);

  // A caller whose database insert fails fails the writer the same way.
  const second = new PackWriter({ store: fresh(), keys, onPackWritten: () => { throw new Error('db down'); } });
  await second.add(sha256(block), block);
  await t.rejects(second.flush(), /db down/);
});

t.test('concurrent adds while a pack is being written', async (t) => {
  const store = fresh();
  const reported: WrittenPack[] = [];
  const writer = new PackWriter({ store, keys, targetPackSize: 50_000, onPackWritten: (p) => void reported.push(p) });
  const blocks = Array.from({ length: 60 }, () => randomBytes(4000));
  const rows = await Promise.all(blocks.map((b) => writer.add(sha256(b), b)));
  await writer.flush();
  const all = reported.flatMap((p) => p.blocks);
  t.equal(all.length, 60);
  t.same(new Set(all.map((r) => r.packId)).size, reported.length);
  const reader = new BlockReader({ store, keys });
  for (const [i, row] of rows.entries()) t.ok((await reader.read(row)).equals(blocks[i]!));
});

t.test('packs are written several at a time, never more than maxConcurrentWrites', async (t) => {
  const inner = fresh();
  let running = 0;
  let most = 0;
  const gates: (() => void)[] = [];
  const slow: BlobStore = Object.assign(Object.create(inner) as BlobStore, {
    put: async (key: string, body: Buffer | Readable, size?: number) => {
      running++;
      most = Math.max(most, running);
      await new Promise<void>((r) => gates.push(r));
      await inner.put(key, body, size);
      running--;
    },
  });
  const writer = new PackWriter({ store: slow, keys, targetPackSize: 10_000, maxConcurrentWrites: 2 });
  const blocks = Array.from({ length: 6 }, () => randomBytes(6000)); // one block per pack
  const adding = (async () => {
    for (const b of blocks) await writer.add(sha256(b), b);
    await writer.flush();
  })();
  // Let the PUTs through one at a time, slowly; the writer must never have three running.
  while (inner.puts.length < 6) {
    await new Promise((r) => setTimeout(r, 5));
    gates.shift()?.();
  }
  await adding;
  t.equal(most, 2, 'two PUTs overlapped, never three');
  t.equal(inner.puts.length, 6);
  const reader = new BlockReader({ store: inner, keys });
  t.equal(writer.packsWritten, 6);
  t.ok(await reader.read((await Promise.all(blocks.map((b) => writer.add(sha256(b), b))))[5]!), 'blocks remembered once written');
});

t.test('a failed PUT among concurrent ones fails the next add or flush', async (t) => {
  const store = fresh();
  const writer = new PackWriter({ store, keys, targetPackSize: 10_000, maxConcurrentWrites: 3 });
  const a = randomBytes(6000);
  await writer.add(sha256(a), a);
  store.failPuts = true;
  const b = randomBytes(6000);
  await writer.add(sha256(b), b); // seals the pack holding `a`; its PUT fails in the background
  await t.rejects(writer.flush(), /injected put failure/);
  await t.rejects(writer.add(sha256(a), a), /injected put failure/, 'the writer stays failed');
});

t.test('written() waits for the packs of blocks placed so far without sealing the open one', async (t) => {
  const store = fresh();
  const reported: string[] = [];
  const writer = new PackWriter({ store, keys, targetPackSize: 20_000, onPackWritten: (p) => void reported.push(...p.blocks.map((b) => b.hash.toString('hex'))) });
  await writer.written(); // nothing placed: resolves at once
  const blocks = Array.from({ length: 5 }, () => randomBytes(6000)); // three per pack
  for (const b of blocks.slice(0, 2)) await writer.add(sha256(b), b);
  let settled = false;
  const first = writer.written().then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 30));
  t.equal(settled, false, 'the open pack is not sealed for it');
  t.equal(store.puts.length, 0);
  for (const b of blocks.slice(2)) await writer.add(sha256(b), b); // fills and seals the first pack
  await first;
  t.equal(store.puts.length, 1, 'resolved by the pack that filled up');
  for (const b of blocks.slice(0, 2)) t.ok(reported.includes(sha256(b).toString('hex')), 'its blocks were reported before it resolved');
  const second = writer.written();
  await writer.flush();
  await second;
  t.equal(reported.length, 5);

  // A failed write rejects whoever waits for it, and every later call.
  const failing = fresh();
  const w2 = new PackWriter({ store: failing, keys, targetPackSize: 20_000 });
  for (const b of blocks.slice(0, 3)) await w2.add(sha256(b), b); // one open pack of three
  const waiting = w2.written();
  failing.failPuts = true;
  await w2.add(sha256(blocks[3]!), blocks[3]!); // seals it: its PUT fails
  await t.rejects(waiting, /injected put failure/);
  await t.rejects(w2.written(), /injected put failure/, 'and later calls');
});

t.test('block reader: integrity and cache', async (t) => {
  const store = fresh();
  const writer = new PackWriter({ store, keys });
  const a = Buffer.from('aaaa'.repeat(1000));
  const b = Buffer.from('bbbb'.repeat(1000));
  const rowA = await writer.add(sha256(a), a);
  const rowB = await writer.add(sha256(b), b);
  await writer.flush();

  const uncached = new BlockReader({ store, keys });
  await t.rejects(uncached.read({ ...rowA, hash: rowB.hash }), { name: 'IntegrityError', reason: 'authentication' }, 'pointed at the wrong slice');
  await t.rejects(uncached.read({ ...rowA, offset: rowA.offset + 1 }), IntegrityError, 'misaligned slice');
  await t.rejects(new BlockReader({ store, keys: deriveAccountKeys(randomBytes(32)) }).read(rowA), IntegrityError, 'another account’s key');

  const cached = new BlockReader({ store, keys, cacheBytes: 5000 });
  const ranges: number[] = [];
  const getRange = store.getRange.bind(store);
  store.getRange = (key, offset, length) => {
    ranges.push(offset);
    return getRange(key, offset, length);
  };
  t.ok((await cached.read(rowA)).equals(a));
  t.ok((await cached.read(rowA)).equals(a));
  t.equal(ranges.length, 1, 'second read served from the cache');
  await cached.read(rowB); // 8,000 bytes > 5,000: evicts A
  await cached.read(rowA);
  t.equal(ranges.length, 3, 'evicted by size');
});

t.test('readMany coalesces neighbouring slices into one GET per pack', async (t) => {
  const store = fresh();
  const writer = new PackWriter({ store, keys, targetPackSize: 200_000 });
  const blocks = Array.from({ length: 40 }, (_, i) => smallBlock(i));
  const rows: StoredBlock[] = [];
  for (const block of blocks) rows.push(await writer.add(sha256(block), block));
  await writer.flush();
  const packs = new Set(rows.map((r) => r.packId)).size;
  t.ok(packs >= 2, `${packs} packs`);
  const gets: string[] = [];
  const getRange = store.getRange.bind(store);
  store.getRange = (key, offset, length) => {
    gets.push(key);
    return getRange(key, offset, length);
  };
  const order = rows.map((_, i) => i).reverse(); // any order in, the same order out
  const back = await new BlockReader({ store, keys }).readMany(order.map((i) => rows[i]!));
  t.same(back.map((b, j) => b.equals(blocks[order[j]!]!)), order.map(() => true), 'every block, in the order asked');
  t.equal(gets.length, packs, 'one GET per pack');

  gets.length = 0;
  const picky = new BlockReader({ store, keys, coalesceGapBytes: 0, coalesceMaxBytes: 1 });
  await picky.readMany([rows[0]!, rows[2]!]);
  t.equal(gets.length, 2, 'no coalescing when the limits forbid it');
  await t.rejects(picky.readMany([{ ...rows[0]!, hash: rows[1]!.hash }]), IntegrityError, 'each block still verified');
});

t.test('a file streams back from its block list, checked against its content_hash', async (t) => {
  const store = fresh();
  const writer = new PackWriter({ store, keys });
  // A 9 MiB + 5 file: three Dropbox blocks.
  const file = Buffer.concat([randomBytes(3 * 1024 * 1024), Buffer.alloc(6 * 1024 * 1024 + 5, 'x')]);
  const { blocks, contentHash } = await splitAll([file]);
  t.equal(blocks.length, 3);
  const refs = [];
  for (const block of blocks) refs.push(await writer.add(block.sha256, block.data));
  await writer.flush();
  const reader = new BlockReader({ store, keys });
  const restored = await readAll(createFileStream(reader, refs, { expectedContentHash: contentHash, batchBytes: 1 }));
  t.ok(restored.equals(file), 'byte-identical');
  t.equal(contentHashOf(restored), contentHash);
  await t.rejects(readAll(createFileStream(reader, [refs[0]!, refs[2]!, refs[1]!], { expectedContentHash: contentHash })), { name: 'IntegrityError', reason: 'hash-mismatch' }, 'blocks out of order');
  t.same(await readAll(createFileStream(reader, [], { expectedContentHash: contentHashOf(Buffer.alloc(0)) })), Buffer.alloc(0), 'empty file');
});
