// toCsv (api/csv.ts) is the one CSV writer of the API: formula-like text cells are neutralized.
import t from 'tap';
import { neutralizeFormula, toCsv } from '../../api/csv.ts';

t.test('CSV injection: every text cell that a spreadsheet would run as a formula gets a leading apostrophe', async (t) => {
  for (const start of ['=', '+', '-', '@', '\t', '\r']) {
    t.equal(neutralizeFormula(`${start}1+1`), `'${start}1+1`, JSON.stringify(start));
  }
  for (const safe of ['', 'Acme', 'a=b', ' =1', "'=1", '1-2', 'x@y.test']) t.equal(neutralizeFormula(safe), safe, JSON.stringify(safe));
});

t.test('toCsv: header row, RFC 4180 quoting after neutralizing, numbers untouched', async (t) => {
  t.equal(
    toCsv([['=HYPERLINK("https://evil.example","x")', -3, 'plain', null, '@a,b'], ['\r=1', 0, '', undefined, 'line\nbreak']], { columns: ['a', 'b', 'c', 'd', 'e'] }),
    'a,b,c,d,e\n"\'=HYPERLINK(""https://evil.example"",""x"")",-3,plain,,"\'@a,b"\n"\'\r=1",0,,,"line\nbreak"\n',
  );
  t.equal(toCsv([['-x']]), "'-x\n", 'without columns: no header row');
});
