// Dropbox content_hash: the vectors from docs/dropbox.md §4, and independence from read chunking.
import t from 'tap';
import { createHash } from 'node:crypto';
import { contentHashFromBlockHashes, contentHashOf, createContentHasher, DROPBOX_BLOCK_SIZE } from '#workers/storage/content-hash.ts';

const MiB = 1024 * 1024;

const vectors: Array<[string, Buffer, string]> = [
  ['empty file (no blocks)', Buffer.alloc(0), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ['"hello"', Buffer.from('hello'), '9595c9df90075148eb06860365df33584b75bff782a510c6cd4883a419833d50'],
  ['4,194,304 × 0x00', Buffer.alloc(4 * MiB), 'c7e946d101855255d919ef0c70718633adf77d3dfb3adeeecf5d0cb4e951be58'],
  ['4,194,305 × 0x00', Buffer.alloc(4 * MiB + 1), '14a4d47f23a30177885d9820122f17d2d3a55fe63f7f5c27b95f689e0b2accd6'],
  ['10,485,760 × "a"', Buffer.alloc(10 * MiB, 0x61), '576f896dca27a476b9c9429b4cc02588f94d59603c16dfce30ae58066da2ad55'],
];

t.equal(DROPBOX_BLOCK_SIZE, 4_194_304);

for (const [name, data, expected] of vectors) {
  t.test(name, async (t) => {
    t.equal(contentHashOf(data), expected, 'whole buffer');
    const hasher = createContentHasher();
    for (let pos = 0; pos < data.length; pos += 3 * MiB) hasher.update(data.subarray(pos, pos + 3 * MiB));
    t.equal(hasher.digest(), expected, '3 MiB chunks');
  });
}

t.test('a one-block file is SHA256(SHA256(data)), not plain SHA-256', async (t) => {
  const inner = createHash('sha256').update('hello').digest();
  t.equal(contentHashOf(Buffer.from('hello')), createHash('sha256').update(inner).digest('hex'));
  t.not(contentHashOf(Buffer.from('hello')), createHash('sha256').update('hello').digest('hex'));
});

t.test('chunking never changes the hash', async (t) => {
  // Random content spanning two block boundaries, so a boundary bug cannot hide behind zeros.
  const data = Buffer.alloc(2 * DROPBOX_BLOCK_SIZE + 12_345);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
  const expected = contentHashOf(data);

  const oneByte = createContentHasher();
  // 1-byte chunks across both block boundaries plus the head and the tail of the file.
  const windows: Array<[number, number]> = [
    [0, 100],
    [DROPBOX_BLOCK_SIZE - 50, DROPBOX_BLOCK_SIZE + 50],
    [2 * DROPBOX_BLOCK_SIZE - 50, 2 * DROPBOX_BLOCK_SIZE + 50],
    [data.length - 100, data.length],
  ];
  let pos = 0;
  for (const [start, end] of windows) {
    oneByte.update(data.subarray(pos, start));
    for (let i = start; i < end; i++) oneByte.update(data.subarray(i, i + 1));
    pos = end;
  }
  t.equal(oneByte.digest(), expected, '1-byte chunks around every boundary');

  const odd = createContentHasher();
  for (let p = 0; p < data.length; p += 65_537) odd.update(data.subarray(p, p + 65_537));
  t.equal(odd.digest(), expected, '65,537-byte chunks');

  const blockHashes = [0, 1, 2].map((i) => createHash('sha256').update(data.subarray(i * DROPBOX_BLOCK_SIZE, (i + 1) * DROPBOX_BLOCK_SIZE)).digest());
  t.equal(contentHashFromBlockHashes(blockHashes), expected, 'from block hashes');
});

t.test('fully 1-byte chunked small file', async (t) => {
  const data = Buffer.from('the quick brown fox jumps over the lazy dog');
  const hasher = createContentHasher();
  for (const byte of data) hasher.update(Buffer.from([byte]));
  t.equal(hasher.digest(), contentHashOf(data));
});

t.test('a digested hasher refuses more work', async (t) => {
  const hasher = createContentHasher();
  hasher.digest();
  t.throws(() => hasher.update(Buffer.from('x')));
  t.throws(() => hasher.digest());
});
