// Loads a configuration directory: every `*.tf` (HCL, parsed by hcl.ts) and `*.tf.json` (Terraform's
// JSON syntax) file, into blocks that remember the file they came from, so that any later error
// (evaluation, validation) can name file, line and column.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IacError, type SourcePos } from './errors.ts';
import { parseHcl } from './hcl.ts';
import { isObject } from './values.ts';

export interface Lifecycle {
  preventDestroy: boolean;
  ignoreChanges: string[] | 'all';
  createBeforeDestroy: boolean;
}

export interface Block {
  mode: 'managed' | 'data';
  type: string;
  name: string;
  /** `coffer_tag.prod`, `data.coffer_regions.all` */
  address: string;
  /** The arguments, meta-arguments removed. */
  body: Record<string, unknown>;
  count?: unknown;
  forEach?: unknown;
  dependsOn: string[];
  lifecycle: Lifecycle;
  file: string;
}

export interface VariableBlock {
  name: string;
  type?: string;
  default?: unknown;
  hasDefault: boolean;
  sensitive: boolean;
  description?: string;
  validations: { condition: unknown; errorMessage: string }[];
  file: string;
}

export interface Config {
  dir: string;
  /** File name → its text, for positions. */
  sources: Map<string, string>;
  provider?: { body: Record<string, unknown>; file: string };
  variables: Map<string, VariableBlock>;
  locals: Map<string, { value: unknown; file: string }>;
  outputs: Map<string, { value: unknown; sensitive: boolean; description?: string; dependsOn: string[]; file: string }>;
  resources: Block[];
  imports: { to: string; id: unknown; file: string }[];
  /** `terraform { backend "NAME" { … } }` */
  backend?: { type: string; body: Record<string, unknown>; file: string };
}

const META = new Set(['count', 'for_each', 'depends_on', 'lifecycle', 'provider']);

/** Terraform's JSON form holds a block as an object or as a list of objects. */
function bodies(v: unknown): Record<string, unknown>[] {
  if (Array.isArray(v)) return v.filter(isObject) as Record<string, unknown>[];
  return isObject(v) ? [v as Record<string, unknown>] : [];
}

/** `${coffer_tag.a}` → `coffer_tag.a` (a reference written as an expression). */
export function bareReference(v: unknown): string {
  const s = String(v);
  const m = /^\$\{([\s\S]*)\}$/.exec(s);
  return (m ? m[1]! : s).trim();
}

export async function loadConfig(dir: string): Promise<Config> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.tf') || n.endsWith('.tf.json')).sort();
  } catch (err) {
    throw new IacError(`cannot read the configuration directory ${dir}: ${(err as Error).message}`);
  }
  const config: Config = { dir, sources: new Map(), variables: new Map(), locals: new Map(), outputs: new Map(), resources: [], imports: [] };
  for (const file of names) {
    const text = await readFile(join(dir, file), 'utf8');
    config.sources.set(file, text);
    let doc: Record<string, unknown>;
    if (file.endsWith('.json')) {
      try {
        doc = JSON.parse(text) as Record<string, unknown>;
      } catch (err) {
        throw new IacError(`invalid JSON: ${(err as Error).message}`, { file, line: 1, column: 1 });
      }
    } else doc = await parseHcl(file, text);
    addDocument(config, file, doc);
  }
  return config;
}

