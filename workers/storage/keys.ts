// Envelope encryption: a master key (from COFFER_MASTER_KEY or a generated data-dir file) wraps one
// random data key per account; HKDF splits each data key into independent encryption and naming
// subkeys. The same master key seals small secrets at rest (refresh tokens, credentials, TOTP).
// Every ciphertext carries a format byte and the master key version, so keys can rotate later.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { IntegrityError } from './errors.ts';
import { fsyncDir } from './fsync-dir.ts';

export const MASTER_KEY_BYTES = 32;
export const DATA_KEY_BYTES = 32;
export const MASTER_KEY_FILE = 'master.key';
export const MASTER_KEY_ENV = 'COFFER_MASTER_KEY';
/** Older master keys still needed to read what they sealed while a rotation runs (`npm run rotate-master-key`). */
export const PREVIOUS_MASTER_KEYS_ENV = 'COFFER_MASTER_KEY_PREVIOUS';

const WRAPPED_KEY_FORMAT = 1;
const SEALED_SECRET_PREFIX = 's1.';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface MasterKeyVersion {
  /** 1–255, recorded in every wrapped key and sealed secret. */
  version: number;
  key: Buffer;
}

/** The subkeys an account's data key yields; never stored, derived on use. */
export interface AccountKeys {
  /** AES-256-GCM key for blocks and pack indexes. */
  encryptionKey: Buffer;
  /** HMAC-SHA256 key that turns block hashes into object names. */
  namingKey: Buffer;
}

export interface GeneratedDataKey {
  /** Raw key material: keep in memory only. */
  plaintext: Buffer;
  /** Store this (e.g. in the accounts table); `unwrapDataKey` turns it back into `plaintext`. */
  wrapped: Buffer;
}

function gcmSeal(key: Buffer, plaintext: Buffer, aad: Buffer): { nonce: Buffer; ciphertext: Buffer; tag: Buffer } {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { nonce, ciphertext, tag: cipher.getAuthTag() };
}

function gcmOpen(key: Buffer, nonce: Buffer, ciphertext: Buffer, tag: Buffer, aad: Buffer, what: string): Buffer {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch (cause) {
    throw new IntegrityError('authentication', `${what} failed authentication (tampered, or another master key)`, { cause });
  }
}

/** One or more master key versions; new material is always sealed under the highest version. */
export class MasterKeyring {
  readonly current: MasterKeyVersion;
  #byVersion = new Map<number, Buffer>();

