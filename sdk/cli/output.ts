// What the CLI prints: JSON with --json (for scripts and jq), otherwise short human lines.
import { CofferError, JobFailedError } from '../errors.ts';

export function printJson(value: unknown, out: NodeJS.WritableStream = process.stdout): void {
  out.write(JSON.stringify(value, null, 2) + '\n');
}

/** An object as `key: value` lines (nested values as compact JSON). */
export function printObject(value: unknown, out: NodeJS.WritableStream = process.stdout): void {
  if (value === null || typeof value !== 'object') {
    out.write(`${String(value)}\n`);
    return;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  const width = Math.max(0, ...entries.map(([k]) => k.length));
  for (const [key, v] of entries) out.write(`${key.padEnd(width)}  ${v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v)}\n`);
}

const LABELS = ['name', 'email', 'title', 'state', 'status', 'type', 'url', 'cidr'];

/** One line per list item: its id, then the first few telling fields. */
export function printRow(item: unknown, out: NodeJS.WritableStream = process.stdout): void {
  const row = item as Record<string, unknown>;
  const cells = [row.id, ...LABELS.filter((k) => k in row).slice(0, 3).map((k) => row[k])].filter((c) => c !== undefined);
  out.write(cells.map((c) => (c !== null && typeof c === 'object' ? JSON.stringify(c) : String(c))).join('\t') + '\n');
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
