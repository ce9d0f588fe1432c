// Ids: prefixed, 26 Crockford base32 characters, ordered by time, unique (also across the refills
// of the pooled random bytes).
import t from 'tap';
import { isId, newId } from '#db/ids.ts';

t.test('format, order and uniqueness', async (t) => {
  const id = newId('item', Date.UTC(2026, 0, 1));
  t.match(id, /^item_[0-9a-hjkmnp-tv-z]{26}$/);
  t.ok(isId(id, 'item'));
  t.notOk(isId(id, 'run'), 'another prefix');
  t.ok(newId('run', 1_000) < newId('run', 2_000), 'a later time sorts after');
  const seen = new Set<string>();
  for (let i = 0; i < 5_000; i++) seen.add(newId('item', 42)); // ~12 refills of the 4 KiB pool
  t.equal(seen.size, 5_000, 'no repeats within one millisecond');
  const tails = [...seen].map((s) => s.slice(-16));
  t.equal(new Set(tails).size, 5_000, 'the random part differs');
});
