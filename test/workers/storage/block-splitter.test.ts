// Block splitter: exact block counts, sizes, offsets and hashes at every size edge, with sources
// chunked in awkward ways, and the content_hash it derives.
import t from 'tap';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BlockSplitter, splitAll } from '#workers/storage/block-splitter.ts';
import { contentHashOf, DROPBOX_BLOCK_SIZE } from '#workers/storage/content-hash.ts';

const B = DROPBOX_BLOCK_SIZE;

function patterned(size: number): Buffer {
  const data = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + (i >>> 13)) & 0xff;
  return data;
}

async function* chunked(data: Buffer, chunkSize: number): AsyncGenerator<Buffer> {
  for (let pos = 0; pos < data.length; pos += chunkSize) yield data.subarray(pos, pos + chunkSize);
}

const sha = (data: Uint8Array) => createHash('sha256').update(data).digest();

const cases: Array<[string, number, number[]]> = [
  ['0 bytes', 0, []],
  ['1 byte', 1, [1]],
  ['4 MiB − 1', B - 1, [B - 1]],
  ['4 MiB', B, [B]],
  ['4 MiB + 1', B + 1, [B, 1]],
  ['10 MiB + 7', 10 * 1024 * 1024 + 7, [B, B, 2 * 1024 * 1024 + 7]],
];

for (const [name, size, expectedSizes] of cases) {
  t.test(name, async (t) => {
    const data = patterned(size);
    // 1 MiB + 3 chunks: never aligned with the 4 MiB boundaries.
    const { blocks, contentHash, size: total } = await splitAll(chunked(data, 1024 * 1024 + 3));
    t.same(blocks.map((b) => b.data.length), expectedSizes, 'block sizes');
    t.same(blocks.map((b) => b.index), expectedSizes.map((_, i) => i), 'indexes');
    t.same(blocks.map((b) => b.offset), expectedSizes.map((_, i) => i * B), 'offsets');
    t.equal(total, size, 'total size');
    for (const block of blocks) {
      t.ok(block.data.equals(data.subarray(block.offset, block.offset + block.data.length)), `block ${block.index} bytes`);
      t.ok(block.sha256.equals(sha(block.data)), `block ${block.index} sha256`);
      t.equal(block.sha256.length, 32, 'binary digest');
    }
    t.equal(contentHash, contentHashOf(data), 'content_hash matches the reference implementation');
  });
}

t.test('known content_hash through the splitter (10 MiB of "a")', async (t) => {
  const data = Buffer.alloc(10 * 1024 * 1024, 0x61);
  const { contentHash, blocks } = await splitAll(Readable.from(chunked(data, 64 * 1024)));
  t.equal(contentHash, '576f896dca27a476b9c9429b4cc02588f94d59603c16dfce30ae58066da2ad55');
  t.equal(blocks.length, 3);
});

t.test('tiny and huge chunks, strings and Uint8Arrays', async (t) => {
  const data = patterned(B + 100);
  const expected = contentHashOf(data);
  async function* mixed(): AsyncGenerator<Uint8Array | string> {
    yield 'abc';
    yield new Uint8Array(data.subarray(3, 10)); // a plain Uint8Array copy
    for (let i = 10; i < 20; i++) yield data.subarray(i, i + 1);
    yield data.subarray(20); // one chunk crossing the boundary
  }
  const first = Buffer.concat([Buffer.from('abc'), data.subarray(3)]);
  const { blocks, contentHash } = await splitAll(mixed());
  t.equal(contentHash, contentHashOf(first));
  t.same(blocks.map((b) => b.data.length), [B, 100]);
  t.equal(contentHashOf(data), expected);
});

t.test('a chunk that is exactly one block is passed through without a copy', async (t) => {
  const data = patterned(2 * B);
  const splitter = new BlockSplitter(chunked(data, B));
  const blocks = [];
  for await (const block of splitter) blocks.push(block);
  t.equal(blocks.length, 2);
  t.equal(blocks[0]!.data.buffer, data.buffer, 'same memory, no copy');
  t.equal(splitter.blockHashes.length, 2);
  t.equal(splitter.size, 2 * B);
});

t.test('memory stays bounded to about one block while streaming 64 MiB', async (t) => {
  // Two checks: the splitter never reads more than one chunk past the block it yields (no
  // read-ahead buffering), and after a forced GC the memory retained while streaming 64 MiB stays
  // around one block (the splitter keeps no reference to blocks it has handed out).
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const total = 64 * 1024 * 1024;
  const chunkSize = 256 * 1024 + 1;
  let pulled = 0;
  async function* source(): AsyncGenerator<Buffer> {
    while (pulled < total) {
      const size = Math.min(chunkSize, total - pulled);
      pulled += size;
      yield Buffer.alloc(size, 7);
    }
  }
  gc();
  const before = process.memoryUsage().arrayBuffers;
  const retained: number[] = [];
  let maxReadAhead = 0;
  let count = 0;
  for await (const block of new BlockSplitter(source())) {
    count++;
    maxReadAhead = Math.max(maxReadAhead, pulled - (block.offset + block.data.length));
    if (block.data.length !== B) t.fail('short block');
    gc();
    retained.push(process.memoryUsage().arrayBuffers - before);
  }
  t.equal(count, 16);
  t.ok(maxReadAhead < chunkSize, `read at most one chunk ahead (${maxReadAhead} bytes)`);
  // The median, because a GC pass sometimes leaves a freed block behind for a moment.
  const median = retained.sort((a, b) => a - b)[retained.length >> 1]!;
  t.ok(median < 12 * 1024 * 1024, `retained ${(median / 1048576).toFixed(1)} MiB after GC (median), about one block, not 64 MiB`);
});

t.test('contentHash before the end, and double iteration, are errors', async (t) => {
  const splitter = new BlockSplitter(chunked(Buffer.from('x'), 1));
  t.throws(() => splitter.contentHash);
  for await (const _ of splitter) { /* drain */ }
  t.equal(splitter.contentHash, contentHashOf(Buffer.from('x')));
  await t.rejects(async () => {
    for await (const _ of splitter) { /* second pass */ }
  });
  t.throws(() => new BlockSplitter(chunked(Buffer.alloc(0), 1), { blockSize: 0 }));
});

t.test('a custom block size splits accordingly', async (t) => {
  const { blocks } = await splitAll(chunked(patterned(10), 3), { blockSize: 4 });
  t.same(blocks.map((b) => b.data.length), [4, 4, 2]);
});
