// What a user types into a "contains" filter matches literally: % and _ are not wildcards and a
// backslash is not an escape (every list filter and search builds its pattern with db/like.ts).
import t from 'tap';
import { containsPattern, escapeLike } from '#db/like.ts';
import { freshDatabase } from '../helpers/db.ts';

t.test('escapes the wildcards and the escape character', async (t) => {
  t.equal(escapeLike('50%_off\\x'), '50\\%\\_off\\\\x');
  t.equal(containsPattern('a_b'), '%a\\_b%');
});

t.test('attack: a filter of "%" or "_" matches every row', async (t) => {
  const db = await freshDatabase(t);
  const matches = async (value: string, typed: string) => {
    const [row] = await db.sql<{ m: boolean }[]>`select ${value}::text ilike ${containsPattern(typed)} as m`;
    return row!.m;
  };
  t.equal(await matches('Q3 report', '%'), false);
  t.equal(await matches('Q3 report', '_'), false);
  t.equal(await matches('50% off', '50%'), true);
  t.equal(await matches('500 off', '50%'), false);
  t.equal(await matches('a_b', 'a_b'), true);
  t.equal(await matches('axb', 'a_b'), false);
  t.equal(await matches('C:\\dir', 'c:\\d'), true, 'a backslash is a character, case-insensitively');
  t.equal(await matches('C:dir', 'c:\\d'), false);
});
