// One entry of a `files/download_zip` archive, read straight from the buffered zip (the zip
// pre-pass in engine.ts reads entries by their local headers).
import type yauzl from 'yauzl';
import { crc32, inflateRawSync } from 'node:zlib';

/** The bytes of a stored or deflated zip entry, checked against the sizes and CRC-32 the zip records. */
export function inflateEntry(zip: Buffer, dataStart: number, entry: yauzl.Entry): Buffer {
  const raw = zip.subarray(dataStart, dataStart + entry.compressedSize);
  if (raw.length !== entry.compressedSize) throw new Error(`zip entry ${entry.fileName} runs past the end of the zip`);
  const data = entry.compressionMethod === 8 ? inflateRawSync(raw, { maxOutputLength: entry.uncompressedSize }) : raw;
  if (data.length !== entry.uncompressedSize || crc32(data) !== entry.crc32) throw new Error(`zip entry ${entry.fileName} is corrupt`);
  return data;
}
