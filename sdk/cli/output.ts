// What the CLI prints. With --json exactly the API's JSON (for scripts and jq). Otherwise, like
// `gh`: lists as an aligned table with a header on a terminal and as tab-separated lines when piped
// (one item a line, for cut and awk), objects as `key  value` lines.
import { CofferError, JobFailedError } from '../errors.ts';

type Out = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

export function printJson(value: unknown, out: Out = process.stdout): void {
  out.write(JSON.stringify(value, null, 2) + '\n');
}

/** One compact JSON object on its own line (progress streams). */
export function printLine(value: unknown, out: Out = process.stdout): void {
  out.write(JSON.stringify(value) + '\n');
}

const cell = (v: unknown) => (v === undefined ? '' : v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v));

/** An object as `key  value` lines (nested values as compact JSON). */
export function printObject(value: unknown, out: Out = process.stdout): void {
  if (value === null || typeof value !== 'object') {
    out.write(`${String(value)}\n`);
    return;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  const width = Math.max(0, ...entries.map(([k]) => k.length));
  for (const [key, v] of entries) out.write(`${key.padEnd(width)}  ${cell(v)}\n`);
}

const LABELS = ['name', 'email', 'title', 'path_display', 'path', 'kind', 'type', 'state', 'status', 'url', 'cidr', 'created_at'];

/** The columns of a list: the id, then up to four telling fields the items have. */
export function columnsOf(items: readonly unknown[]): string[] {
  const first = (items[0] ?? {}) as Record<string, unknown>;
  return [...('id' in first ? ['id'] : []), ...LABELS.filter((k) => k in first).slice(0, 4)];
}

export function printList(items: readonly unknown[], out: Out = process.stdout): void {
  if (!items.length) {
    if (out.isTTY) out.write('(none)\n');
    return;
  }
  const columns = columnsOf(items);
  const rows = items.map((item) => columns.map((c) => cell((item as Record<string, unknown>)[c])));
  if (!out.isTTY) {
    for (const row of rows) out.write(row.join('\t') + '\n');
    return;
  }
  const header = columns.map((c) => c.toUpperCase().replace(/_/g, ' '));
  const widths = columns.map((_, i) => Math.max(header[i]!.length, ...rows.map((r) => r[i]!.length)));
  const limit = out.columns || 120;
  for (const row of [header, ...rows]) out.write(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').slice(0, limit).trimEnd() + '\n');
}

export function describeError(err: unknown): string {
  if (err instanceof CofferError) {
    const lines = [`error: ${err.code} (${err.status || 'no answer'}): ${err.problem?.detail ?? err.problem?.title ?? err.message}`];
    for (const field of err.problem?.errors ?? []) lines.push(`  ${field.pointer}: ${field.detail}`);
    if (err.requestId) lines.push(`  request id: ${err.requestId}`);
    return lines.join('\n');
  }
  if (err instanceof JobFailedError) return `error: ${err.message}`;
  return `error: ${(err as Error)?.message ?? String(err)}`;
}
