// Block codec: compression decision, authenticated encryption bound to the block hash, integrity.
import t from 'tap';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { blockName, BLOCK_OVERHEAD, decodeBlock, encodeBlock, sha256 } from '#workers/storage/block-codec.ts';
import { IntegrityError } from '#workers/storage/errors.ts';

const key = randomBytes(32);
const text = Buffer.from('Coffer backs up Dropbox teams. '.repeat(4096)); // 126,976 bytes
const random = randomBytes(100_000);

t.test('compressible block round trip, stored compressed', async (t) => {
  const hash = sha256(text);
  const encoded = encodeBlock(key, text, hash);
  t.equal(encoded.compressed, true);
  t.equal(encoded.data[0], 0x11, 'header: format 1, zstd flag');
  t.ok(encoded.data.length < text.length / 10, `stored ${encoded.data.length} bytes for ${text.length}`);
  t.ok(decodeBlock(key, encoded.data, hash).equals(text));
});

t.test('incompressible block round trip, stored uncompressed', async (t) => {
  const hash = sha256(random);
  const encoded = encodeBlock(key, random);
  t.equal(encoded.compressed, false);
  t.equal(encoded.data[0], 0x10, 'header: format 1, no flags');
  t.equal(encoded.data.length, random.length + BLOCK_OVERHEAD, 'exactly 29 bytes overhead');
  t.ok(decodeBlock(key, encoded.data, hash).equals(random));
});

t.test('barely compressible data is not worth compressing', async (t) => {
  // 98% random, 2% zeros: zstd saves under 1/32, so it is stored as is.
  const mostlyRandom = Buffer.concat([randomBytes(98_000), Buffer.alloc(2_000)]);
  t.equal(encodeBlock(key, mostlyRandom).compressed, false);
  const halfZero = Buffer.concat([randomBytes(50_000), Buffer.alloc(50_000)]);
  t.equal(encodeBlock(key, halfZero).compressed, true);
});

t.test('empty, tiny and compress:false blocks', async (t) => {
  for (const plain of [Buffer.alloc(0), Buffer.from('a'), Buffer.alloc(63)]) {
    const encoded = encodeBlock(key, plain);
    t.equal(encoded.compressed, false, `${plain.length} bytes not compressed`);
    t.ok(decodeBlock(key, encoded.data, sha256(plain)).equals(plain));
  }
  t.equal(encodeBlock(key, text, sha256(text), { compress: false }).compressed, false);
});

t.test('a 4 MiB block round trips', async (t) => {
  const block = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < block.length; i += 4096) block.write(`offset ${i}\n`, i);
  const hash = sha256(block);
  const encoded = encodeBlock(key, block, hash);
  t.equal(encoded.compressed, true);
  t.ok(decodeBlock(key, encoded.data, hash).equals(block));
});

t.test('big blocks: a 64 KiB sample decides whether compression is tried', async (t) => {
  // Random data (a video, an archive) is not even tried; text after a random first 64 KiB is
  // stored uncompressed too: the documented price of not compressing 4 MiB to learn nothing.
  const media = randomBytes(4 * 1024 * 1024);
  const encoded = encodeBlock(key, media);
  t.equal(encoded.compressed, false);
  t.equal(encoded.data.length, media.length + BLOCK_OVERHEAD);
  t.ok(decodeBlock(key, encoded.data, sha256(media)).equals(media));

  const mixed = Buffer.concat([randomBytes(64 * 1024), Buffer.alloc(1024 * 1024, 'a')]);
  t.equal(encodeBlock(key, mixed).compressed, false, 'random sample: not tried');
  const textFirst = Buffer.concat([Buffer.alloc(64 * 1024, 'a'), randomBytes(4 * 1024 * 1024 - 64 * 1024)]);
  t.equal(encodeBlock(key, textFirst).compressed, false, 'tried, but the whole block did not compress enough');
  const logs = Buffer.from('2026-11-28 GET /v1/entities 200 12ms\n'.repeat(40_000));
  t.equal(encodeBlock(key, logs).compressed, true, 'compressible big block: compressed');
});

t.test('nonces never repeat across many blocks (drawn from a pooled CSPRNG buffer)', async (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) seen.add(encodeBlock(key, random.subarray(0, 100)).data.subarray(1, 13).toString('hex'));
  t.equal(seen.size, 5000);
});

t.test('nonces are random: the same block encrypts differently each time', async (t) => {
  const a = encodeBlock(key, random);
  const b = encodeBlock(key, random);
  t.notOk(a.data.equals(b.data));
});

t.test('tampering anywhere fails authentication', async (t) => {
  const hash = sha256(text);
  const encoded = encodeBlock(key, text, hash).data;
  for (const position of [1, 13, Math.floor(encoded.length / 2), encoded.length - 1]) {
    const tampered = Buffer.from(encoded);
    tampered[position]! ^= 0x01;
    t.throws(() => decodeBlock(key, tampered, hash), { name: 'IntegrityError', reason: 'authentication' }, `byte ${position}`);
  }
  // Flipping the compression flag is caught too: the header is in the AAD.
  const flipped = Buffer.from(encoded);
  flipped[0] = 0x10;
  t.throws(() => decodeBlock(key, flipped, hash), { name: 'IntegrityError', reason: 'authentication' });
  t.throws(() => decodeBlock(key, Buffer.from([0x20, ...encoded.subarray(1)]), hash), { name: 'IntegrityError', reason: 'format' }, 'unknown version');
  t.throws(() => decodeBlock(key, encoded.subarray(0, 20), hash), { name: 'IntegrityError', reason: 'format' }, 'truncated');
  t.throws(() => decodeBlock(randomBytes(32), encoded, hash), { name: 'IntegrityError', reason: 'authentication' }, 'another key');
});

t.test('a block swapped into another block’s slot fails (hash bound in AAD)', async (t) => {
  const a = Buffer.from('block A '.repeat(100));
  const b = Buffer.from('block B '.repeat(100));
  const storedB = encodeBlock(key, b).data;
  t.throws(() => decodeBlock(key, storedB, sha256(a)), { name: 'IntegrityError', reason: 'authentication' });
});

t.test('plaintext not matching its hash is an IntegrityError (hash-mismatch)', async (t) => {
  // An encoder told the wrong hash (an upstream bug) produces a block that authenticates under
  // that hash, yet decoding still refuses to hand out bytes that are not that block.
  const wrongHash = sha256(Buffer.from('something else'));
  const stored = encodeBlock(key, text, wrongHash).data;
  const error = t.throws(() => decodeBlock(key, stored, wrongHash)) as IntegrityError;
  t.ok(error instanceof IntegrityError);
  t.equal(error.reason, 'hash-mismatch');
  t.throws(() => encodeBlock(key, text, Buffer.alloc(16)), RangeError, 'hash must be 32 bytes');
});

t.test('blockName is hex HMAC-SHA256 of the binary hash under the naming key', async (t) => {
  const namingKey = Buffer.alloc(32, 7);
  const hash = createHash('sha256').update('hello').digest();
  const name = blockName(namingKey, hash);
  t.equal(name, createHmac('sha256', namingKey).update(hash).digest('hex'));
  t.match(name, /^[0-9a-f]{64}$/);
  t.not(name, hash.toString('hex'), 'the provider never sees the content hash');
  t.not(blockName(Buffer.alloc(32, 8), hash), name, 'per-account names');
});
