// BlockIngest: blocks are asked about in batches (not one query per file), only the ones the
// account lacks reach the pack writer, repeats are written once, and a failed lookup fails the run.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockIngest } from '#workers/backup/block-ingest.ts';
import { sha256 } from '#workers/storage/block-codec.ts';
import { FsBlobStore } from '#workers/storage/fs-store.ts';
import { deriveAccountKeys } from '#workers/storage/keys.ts';
import { PackWriter, type WrittenPack } from '#workers/storage/pack-writer.ts';

const base = await mkdtemp(join(tmpdir(), 'coffer-ingest-'));
t.teardown(() => rm(base, { recursive: true, force: true }));
const keys = deriveAccountKeys(randomBytes(32));
let n = 0;

function setup(stored: Set<string>, opts: { batchBlocks?: number; batchBytes?: number } = {}) {
  const written: WrittenPack[] = [];
  const writer = new PackWriter({ store: new FsBlobStore(join(base, `s${n++}`)), keys, onPackWritten: (p) => void written.push(p) });
  const lookups: string[][] = [];
  const ingest = new BlockIngest({
    writer,
    lookup: async (hexes) => {
      lookups.push(hexes);
      return new Set(hexes.filter((h) => stored.has(h)));
    },
    ...opts,
  });
  return { writer, ingest, lookups, written };
}

t.test('1,200 blocks from 1,200 files cost three lookups; stored ones are skipped', async (t) => {
  const blocks = Array.from({ length: 1200 }, () => randomBytes(1000));
  const stored = new Set(blocks.filter((_, i) => i % 3 === 0).map((b) => sha256(b).toString('hex')));
  const { writer, ingest, lookups, written } = setup(stored, { batchBlocks: 500 });
  await Promise.all(blocks.map((b) => ingest.add(sha256(b), b)));
  await ingest.flush();
  await writer.flush();
  t.same(lookups.map((l) => l.length), [500, 500, 200], 'batches of 500, the rest at flush');
  const hashes = written.flatMap((p) => p.blocks.map((b) => b.hash.toString('hex')));
  t.equal(hashes.length, 800, 'only the 800 blocks the account lacks were written');
  t.notOk(hashes.some((h) => stored.has(h)), 'no stored block written again');
});

t.test('the same block queued twice, or known from an earlier batch, is asked and written once', async (t) => {
  const block = randomBytes(2000);
  const { writer, ingest, lookups, written } = setup(new Set(), { batchBlocks: 2 });
  await ingest.add(sha256(block), block);
  await ingest.add(sha256(block), block);
  await ingest.flush();
  await writer.flush();
  await ingest.add(sha256(block), block); // written by this run: the writer remembers it
  await ingest.flush();
  await writer.flush();
  t.same(lookups.map((l) => l.length), [1]);
  t.equal(written.flatMap((p) => p.blocks).length, 1);
  const stored = sha256(randomBytes(10)).toString('hex');
  ingest.markStored(stored);
  await ingest.add(Buffer.from(stored, 'hex'), randomBytes(10));
  await ingest.flush();
  t.equal(lookups.length, 1, 'a block recorded as stored is not looked up');
});

t.test('big blocks force a lookup by bytes, bounding memory', async (t) => {
  const { ingest, lookups } = setup(new Set(), { batchBlocks: 1000, batchBytes: 3 * 1024 * 1024 });
  for (let i = 0; i < 4; i++) {
    const b = randomBytes(1024 * 1024);
    await ingest.add(sha256(b), b);
  }
  await new Promise((r) => setImmediate(r));
  t.same(lookups.map((l) => l.length), [3], 'three 1 MiB blocks reached the 3 MiB bound');
  await ingest.flush();
  t.same(lookups.map((l) => l.length), [3, 1]);
});

t.test('the caller runs ahead of at most two batches in flight', async (t) => {
  const writer = new PackWriter({ store: new FsBlobStore(join(base, `s${n++}`)), keys });
  const gates: (() => void)[] = [];
  let started = 0;
  let open = false;
  const ingest = new BlockIngest({
    writer,
    batchBlocks: 1,
    lookup: async () => {
      started++;
      if (!open) await new Promise<void>((r) => gates.push(r));
      return new Set();
    },
  });
  const adds = [0, 1, 2].map(() => randomBytes(50));
  await ingest.add(sha256(adds[0]!), adds[0]!);
  await ingest.add(sha256(adds[1]!), adds[1]!);
  let third = false;
  const pending = ingest.add(sha256(adds[2]!), adds[2]!).then(() => { third = true; });
  await new Promise((r) => setImmediate(r));
  t.equal(third, false, 'a third batch waits while two are unfinished');
  while (!third) {
    gates.shift()?.();
    await new Promise((r) => setImmediate(r));
  }
  await pending;
  open = true;
  while (gates.length) gates.shift()!();
  await ingest.flush();
  t.equal(started, 3);
});

t.test('a failed lookup fails the next add and every flush', async (t) => {
  const writer = new PackWriter({ store: new FsBlobStore(join(base, `s${n++}`)), keys });
  let calls = 0;
  const ingest = new BlockIngest({
    writer,
    batchBlocks: 2,
    lookup: async () => {
      calls++;
      throw new Error('database went away');
    },
  });
  const a = randomBytes(100);
  const b = randomBytes(100);
  await ingest.add(sha256(a), a);
  await ingest.add(sha256(b), b); // fills the batch: its lookup runs (and fails) behind the caller's back
  await new Promise((r) => setImmediate(r));
  await t.rejects(ingest.add(sha256(randomBytes(100)), randomBytes(100)), /database went away/, 'the next add sees it');
  await t.rejects(ingest.flush(), /database went away/);
  t.equal(calls, 1, 'no lookups after a failure');
  t.equal(writer.pendingBlocks, 0, 'nothing reached the writer');
});
