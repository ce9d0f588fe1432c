// How one block is stored: optionally zstd-compressed, then AES-256-GCM encrypted with the block's
// SHA-256 in the AAD, so bytes moved to another block's slot (or a flipped header) fail to decrypt.
// Decoding re-hashes the plaintext, so a wrong key, a swap, or corruption never yields silent garbage.
//
// Layout: header(1) | nonce(12) | ciphertext | tag(16)
//   header = (format version << 4) | flags; flag bit 0 = zstd-compressed.
//   AAD    = 'coffer/block/v1' NUL | header | sha256(plaintext)
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { constants as zlibConstants, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { IntegrityError } from './errors.ts';

export const BLOCK_FORMAT_VERSION = 1;
export const BLOCK_FLAG_ZSTD = 0x01;
export const BLOCK_OVERHEAD = 1 + 12 + 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const ZSTD_LEVEL = 3;
/** Below this, compression cannot pay for the frame overhead. */
const MIN_COMPRESSIBLE_BYTES = 64;
/** Decompression bound: blocks are at most 4 MiB; this leaves room without allowing a bomb. */
const DEFAULT_MAX_PLAIN_BYTES = 64 * 1024 * 1024;
const AAD_LABEL = Buffer.from('coffer/block/v1\0');

export interface EncodedBlock {
  data: Buffer;
  compressed: boolean;
}

export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Object name of a block: hex HMAC-SHA256 of its hash, so the provider never sees content hashes. */
export function blockName(namingKey: Buffer, blockSha256: Uint8Array): string {
  return createHmac('sha256', namingKey).update(blockSha256).digest('hex');
}

/**
 * Keep compression only when it saves at least 1/32 of the block and 64 bytes: decompressing
 * costs time on every restore, so a near-useless saving is not worth it.
 */
function worthCompressing(plainSize: number, compressedSize: number): boolean {
  return compressedSize <= plainSize - Math.max(MIN_COMPRESSIBLE_BYTES, plainSize >>> 5);
}

function compress(plaintext: Buffer): Buffer {
  // Sync with pledgedSrcSize: zstd sizes its context to the input (PERFORMANCE.md, gotcha 1).
  return zstdCompressSync(plaintext, {
    params: { [zlibConstants.ZSTD_c_compressionLevel]: ZSTD_LEVEL },
    pledgedSrcSize: plaintext.length,
  });
}

function aad(header: number, hash: Uint8Array): Buffer {
  return Buffer.concat([AAD_LABEL, Buffer.from([header]), hash]);
}

/**
 * Encode a block for storage. `hash` is its SHA-256 (the splitter already has it; computed when
 * omitted). `compress: false` skips the attempt, e.g. for media known not to compress.
 */
export function encodeBlock(encryptionKey: Buffer, plaintext: Buffer, hash: Uint8Array = sha256(plaintext), options: { compress?: boolean } = {}): EncodedBlock {
  if (hash.length !== 32) throw new RangeError('block hash must be a 32-byte SHA-256');
  let body = plaintext;
  let flags = 0;
  if (options.compress !== false && plaintext.length >= MIN_COMPRESSIBLE_BYTES) {
    const compressed = compress(plaintext);
    if (worthCompressing(plaintext.length, compressed.length)) {
      body = compressed;
      flags |= BLOCK_FLAG_ZSTD;
    }
  }
  const header = (BLOCK_FORMAT_VERSION << 4) | flags;
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', encryptionKey, nonce);
  cipher.setAAD(aad(header, hash));
  const out = Buffer.allocUnsafe(BLOCK_OVERHEAD + body.length);
  out[0] = header;
  nonce.copy(out, 1);
  let pos = 1 + NONCE_BYTES;
  pos += cipher.update(body).copy(out, pos);
  pos += cipher.final().copy(out, pos);
  cipher.getAuthTag().copy(out, pos);
  return { data: out, compressed: flags !== 0 };
}

/** Decode a stored block and prove it is the block whose SHA-256 is `expectedHash`. */
export function decodeBlock(encryptionKey: Buffer, stored: Uint8Array, expectedHash: Uint8Array, options: { maxPlainBytes?: number } = {}): Buffer {
  if (stored.length < BLOCK_OVERHEAD) throw new IntegrityError('format', `stored block is too short (${stored.length} bytes)`);
  const header = stored[0]!;
  if (header >> 4 !== BLOCK_FORMAT_VERSION || (header & 0x0f & ~BLOCK_FLAG_ZSTD) !== 0) {
    throw new IntegrityError('format', `unknown block header 0x${header.toString(16)}`);
  }
  let body: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', encryptionKey, stored.subarray(1, 1 + NONCE_BYTES));
    decipher.setAAD(aad(header, expectedHash));
    decipher.setAuthTag(stored.subarray(stored.length - TAG_BYTES));
    body = Buffer.concat([decipher.update(stored.subarray(1 + NONCE_BYTES, stored.length - TAG_BYTES)), decipher.final()]);
  } catch (cause) {
    throw new IntegrityError('authentication', 'block failed authentication (tampered, swapped, or another key)', { cause });
  }
  let plaintext = body;
  if (header & BLOCK_FLAG_ZSTD) {
    try {
      plaintext = zstdDecompressSync(body, { maxOutputLength: options.maxPlainBytes ?? DEFAULT_MAX_PLAIN_BYTES });
    } catch (cause) {
      throw new IntegrityError('format', 'block failed to decompress', { cause });
    }
  }
  if (!sha256(plaintext).equals(expectedHash)) {
    throw new IntegrityError('hash-mismatch', 'block plaintext does not match its SHA-256');
  }
  return plaintext;
}
