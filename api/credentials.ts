// Bearer secrets: API keys (`cfk_…`) today, session tokens (`cfs_…`) with sign-in. A secret is
// 32 base62 characters (190 bits) after its prefix; only its SHA-256 is stored, so a leaked
// database does not leak usable keys.
import { createHash, randomBytes } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const API_KEY_PREFIX = 'cfk_';
export const SESSION_PREFIX = 'cfs_';
const SECRET_PATTERN = /^(cfk|cfs)_[0-9A-Za-z]{32}$/;

export function newSecret(prefix: string): string {
  const bytes = randomBytes(48);
  let out = prefix;
  for (const b of bytes) {
    if (b >= 248) continue; // 248 = 62 × 4: keeps the distribution uniform
    out += BASE62[b % 62];
    if (out.length === prefix.length + 32) return out;
  }
  return newSecret(prefix); // vanishingly rare: too many rejected bytes
}

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

export function isWellFormedSecret(secret: string): boolean {
  return SECRET_PATTERN.test(secret);
}

/** What a list may show of a secret: enough to tell keys apart, far too little to use. */
export function displayPrefix(secret: string): string {
  return secret.slice(0, 12);
}
