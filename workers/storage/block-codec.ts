// How one block is stored: optionally zstd-compressed, then AES-256-GCM encrypted with the block's
// SHA-256 in the AAD, so bytes moved to another block's slot (or a flipped header) fail to decrypt.
// Decoding re-hashes the plaintext, so a wrong key, a swap, or corruption never yields silent garbage.
//
// Layout: header(1) | nonce(12) | ciphertext | tag(16)
//   header = (format version << 4) | flags; flag bit 0 = zstd-compressed.
//   AAD    = 'coffer/block/v1' NUL | header | sha256(plaintext)
import { createCipheriv, createDecipheriv, createHash, createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { zstdDecompressSync } from 'node:zlib';
import { IntegrityError } from './errors.ts';
import { zstdCompress } from './zstd.ts';

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

/** An encoded block as the pieces that make it up, in order (the pack writer needs no copy). */
export interface EncodedBlockParts {
  parts: Buffer[];
  length: number;
  compressed: boolean;
}

/** Blocks at least this big are first tested on a sample: media and archives do not compress. */
const SAMPLE_FROM_BYTES = 256 * 1024;
const SAMPLE_BYTES = 64 * 1024;

/** Nonces are cut from a pool of random bytes: one randomBytes call per 1,024 blocks, not per block. */
let noncePool = Buffer.alloc(0);
let noncePos = 0;
function nextNonce(): Buffer {
  if (noncePos + NONCE_BYTES > noncePool.length) {
    noncePool = randomBytes(NONCE_BYTES * 1024);
    noncePos = 0;
  }
  const nonce = noncePool.subarray(noncePos, noncePos + NONCE_BYTES);
  noncePos += NONCE_BYTES;
  return nonce;
}

const keyObjects = new WeakMap<Buffer, KeyObject>();

/**
 * The KeyObject for a raw key, made once per key Buffer: handing Node a raw Buffer makes it import
 * the key on every createCipheriv / createHmac, which cost more than the AES-GCM of a 10 KB block.
 */
export function secretKey(key: Buffer): KeyObject {
  let object = keyObjects.get(key);
  if (!object) {
    object = createSecretKey(key);
    keyObjects.set(key, object);
  }
  return object;
}

export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Object name of a block: hex HMAC-SHA256 of its hash, so the provider never sees content hashes. */
export function blockName(namingKey: Buffer, blockSha256: Uint8Array): string {
  return createHmac('sha256', secretKey(namingKey)).update(blockSha256).digest('hex');
}

/**
 * Keep compression only when it saves at least 1/32 of the block and 64 bytes: decompressing
 * costs time on every restore, so a near-useless saving is not worth it.
 */
function worthCompressing(plainSize: number, compressedSize: number): boolean {
  return compressedSize <= plainSize - Math.max(MIN_COMPRESSIBLE_BYTES, plainSize >>> 5);
}

function compress(plaintext: Buffer): Buffer {
  return zstdCompress(plaintext, ZSTD_LEVEL);
}

function aad(header: number, hash: Uint8Array): Buffer {
  return Buffer.concat([AAD_LABEL, Buffer.from([header]), hash]);
}

/**
 * Encode a block for storage. `hash` is its SHA-256 (the splitter already has it; computed when
 * omitted). `compress: false` skips the attempt, e.g. for media known not to compress.
 */
export function encodeBlock(encryptionKey: Buffer, plaintext: Buffer, hash: Uint8Array = sha256(plaintext), options: { compress?: boolean } = {}): EncodedBlock {
  const { parts, compressed } = encodeBlockParts(encryptionKey, plaintext, hash, options);
  return { data: Buffer.concat(parts), compressed };
}

/** `encodeBlock` without joining the result into one Buffer. */
export function encodeBlockParts(encryptionKey: Buffer, plaintext: Buffer, hash: Uint8Array = sha256(plaintext), options: { compress?: boolean } = {}): EncodedBlockParts {
  if (hash.length !== 32) throw new RangeError('block hash must be a 32-byte SHA-256');
  let body = plaintext;
  let flags = 0;
  if (options.compress !== false && plaintext.length >= MIN_COMPRESSIBLE_BYTES && sampleCompresses(plaintext)) {
    const compressed = compress(plaintext);
    if (worthCompressing(plaintext.length, compressed.length)) {
      body = compressed;
      flags |= BLOCK_FLAG_ZSTD;
    }
  }
  const header = (BLOCK_FORMAT_VERSION << 4) | flags;
  const prefix = Buffer.allocUnsafe(1 + NONCE_BYTES);
  prefix[0] = header;
  const nonce = nextNonce();
  nonce.copy(prefix, 1);
  const cipher = createCipheriv('aes-256-gcm', secretKey(encryptionKey), nonce);
  cipher.setAAD(aad(header, hash));
  const parts = [prefix, cipher.update(body)];
  const last = cipher.final();
  if (last.length > 0) parts.push(last);
  parts.push(cipher.getAuthTag());
  return { parts, length: BLOCK_OVERHEAD + body.length, compressed: flags !== 0 };
}

/**
 * Whether a big block is worth a full compression attempt: zstd over 4 MiB of random data costs
 * milliseconds to save nothing, so a 64 KiB sample decides. Small blocks are always tried.
 */
function sampleCompresses(plaintext: Buffer): boolean {
  if (plaintext.length < SAMPLE_FROM_BYTES) return true;
  const sample = plaintext.subarray(0, SAMPLE_BYTES);
  return worthCompressing(sample.length, compress(sample).length);
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
    const decipher = createDecipheriv('aes-256-gcm', secretKey(encryptionKey), stored.subarray(1, 1 + NONCE_BYTES));
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
