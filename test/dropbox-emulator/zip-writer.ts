// files/download_zip's archive, written the way the emulator needs it: every entry stored (no
// compression: the bytes are there already), CRC-32 by node:zlib. yazl computes CRC-32 in
// JavaScript (25 µs per 10 KB file); the emulator shares the benchmark's two cores with Coffer,
// and a first backup of 20,000 small files spent half a CPU-second of them in that loop, which real
// Dropbox (on its own machines) never takes from a customer. Archives that would need zip64 (4 GiB
// or more, 65,535 entries or more) are left to yazl, which writes it. The size is known up front,
// so the route sends Content-Length, and writes go out in batches: one HTTP chunk (and one client
// parser callback) per file header and per file was a cost no real server imposes.
import type { Writable } from 'node:stream';
import { crc32 } from 'node:zlib';

export interface ZipInput {
  /** Path inside the archive; a folder ends with '/'. */
  name: string;
  /** File content (none for a folder). */
  bytes?: Buffer;
  mtime: Date;
}

const UTF8_NAMES = 0x0800;
const VERSION = 20; // 2.0: folders and stored entries
const MADE_BY_UNIX = (3 << 8) | VERSION;
const FILE_MODE = 0o100664;
const DIR_MODE = 0o040775;

/** Bytes `writeStoredZip` writes for these entries (sent as Content-Length). */
export function storedZipSize(entries: ZipInput[]): number {
  let total = 22;
  for (const e of entries) total += 30 + 46 + 2 * Buffer.byteLength(e.name) + (e.bytes?.length ?? 0);
  return total;
}

/** Whether `writeStoredZip` can write these entries (no zip64 needed). */
export function fitsWithoutZip64(entries: ZipInput[]): boolean {
  return entries.length < 0xffff && storedZipSize(entries) < 0xffffffff;
}

function dosDateTime(d: Date): { time: number; date: number } {
  const year = Math.max(1980, d.getUTCFullYear());
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
    date: ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}

/** Streams the archive into `out` (respecting backpressure); `onBytes` sees every chunk's size. */
export async function writeStoredZip(out: Writable, entries: ZipInput[], onBytes: (n: number) => void): Promise<void> {
  if (!fitsWithoutZip64(entries)) throw new RangeError('archive needs zip64');
  const write = async (chunk: Buffer) => {
    onBytes(chunk.length);
    if (out.write(chunk)) return;
    // A closed connection will not drain (its 'close' has been and gone).
    if (out.destroyed) throw new Error('the connection closed mid-archive');
    // Over the high-water mark: let the corked writes go, wait for them, then batch again.
    out.uncork();
    await new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        out.off('close', onClose);
        resolve();
      };
      const onClose = () => {
        out.off('drain', onDrain);
        reject(new Error('the connection closed mid-archive'));
      };
      out.once('drain', onDrain);
      out.once('close', onClose);
    });
    out.cork();
  };
  const central: Buffer[] = [];
  let offset = 0;
  // Writes go out in batches (one syscall for many small files), not one by one.
  out.cork();
  let corked = 0;
  for (const e of entries) {
    if (++corked % 256 === 0) {
      out.uncork();
      out.cork();
    }
    const name = Buffer.from(e.name, 'utf8');
    const data = e.bytes ?? Buffer.alloc(0);
    const crc = data.length > 0 ? crc32(data) : 0;
    const { time, date } = dosDateTime(e.mtime);
    // The local header and the central directory record share one run of fields (version needed
    // to size of name), 2 bytes further in the central one; extra fields and comments stay 0.
    const fields = (record: Buffer, at: number) => {
      record.writeUInt16LE(VERSION, at);
      record.writeUInt16LE(UTF8_NAMES, at + 2);
      record.writeUInt16LE(0, at + 4); // stored
      record.writeUInt16LE(time, at + 6);
      record.writeUInt16LE(date, at + 8);
      record.writeUInt32LE(crc, at + 10);
      record.writeUInt32LE(data.length, at + 14);
      record.writeUInt32LE(data.length, at + 18);
      record.writeUInt16LE(name.length, at + 22);
    };
    const local = Buffer.alloc(30 + name.length);
    local.writeUInt32LE(0x04034b50, 0);
    fields(local, 4);
    name.copy(local, 30);

    const header = Buffer.alloc(46 + name.length);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(MADE_BY_UNIX, 4);
    fields(header, 6);
    const folder = e.name.endsWith('/');
    header.writeUInt32LE((((folder ? DIR_MODE : FILE_MODE) << 16) | (folder ? 0x10 : 0)) >>> 0, 38);
    header.writeUInt32LE(offset, 42);
    name.copy(header, 46);
    central.push(header);

    await write(local);
    if (data.length > 0) await write(data);
    offset += local.length + data.length;
  }
  out.uncork();
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  await write(directory);
  await write(end);
}
