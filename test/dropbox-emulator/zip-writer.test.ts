// The emulator's download_zip writer: a stored-entry archive yauzl reads back with the same names,
// bytes, CRC-32s, times and folder/file modes, of the size announced up front; backpressure
// respected (also while writes are batched); zip64 cases left to yazl.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import { fitsWithoutZip64, storedZipSize, writeStoredZip, type ZipInput } from './zip-writer.ts';

async function read(buf: Buffer): Promise<{ entry: yauzl.Entry; data: Buffer }[]> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(buf, { lazyEntries: true, strictFileNames: true }, (e, z) => (e || !z ? reject(e) : resolve(z))));
  const out: { entry: yauzl.Entry; data: Buffer }[] = [];
  return new Promise((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      zip.openReadStream(entry, (e, stream) => {
        if (e || !stream) return reject(e);
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          out.push({ entry, data: Buffer.concat(chunks) });
          zip.readEntry();
        });
      });
    });
    zip.on('end', () => resolve(out));
    zip.on('error', reject);
    zip.readEntry();
  });
}

t.test('an archive of folders and files reads back exactly', async (t) => {
  const when = new Date('2024-05-06T07:08:10Z');
  const big = randomBytes(3 * 1024 * 1024);
  const entries: ZipInput[] = [
    { name: 'Team/', mtime: when },
    { name: 'Team/a.txt', bytes: Buffer.from('A'), mtime: when },
    { name: 'Team/Ünïcödé 文件.txt', bytes: Buffer.from('unicode'), mtime: when },
    { name: 'Team/empty.bin', bytes: Buffer.alloc(0), mtime: when },
    { name: 'Team/sub/', mtime: when },
    { name: 'Team/sub/big.bin', bytes: big, mtime: when },
  ];
  // A slow reader with a small buffer: the writer must wait for 'drain' and lose nothing.
  const sink = new PassThrough({ highWaterMark: 1024 });
  const chunks: Buffer[] = [];
  const reading = (async () => {
    for await (const c of sink) {
      chunks.push(c as Buffer);
      await new Promise((r) => setImmediate(r));
    }
  })();
  let counted = 0;
  await writeStoredZip(sink, entries, (n) => (counted += n));
  sink.end();
  await reading;
  const archive = Buffer.concat(chunks);
  t.equal(counted, archive.length, 'every byte counted');
  t.equal(archive.length, storedZipSize(entries), 'the size announced as Content-Length');
  const got = await read(archive);
  t.same(got.map((g) => g.entry.fileName), entries.map((e) => e.name), 'names in order, UTF-8 kept');
  for (const [i, g] of got.entries()) {
    const want = entries[i]!.bytes ?? Buffer.alloc(0);
    t.ok(g.data.equals(want), `${g.entry.fileName}: bytes`);
    t.equal(g.entry.compressionMethod, 0, 'stored');
    t.equal(g.entry.crc32, want.length ? crc32(want) : 0, `${g.entry.fileName}: CRC-32`);
    t.equal(g.entry.getLastModDate({ forceDosFormat: true, timezone: 'UTC' }).toISOString(), '2024-05-06T07:08:10.000Z');
    const mode = g.entry.externalFileAttributes >>> 16;
    t.equal(mode & 0o170000, g.entry.fileName.endsWith('/') ? 0o040000 : 0o100000, 'folder or regular file');
  }
});

t.test('a client that goes away mid-archive ends the write with an error', async (t) => {
  const sink = new PassThrough({ highWaterMark: 16 });
  const writing = writeStoredZip(sink, [{ name: 'x.bin', bytes: randomBytes(1024 * 1024), mtime: new Date() }], () => {});
  setImmediate(() => sink.destroy());
  await t.rejects(writing, /closed mid-archive/);
});

t.test('a connection already closed ends the write at once', async (t) => {
  const sink = new PassThrough({ highWaterMark: 16 });
  sink.on('error', () => {});
  sink.destroy();
  await t.rejects(writeStoredZip(sink, [{ name: 'x.bin', bytes: randomBytes(1024), mtime: new Date() }], () => {}), /closed mid-archive/);
});

t.test('zip64 cases are refused (the route hands them to yazl)', async (t) => {
  const when = new Date();
  t.equal(fitsWithoutZip64([{ name: 'a', bytes: Buffer.alloc(10), mtime: when }]), true);
  t.equal(fitsWithoutZip64(Array.from({ length: 0xffff }, (_, i) => ({ name: `f${i}`, mtime: when }))), false, '65,535 entries');
  const fourGiB = { length: 0xffffffff } as Buffer; // only its length is read
  t.equal(fitsWithoutZip64([{ name: 'huge', bytes: fourGiB, mtime: when }]), false, '4 GiB');
  await t.rejects(writeStoredZip(new PassThrough(), [{ name: 'huge', bytes: fourGiB, mtime: when }], () => {}), RangeError);
});