  constructor(versions: MasterKeyVersion[]) {
    if (versions.length === 0) throw new Error('a keyring needs at least one master key');
    for (const { version, key } of versions) {
      if (!Number.isInteger(version) || version < 1 || version > 255) throw new RangeError('master key version must be 1–255');
      if (key.length !== MASTER_KEY_BYTES) throw new RangeError(`master key must be ${MASTER_KEY_BYTES} bytes`);
      this.#byVersion.set(version, key);
    }
    const top = Math.max(...this.#byVersion.keys());
    this.current = { version: top, key: this.#byVersion.get(top)! };
  }

  /** Every loaded version, oldest first. */
  get versions(): number[] {
    return [...this.#byVersion.keys()].sort((a, b) => a - b);
  }

  /**
   * Every loaded key, oldest first: for what is derived from the master key and checked later (link
   * signatures, request hashes), which must still check during a rotation, made under the old key.
   */
  get all(): MasterKeyVersion[] {
    return this.versions.map((version) => ({ version, key: this.#byVersion.get(version)! }));
  }

  #key(version: number, what: string): Buffer {
    const key = this.#byVersion.get(version);
    if (!key) throw new IntegrityError('format', `${what} needs master key version ${version}, which is not loaded`);
    return key;
  }

  /** A fresh random account data key and its wrapped form. */
  generateDataKey(): GeneratedDataKey {
    const plaintext = randomBytes(DATA_KEY_BYTES);
    return { plaintext, wrapped: this.wrapDataKey(plaintext) };
  }

  /** Layout: format(1) | master key version(1) | nonce(12) | ciphertext(32) | tag(16). */
  wrapDataKey(plaintext: Buffer): Buffer {
    if (plaintext.length !== DATA_KEY_BYTES) throw new RangeError(`data key must be ${DATA_KEY_BYTES} bytes`);
    const header = Buffer.from([WRAPPED_KEY_FORMAT, this.current.version]);
    const { nonce, ciphertext, tag } = gcmSeal(this.current.key, plaintext, wrapAad(header));
    return Buffer.concat([header, nonce, ciphertext, tag]);
  }

  unwrapDataKey(wrapped: Buffer): Buffer {
    if (wrapped.length !== 2 + NONCE_BYTES + DATA_KEY_BYTES + TAG_BYTES || wrapped[0] !== WRAPPED_KEY_FORMAT) {
      throw new IntegrityError('format', 'not a wrapped data key of a known format');
    }
    const header = wrapped.subarray(0, 2);
    const key = this.#key(wrapped[1]!, 'wrapped data key');
    const nonce = wrapped.subarray(2, 2 + NONCE_BYTES);
    const ciphertext = wrapped.subarray(2 + NONCE_BYTES, 2 + NONCE_BYTES + DATA_KEY_BYTES);
    const tag = wrapped.subarray(2 + NONCE_BYTES + DATA_KEY_BYTES);
    return gcmOpen(key, nonce, ciphertext, tag, wrapAad(header), 'wrapped data key');
  }

  /**
   * Seal a secret for a text column: `s1.` + base64url(key version(1) | nonce(12) | ciphertext | tag(16)).
   * `context` (e.g. 'dropbox-refresh-token') is authenticated, so a sealed value cannot be moved
   * to a column of another kind; pass the same context to `openSecret`.
   */
  sealSecret(plaintext: string, context = ''): string {
    const version = Buffer.from([this.current.version]);
    const { nonce, ciphertext, tag } = gcmSeal(this.current.key, Buffer.from(plaintext, 'utf8'), secretAad(version, context));
    return SEALED_SECRET_PREFIX + Buffer.concat([version, nonce, ciphertext, tag]).toString('base64url');
  }

  openSecret(sealed: string, context = ''): string {
    if (!sealed.startsWith(SEALED_SECRET_PREFIX)) throw new IntegrityError('format', 'not a sealed secret of a known format');
    const bytes = Buffer.from(sealed.slice(SEALED_SECRET_PREFIX.length), 'base64url');
    if (bytes.length < 1 + NONCE_BYTES + TAG_BYTES) throw new IntegrityError('format', 'sealed secret is truncated');
    const version = bytes.subarray(0, 1);
    const key = this.#key(version[0]!, 'sealed secret');
    const nonce = bytes.subarray(1, 1 + NONCE_BYTES);
    const ciphertext = bytes.subarray(1 + NONCE_BYTES, bytes.length - TAG_BYTES);
    const tag = bytes.subarray(bytes.length - TAG_BYTES);
    return gcmOpen(key, nonce, ciphertext, tag, secretAad(version, context), 'sealed secret').toString('utf8');
  }
}

/** The master key version a wrapped data key was sealed under (null: not a wrapped key of a known format). */
export function wrappedKeyVersion(wrapped: Buffer): number | null {
  return wrapped.length === 2 + NONCE_BYTES + DATA_KEY_BYTES + TAG_BYTES && wrapped[0] === WRAPPED_KEY_FORMAT ? wrapped[1]! : null;
}

/** The master key version a sealed secret was sealed under (null: not a sealed secret). */
export function sealedSecretVersion(sealed: string): number | null {
  if (!sealed.startsWith(SEALED_SECRET_PREFIX)) return null;
  const head = Buffer.from(sealed.slice(SEALED_SECRET_PREFIX.length, SEALED_SECRET_PREFIX.length + 4), 'base64url');
  return head.length ? head[0]! : null;
}

function wrapAad(header: Buffer): Buffer {
  return Buffer.concat([Buffer.from('coffer/data-key/v1\0'), header]);
}

function secretAad(version: Buffer, context: string): Buffer {
  return Buffer.concat([Buffer.from('coffer/secret/v1\0'), version, Buffer.from(context, 'utf8')]);
}

/** Split an account data key into independent subkeys (HKDF-SHA256, distinct info labels). */
export function deriveAccountKeys(dataKey: Buffer): AccountKeys {
  if (dataKey.length !== DATA_KEY_BYTES) throw new RangeError(`data key must be ${DATA_KEY_BYTES} bytes`);
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), info, 32));
  return { encryptionKey: derive('coffer/block-encryption/v1'), namingKey: derive('coffer/block-naming/v1') };
}

/**
 * One master key as configured: `<base64>` (version 1) or `<version>:<base64>`. Every ciphertext
 * records the version that sealed it, so a rotated installation names its keys' versions.
 */
export function parseMasterKeyVersion(spec: string, source = MASTER_KEY_ENV): MasterKeyVersion {
  const m = /^\s*(?:(\d{1,3}):)?(\S+)\s*$/.exec(spec);
  if (!m) throw new Error(`${source} must be a base64 key, or <version>:<base64 key>`);
  const version = m[1] === undefined ? 1 : Number(m[1]);
  if (version < 1 || version > 255) throw new Error(`${source}: the key version must be 1–255 (got ${version})`);
  return { version, key: parseMasterKey(m[2]!, source) };
}

/** A keyring from the current key and older ones; the current one must be the newest. */
export function keyringFrom(current: MasterKeyVersion, previous: MasterKeyVersion[], source: string): MasterKeyring {
  const seen = new Set<number>([current.version]);
  for (const p of previous) {
    if (seen.has(p.version)) throw new Error(`${source}: master key version ${p.version} is given twice`);
    seen.add(p.version);
    if (p.version > current.version) throw new Error(`${source}: the current master key (version ${current.version}) must be the newest, but version ${p.version} is loaded too`);
  }
  return new MasterKeyring([...previous, current]);
}

export function parseMasterKey(base64: string, source = MASTER_KEY_ENV): Buffer {
  const key = Buffer.from(base64.trim(), 'base64');
  if (key.length !== MASTER_KEY_BYTES) throw new Error(`${source} must hold ${MASTER_KEY_BYTES} bytes, base64-encoded (got ${key.length} bytes)`);
  return key;
}

export interface LoadedMasterKey {
  keyring: MasterKeyring;
  source: 'env' | 'file';
  /** True when this call created the key file: the caller should log where it is and to back it up. */
  generated: boolean;
  /** The key file used, when the source is 'file'. */
  path?: string;
}

/**
 * The master key from `COFFER_MASTER_KEY` (base64) when set; otherwise from `<dataDir>/master.key`,
 * generated on first use. Creation is atomic and race-free: the key is written and fsynced to a
 * private temp file (mode 0600), then hard-linked into place, which fails if another process won.
 */
export async function loadMasterKey(options: { dataDir: string; env?: NodeJS.ProcessEnv }): Promise<LoadedMasterKey> {
  const env = options.env ?? process.env;
  const fromEnv = env[MASTER_KEY_ENV];
  if (fromEnv) {
    const previous = (env[PREVIOUS_MASTER_KEYS_ENV] ?? '').split(',').filter((p) => p.trim()).map((p) => parseMasterKeyVersion(p, PREVIOUS_MASTER_KEYS_ENV));
    return { keyring: keyringFrom(parseMasterKeyVersion(fromEnv), previous, MASTER_KEY_ENV), source: 'env', generated: false };
  }

  const path = join(options.dataDir, MASTER_KEY_FILE);
  const existing = await readKeyFile(path);
  if (existing) return { keyring: keyringOf(existing), source: 'file', generated: false, path };

  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
  try {
    await handle.writeFile(randomBytes(MASTER_KEY_BYTES).toString('base64') + '\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
  let generated = true;
  try {
    await link(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    generated = false;
  } finally {
    await unlink(temp);
  }
  await fsyncDir(options.dataDir);
  const key = await readKeyFile(path);
  if (!key) throw new Error(`master key file ${path} vanished while being created`);
  return { keyring: keyringOf(key), source: 'file', generated, path };
}

function keyringOf(versions: MasterKeyVersion[]): MasterKeyring {
  return new MasterKeyring(versions);
}

/**
 * The key file: one key a line, `<base64>` (version 1) or `<version>:<base64>`; the newest version
 * is current, the others are read while a rotation runs (`npm run rotate-master-key`).
 */
export async function readKeyFile(path: string): Promise<MasterKeyVersion[] | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const versions = text.split('\n').filter((l) => l.trim()).map((l) => parseMasterKeyVersion(l, path));
  if (!versions.length) throw new Error(`${path} holds no master key`);
  if (new Set(versions.map((v) => v.version)).size !== versions.length) throw new Error(`${path}: a master key version is given twice`);
  return versions;
}

/** Rewrites the key file atomically (temp file, fsync, rename, fsync of the directory), mode 0600. */
export async function writeKeyFile(dataDir: string, versions: MasterKeyVersion[]): Promise<string> {
  const path = join(dataDir, MASTER_KEY_FILE);
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
  try {
    await handle.writeFile(versions.map((v) => `${v.version}:${v.key.toString('base64')}\n`).join(''));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
  await fsyncDir(dataDir);
  return path;
}
