// Download archives at rest: segments authenticated one by one, so a reader never releases bytes of
// a segment whose tag failed, and reordered, dropped or cut segments are refused.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { decryptArchive, encryptArchive, SEGMENT_BYTES } from '../../../workers/recovery/archive-crypto.ts';
import { IntegrityError } from '../../../workers/storage/errors.ts';

const HEADER = 12;
const SEALED = SEGMENT_BYTES + 16;

async function run(stream: NodeJS.ReadWriteStream, input: Buffer, chunk = 10_000): Promise<{ out: Buffer; error?: unknown }> {
  const parts: Buffer[] = [];
  for (let i = 0; i < input.length; i += chunk) parts.push(input.subarray(i, i + chunk));
  const out: Buffer[] = [];
  try {
    for await (const piece of Readable.from(parts).pipe(stream)) out.push(piece as Buffer);
    return { out: Buffer.concat(out) };
  } catch (error) {
    return { out: Buffer.concat(out), error };
  }
}

t.test('round trip, for sizes around segment boundaries and any chunking', async (t) => {
  const key = randomBytes(32);
  for (const size of [0, 1, SEGMENT_BYTES - 1, SEGMENT_BYTES, SEGMENT_BYTES + 1, 3 * SEGMENT_BYTES + 5]) {
    const plain = randomBytes(size);
    const sealed = (await run(encryptArchive(key), plain, 7_777)).out;
    t.equal(sealed.length, HEADER + size + 16 * (Math.floor(size / SEGMENT_BYTES) + (size % SEGMENT_BYTES === 0 && size > 0 ? 0 : 1)), `${size}: overhead`);
    for (const chunk of [1_000, 65_552, 1 << 20]) {
      const back = await run(decryptArchive(key), sealed, chunk);
      t.error(back.error);
      t.ok(back.out.equals(plain), `${size} bytes, read in ${chunk}-byte chunks`);
    }
  }
});

t.test('attack: one byte of a stored archive is changed, and the reader hands out that segment before noticing', async (t) => {
  const key = randomBytes(32);
  const plain = randomBytes(3 * SEGMENT_BYTES + 100);
  const sealed = (await run(encryptArchive(key), plain)).out;
  const tampered = Buffer.from(sealed);
  tampered[HEADER + SEALED + 1234]! ^= 0x01; // inside the second segment
  const back = await run(decryptArchive(key), tampered, 4096);
  t.type(back.error, IntegrityError);
  t.match((back.error as Error).message, /segment 1 failed authentication/);
  t.equal(back.out.length, SEGMENT_BYTES, 'only the first segment, verified, came out');
  t.ok(back.out.equals(plain.subarray(0, SEGMENT_BYTES)));
});

t.test('segments cannot be reordered, dropped, cut off or read under another key', async (t) => {
  const key = randomBytes(32);
  const plain = randomBytes(3 * SEGMENT_BYTES + 100);
  const sealed = (await run(encryptArchive(key), plain)).out;
  const header = sealed.subarray(0, HEADER);
  const seg = (i: number) => sealed.subarray(HEADER + i * SEALED, HEADER + (i + 1) * SEALED);
  const last = sealed.subarray(HEADER + 3 * SEALED);
  const cases: [string, Buffer][] = [
    ['swapped', Buffer.concat([header, seg(1), seg(0), seg(2), last])],
    ['dropped', Buffer.concat([header, seg(0), seg(2), last])],
    ['cut at a segment boundary', Buffer.concat([header, seg(0), seg(1), seg(2)])],
    ['cut in the header', sealed.subarray(0, 8)],
    ['not this format', Buffer.concat([Buffer.from('PK\x03\x04'), sealed.subarray(4)])],
  ];
  for (const [what, bytes] of cases) {
    const back = await run(decryptArchive(key), bytes);
    t.type(back.error, IntegrityError, what);
    t.ok(back.out.equals(plain.subarray(0, back.out.length)), `${what}: only genuine segments, in place, came out (${back.out.length} bytes)`);
    t.ok(back.out.length < plain.length, `${what}: not the whole archive`);
  }
  const wrongKey = await run(decryptArchive(randomBytes(32)), sealed);
  t.type(wrongKey.error, IntegrityError);
  t.equal(wrongKey.out.length, 0);
});
