// `coffer <resource> <action> [ID…] [--field value…]`: one command per SDK method, read from the
// generated operation table (operations.ts), so every API operation is a command too. Names are
// the SDK's in kebab-case: `coffer api-keys list`, `coffer billing invoices pay inv_…`,
// `coffer entities apply-action --action exclude --entity-ids ent_1`.
import { OPERATIONS, type OperationName } from '../operations.ts';
import type { OperationSpec } from '../types.ts';
import { UsageError } from './exit-codes.ts';
import { REFERENCE } from './reference.ts';

export const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const snake = (s: string) => s.replace(/-/g, '_');

export const SPECS: readonly OperationSpec[] = Object.values(OPERATIONS);

export interface Resolved {
  spec: OperationSpec;
  /** The path parameters, in order. */
  ids: string[];
}

/** Finds the operation the positional words name: the namespace words, the action, then the ids. */
export function resolveCommand(words: string[]): Resolved {
  const resolved = findCommand(words);
  if (resolved.ids.length !== resolved.spec.pathParams.length) throw new UsageError(`usage: ${usage(resolved.spec)}`);
  return resolved;
}

/** The operation the words name, whatever ids follow (for --help). */
export function findCommand(words: string[]): Resolved {
  let best: OperationSpec[] = [];
  let used = 0;
  for (const spec of SPECS) {
    const name = [...spec.namespace.map(kebab), kebab(spec.name)];
    const n = spec.namespace.length;
    if (words.length >= n && name.slice(0, n).every((w, i) => w === words[i])) {
      if (n > used) { best = []; used = n; }
      if (n === used) best.push(spec);
    }
  }
  if (!best.length) throw new UsageError(`unknown command: ${words.join(' ') || '(none)'} — see \`coffer help\``);
  const action = words[used];
  const spec = best.find((s) => kebab(s.name) === action);
  const prefix = words.slice(0, used).join(' ');
  if (!spec) {
    throw new UsageError(`${action ? `unknown action "${action}"` : 'an action is needed'} for ${prefix}; one of: ${best.map((s) => kebab(s.name)).join(', ')}`);
  }
  return { spec, ids: words.slice(used + 1) };
}

/** The words that name a command: `billing invoices pay`. */
export const commandWords = (spec: OperationSpec) => [...spec.namespace.map(kebab), kebab(spec.name)];

/** Commands that watch what they start (watch.ts): their extra flags. */
export const WAIT_FLAGS: Partial<Record<OperationName, string>> = {
  createRestore: '[--wait]',
  createExport: '[--wait [--download FILE]]',
};

export function usage(spec: OperationSpec): string {
  const ids = spec.pathParams.map((p) => `<${kebab(p.arg)}>`);
  const input = spec.input === 'none' ? [] : [spec.input === 'query' ? '[--param value…]' : '[--field value…] [--data JSON]'];
  const wait = WAIT_FLAGS[spec.id as OperationName];
  return ['coffer', ...commandWords(spec), ...ids, ...input, ...(wait ? [wait] : [])].join(' ');
}

const wrap = (text: string, width: number, indent: string) => {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && (line + ' ' + word).length > width) { lines.push(line); line = word; }
    else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join(`\n${indent}`);
};

/** `coffer <command> --help`: usage, the operation's description, its fields. */
export function commandHelp(spec: OperationSpec): string {
  const ref = REFERENCE[spec.id as OperationName];
  const out = [`usage: ${usage(spec)}`, '', wrap(ref.description || spec.summary, 96, ''), '', `  ${spec.method} ${spec.path}  (${spec.id})`];
  if (spec.pathParams.length) out.push('', 'arguments:', ...spec.pathParams.map((p) => `  <${kebab(p.arg)}>  the {${p.name}} of the path`));
  if (ref.fields.length) {
    const width = Math.min(34, Math.max(...ref.fields.map((f) => f.flag.length + 2)));
    out.push('', spec.input === 'query' ? 'parameters:' : 'fields (or the whole body with --data \'{…}\' / --data @file.json):');
    for (const f of ref.fields) {
      const about = [f.values ? f.values.join(' | ') : f.type, f.required ? '(required)' : '', f.description ?? ''].filter(Boolean).join('  ');
      out.push(`  --${f.flag.padEnd(width)} ${wrap(about, 96 - width, ' '.repeat(width + 5))}`);
    }
  }
  if (spec.ifMatch) out.push('', '  --if-match ETAG   change only the version you read (412, exit 5, if it changed since)');
  if (spec.result === 'page') out.push('', '  --all   every page (with --json: one JSON array)');
  if (spec.id === 'createRestore' || spec.id === 'createExport') out.push('', '  --wait             follow the job with a progress bar until it ends (exit 6 if it fails)');
  if (spec.id === 'createExport') out.push('  --download FILE    with --wait: download the archive to FILE, resumably, and verify its SHA-256');
  return out.join('\n') + '\n';
}

/** Every command, one line each, for `coffer help`. */
export function helpText(): string {
  return [...SPECS]
    .sort((a, b) => [...a.namespace, a.name].join('.').localeCompare([...b.namespace, b.name].join('.')))
    .map((s) => `  ${usage(s).padEnd(72)} ${s.summary}`)
    .join('\n');
}

/**
 * A value from the command line: JSON literals (numbers, true/false/null, arrays, objects) become
 * what they spell; anything else stays a string. Quote JSON-like text to keep it a string: '"42"'.
 */
export function coerce(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(coerce);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [snake(k), coerce(v)]));
  if (typeof value !== 'string') return value;
  if (/^(-?\d+(\.\d+)?|true|false|null)$/.test(value) || /^[[{"]/.test(value)) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}

/** The body or query of a command: --data (JSON, or @file) first, then each --field over it. */
export function buildInput(fields: Record<string, unknown>, data: unknown, query: boolean): Record<string, unknown> | undefined {
  let input: Record<string, unknown> = {};
  if (data !== undefined) {
    const parsed = typeof data === 'string' ? JSON.parse(data) : data;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError('--data must be a JSON object');
    input = parsed as Record<string, unknown>;
  }
  for (const [key, value] of Object.entries(fields)) input[snake(key)] = query ? (typeof value === 'object' ? value : String(value)) : coerce(value);
  return Object.keys(input).length || data !== undefined ? input : undefined;
}

/** A list field given once (`--source.items /docs`) is still a list: `["/docs"]`. */
export function wrapLists(spec: OperationSpec, input: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!input) return input;
  for (const field of REFERENCE[spec.id as OperationName].fields) {
    if (!field.type.endsWith('[]')) continue;
    const path = field.flag.split('.').map(snake);
    const parent = path.slice(0, -1).reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], input) as Record<string, unknown> | undefined;
    const last = path.at(-1)!;
    if (parent && typeof parent === 'object' && parent[last] !== undefined && !Array.isArray(parent[last])) parent[last] = [parent[last]];
  }
  return input;
}
