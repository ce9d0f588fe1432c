// Public ids are prefixed (`acct_…`, `key_…`) so a reader knows what an id names, and time-ordered
// (48-bit millisecond time, then 80 random bits, Crockford base32, lowercase) so that ordering by
// id is creation order: list pagination needs nothing else for a stable order.
import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export type IdPrefix = 'acct' | 'usr' | 'key' | 'task' | 'ent' | 'tag' | 'run' | 'job' | 'evt' | 'aud' | 'ipr' | 'rcp' | 'whk' | 'inv' | 'pm' | 'snap' | 'item' | 'ses' | 'dlv' | 'utk' | 'rpt' | 'pay' | 'bmsg' | 'sgn' | 'ver' | 'idn' | 'oidc' | 'pinv';

/** CSPRNG bytes drawn 4 KiB at a time: a backup names 20,000 item versions in a second, and one
 * randomBytes call per id was a visible share of it. */
const pool = Buffer.alloc(4096);
let poolPos = pool.length;
function random10(): Buffer {
  if (poolPos + 10 > pool.length) {
    randomFillSync(pool);
    poolPos = 0;
  }
  poolPos += 10;
  return pool.subarray(poolPos - 10, poolPos);
}

export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  let out = '';
  let time = now;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[time % 32] + out;
    time = Math.floor(time / 32);
  }
  const rand = random10();
  let bits = 0;
  let value = 0;
  for (const byte of rand) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(value >> bits) & 31];
    }
    value &= (1 << bits) - 1;
  }
  return `${prefix}_${out}`;
}

const ID_PATTERN = /^[a-z]+_[0-9a-hjkmnp-tv-z]{26}$/;

export function isId(value: string, prefix: IdPrefix): boolean {
  return value.startsWith(prefix + '_') && ID_PATTERN.test(value);
}
