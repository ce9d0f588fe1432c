// Public ids are prefixed (`acct_…`, `key_…`) so a reader knows what an id names, and time-ordered
// (48-bit millisecond time, then 80 random bits, Crockford base32, lowercase) so that ordering by
// id is creation order: list pagination needs nothing else for a stable order.
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export type IdPrefix = 'acct' | 'usr' | 'key' | 'task' | 'ent' | 'tag' | 'run' | 'job' | 'evt' | 'aud' | 'ipr' | 'rcp' | 'whk' | 'inv' | 'pm' | 'snap' | 'item' | 'ses' | 'dlv' | 'utk' | 'rpt' | 'pay' | 'bmsg';

export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  let out = '';
  let time = now;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[time % 32] + out;
    time = Math.floor(time / 32);
  }
  const rand = randomBytes(10);
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
