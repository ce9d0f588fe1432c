// The pack object layout, shared by the writer and the disaster-recovery reader.
//
//   block 0 | block 1 | … | block n-1 | encrypted index | footer (16 bytes)
//
// Blocks are block-codec outputs laid end to end. The index, sealed with AES-256-GCM under the
// account's encryption key (AAD binds the pack id, so an index cannot be moved to another pack), is
//   nonce(12) | ciphertext | tag(16), plaintext = count u32 | count × entry
//   entry = sha256(32) | name(32, the HMAC object name) | offset u32 | length u32 | plainSize u32
// It carries the plaintext hash because decoding a block needs it (AAD) and the name is one-way.
// Footer: magic 'CFPK' | format u8 (1) | 3 reserved zero bytes | index length u32 | block count u32.
// All integers big-endian. Packs stay far below 4 GiB, so u32 offsets suffice.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { IntegrityError } from './errors.ts';
import { secretKey } from './block-codec.ts';

export const PACK_MAGIC = Buffer.from('CFPK');
export const PACK_FORMAT_VERSION = 1;
export const PACK_FOOTER_BYTES = 16;
export const PACK_INDEX_ENTRY_BYTES = 32 + 32 + 4 + 4 + 4;
/** nonce + tag + count around the entries. */
export const PACK_INDEX_OVERHEAD = 12 + 16 + 4;
const PACK_ID_PATTERN = /^[0-9a-f]{32}$/;

export interface PackIndexEntry {
  /** Binary SHA-256 of the block's plaintext. */
  hash: Buffer;
  /** Hex HMAC name of the block (blockName). */
  name: string;
  offset: number;
  length: number;
  plainSize: number;
}

export function newPackId(): string {
  return randomBytes(16).toString('hex');
}

/** Object key of a pack; the two-hex-digit fan-out keeps directories (and S3 prefixes) small. */
export function packKey(packId: string): string {
  if (!PACK_ID_PATTERN.test(packId)) throw new TypeError(`invalid pack id: ${packId}`);
  return `packs/${packId.slice(0, 2)}/${packId}`;
}

export function packIndexSize(entries: number): number {
  return PACK_INDEX_OVERHEAD + entries * PACK_INDEX_ENTRY_BYTES;
}

function indexAad(packId: string): Buffer {
  return Buffer.from(`coffer/pack-index/v1\0${packId}`);
}

export function sealPackIndex(encryptionKey: Buffer, packId: string, entries: PackIndexEntry[]): Buffer {
  const plain = Buffer.alloc(4 + entries.length * PACK_INDEX_ENTRY_BYTES);
  plain.writeUInt32BE(entries.length, 0);
  let pos = 4;
  for (const e of entries) {
    e.hash.copy(plain, pos);
    Buffer.from(e.name, 'hex').copy(plain, pos + 32);
    plain.writeUInt32BE(e.offset, pos + 64);
    plain.writeUInt32BE(e.length, pos + 68);
    plain.writeUInt32BE(e.plainSize, pos + 72);
    pos += PACK_INDEX_ENTRY_BYTES;
  }
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', secretKey(encryptionKey), nonce);
  cipher.setAAD(indexAad(packId));
  return Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

export function openPackIndex(encryptionKey: Buffer, packId: string, sealed: Buffer): PackIndexEntry[] {
  if (sealed.length < PACK_INDEX_OVERHEAD) throw new IntegrityError('format', `pack ${packId}: index too short`);
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', secretKey(encryptionKey), sealed.subarray(0, 12));
    decipher.setAAD(indexAad(packId));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    plain = Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
  } catch (cause) {
    throw new IntegrityError('authentication', `pack ${packId}: index failed authentication`, { cause });
  }
  const count = plain.readUInt32BE(0);
  if (plain.length !== 4 + count * PACK_INDEX_ENTRY_BYTES) throw new IntegrityError('format', `pack ${packId}: index length does not match its count`);
  const entries: PackIndexEntry[] = [];
  for (let i = 0, pos = 4; i < count; i++, pos += PACK_INDEX_ENTRY_BYTES) {
    entries.push({
      hash: Buffer.from(plain.subarray(pos, pos + 32)),
      name: plain.subarray(pos + 32, pos + 64).toString('hex'),
      offset: plain.readUInt32BE(pos + 64),
      length: plain.readUInt32BE(pos + 68),
      plainSize: plain.readUInt32BE(pos + 72),
    });
  }
  return entries;
}

export function encodePackFooter(indexLength: number, blockCount: number): Buffer {
  const footer = Buffer.alloc(PACK_FOOTER_BYTES);
  PACK_MAGIC.copy(footer, 0);
  footer[4] = PACK_FORMAT_VERSION;
  footer.writeUInt32BE(indexLength, 8);
  footer.writeUInt32BE(blockCount, 12);
  return footer;
}

export function decodePackFooter(packId: string, footer: Buffer): { indexLength: number; blockCount: number } {
  if (footer.length !== PACK_FOOTER_BYTES || !footer.subarray(0, 4).equals(PACK_MAGIC)) {
    throw new IntegrityError('format', `pack ${packId}: no pack footer`);
  }
  if (footer[4] !== PACK_FORMAT_VERSION) throw new IntegrityError('format', `pack ${packId}: unknown pack format ${footer[4]}`);
  return { indexLength: footer.readUInt32BE(8), blockCount: footer.readUInt32BE(12) };
}