function addDocument(config: Config, file: string, doc: Record<string, unknown>): void {
  const at = (words: string[], attr?: string) => locate(config, file, words, attr);
  for (const [kind, content] of Object.entries(doc)) {
    switch (kind) {
      case 'provider':
        for (const [name, list] of Object.entries(content as object)) {
          if (name !== 'coffer') throw new IacError(`unknown provider "${name}": only "coffer" exists`, at(['provider', name]));
          if (config.provider) throw new IacError('duplicate provider "coffer" block', at(['provider', name]));
          config.provider = { body: bodies(list)[0] ?? {}, file };
        }
        break;
      case 'variable':
        for (const [name, list] of Object.entries(content as object)) {
          if (config.variables.has(name)) throw new IacError(`duplicate variable "${name}"`, at(['variable', name]));
          const b = bodies(list)[0] ?? {};
          for (const key of Object.keys(b)) {
            if (!['type', 'default', 'sensitive', 'description', 'validation', 'nullable'].includes(key)) throw new IacError(`unsupported argument "${key}" in variable "${name}"`, at(['variable', name], key));
          }
          config.variables.set(name, {
            name,
            ...(b.type !== undefined ? { type: bareReference(b.type) } : {}),
            hasDefault: 'default' in b,
            default: b.default,
            sensitive: b.sensitive === true,
            ...(typeof b.description === 'string' ? { description: b.description } : {}),
            validations: bodies(b.validation).map((v) => ({ condition: v.condition, errorMessage: String(v.error_message ?? 'invalid value') })),
            file,
          });
        }
        break;
      case 'locals':
        for (const b of bodies(content)) {
          for (const [name, value] of Object.entries(b)) {
            if (config.locals.has(name)) throw new IacError(`duplicate local value "${name}"`, at(['locals'], name));
            config.locals.set(name, { value, file });
          }
        }
        break;
      case 'output':
        for (const [name, list] of Object.entries(content as object)) {
          const b = bodies(list)[0] ?? {};
          if (!('value' in b)) throw new IacError(`output "${name}" needs a value`, at(['output', name]));
          config.outputs.set(name, {
            value: b.value, sensitive: b.sensitive === true, dependsOn: ((b.depends_on as unknown[]) ?? []).map(bareReference), file,
            ...(typeof b.description === 'string' ? { description: b.description } : {}),
          });
        }
        break;
      case 'resource':
      case 'data':
        for (const [type, named] of Object.entries(content as object)) {
          for (const [name, list] of Object.entries(named as object)) {
            const mode = kind === 'resource' ? 'managed' : 'data';
            const address = mode === 'managed' ? `${type}.${name}` : `data.${type}.${name}`;
            if (config.resources.some((r) => r.address === address)) throw new IacError(`duplicate ${kind} "${type}" "${name}"`, at([kind, type, name]));
            config.resources.push(block(mode, type, name, address, bodies(list)[0] ?? {}, file, (attr) => at([kind, type, name], attr)));
          }
        }
        break;
      case 'import':
        for (const b of bodies(content)) {
          if (!b.to || b.id === undefined) throw new IacError('an import block needs "to" and "id"', at(['import']));
          config.imports.push({ to: bareReference(b.to), id: b.id, file });
        }
        break;
      case 'terraform':
        for (const t of bodies(content)) {
          for (const [type, list] of Object.entries((t.backend ?? {}) as object)) {
            if (config.backend) throw new IacError('only one backend block may be given', at(['backend', type]));
            config.backend = { type, body: bodies(list)[0] ?? {}, file };
          }
        }
        break;
      case '//':
        break; // a comment in the JSON syntax
      default:
        throw new IacError(`unsupported block type "${kind}"`, at([kind]));
    }
  }
}

function block(mode: Block['mode'], type: string, name: string, address: string, raw: Record<string, unknown>, file: string, at: (attr?: string) => SourcePos): Block {
  const body: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!META.has(k)) body[k] = v;
  if ('count' in raw && 'for_each' in raw) throw new IacError('"count" and "for_each" cannot both be set', at('count'));
  const life = bodies(raw.lifecycle)[0] ?? {};
  const ignore = life.ignore_changes;
  return {
    mode, type, name, address, body, file,
    ...('count' in raw ? { count: raw.count } : {}),
    ...('for_each' in raw ? { forEach: raw.for_each } : {}),
    dependsOn: ((raw.depends_on as unknown[]) ?? []).map(bareReference),
    lifecycle: {
      preventDestroy: life.prevent_destroy === true,
      createBeforeDestroy: life.create_before_destroy === true,
      ignoreChanges: ignore === 'all' || ignore === '${all}' ? 'all' : ((ignore as unknown[]) ?? []).map(bareReference),
    },
  };
}

/**
 * Where a block (and optionally one of its arguments) is written. hcl2json gives the JSON form
 * without positions, so the block's header is found in the file's text, then the argument after it.
 */
export function locate(config: Config, file: string, words: string[], attr?: string): SourcePos {
  const text = config.sources.get(file) ?? '';
  const json = file.endsWith('.json');
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const header = json
    ? new RegExp(words.map((w) => `"${esc(w)}"\\s*:\\s*[\\[{]?\\s*`).join(''), 'm')
    : new RegExp(`^[ \\t]*${esc(words[0]!)}${words.slice(1).map((w) => `\\s+"?${esc(w)}"?`).join('')}\\s*\\{`, 'm');
  const h = header.exec(text);
  let index = h ? h.index + (h[0].length - h[0].trimStart().length) : 0;
  if (h && attr) {
    const arg = json ? new RegExp(`"${esc(attr)}"\\s*:`, 'g') : new RegExp(`^[ \\t]*${esc(attr)}\\s*[=\\{]`, 'gm');
    arg.lastIndex = h.index + h[0].length;
    const a = arg.exec(text);
    if (a) index = a.index + (a[0].length - a[0].trimStart().length);
  }
  const before = text.slice(0, index);
  const line = before.split('\n').length;
  return { file, line, column: index - before.lastIndexOf('\n') };
}
