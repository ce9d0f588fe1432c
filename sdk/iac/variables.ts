// Input variables: declared by `variable` blocks, set (lowest first) by their default, COFFER_VAR_name,
// terraform.tfvars, *.auto.tfvars(.json), then -var-file and -var in command-line order. Values are
// converted to the declared type and checked by each `validation` block.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { locate, type Config } from './config.ts';
import { EvalError, IacError } from './errors.ts';
import { evaluate } from './expr.ts';
import { parseHcl } from './hcl.ts';
import { isObject, typeName, type Val } from './values.ts';

export type VarSource = { kind: 'var'; name: string; value: string } | { kind: 'file'; path: string };

const noScope = (dir: string) => ({ dir, root: () => undefined });

async function varFile(path: string, dir: string): Promise<Record<string, Val>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new IacError(`cannot read the variables file ${path}: ${(err as Error).message}`);
  }
  if (path.endsWith('.json')) return JSON.parse(text) as Record<string, Val>;
  const doc = await parseHcl(path, text);
  return (await evaluate(doc, noScope(dir), path)) as Record<string, Val>;
}

/** Converts a value to a declared type (`string`, `number`, `bool`, `list(…)`, `set(…)`, `map(…)`, `object(…)`, `any`). */
export function convert(value: Val, type: string | undefined, what: string): Val {
  if (!type || type === 'any' || value === null) return value;
  const inner = /^(list|set|map)\((.*)\)$/s.exec(type);
  if (type === 'string') {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  } else if (type === 'number') {
    if (typeof value === 'number') return value;
    if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
  } else if (type === 'bool') {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
  } else if (inner && inner[1] !== 'map' && Array.isArray(value)) {
    const items = value.map((v, i) => convert(v, inner[2], `${what}[${i}]`));
    if (inner[1] !== 'set') return items;
    // A set has no duplicates, and Terraform walks a set of strings in lexical order.
    const unique = items.filter((v, i) => items.findIndex((o) => JSON.stringify(o) === JSON.stringify(v)) === i);
    return unique.every((v) => typeof v === 'string') ? (unique as string[]).sort() : unique;
  } else if (inner && inner[1] === 'map' && isObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convert(v, inner[2], `${what}["${k}"]`)]));
  } else if (type.startsWith('object(') && isObject(value)) {
    return value;
  } else if (type.startsWith('tuple(') && Array.isArray(value)) {
    return value;
  }
  throw new EvalError(`${what}: a ${typeName(value)} is not a ${type}`);
}

export async function resolveVariables(config: Config, sources: VarSource[], env: Record<string, string | undefined>, saved: Record<string, Val> = {}): Promise<Record<string, Val>> {
  const set = new Map<string, { value: Val; raw: boolean }>();
  for (const [k, v] of Object.entries(env)) {
    if (k.startsWith('COFFER_VAR_') && v !== undefined) set.set(k.slice('COFFER_VAR_'.length), { value: v, raw: true });
  }
  const auto = (await readdir(config.dir)).filter((n) => n === 'terraform.tfvars' || n === 'terraform.tfvars.json' || n.endsWith('.auto.tfvars') || n.endsWith('.auto.tfvars.json')).sort((a, b) => (a.startsWith('terraform.') ? -1 : b.startsWith('terraform.') ? 1 : a < b ? -1 : 1));
  const files = [...auto.map((n) => join(config.dir, n))];
  for (const path of files) for (const [k, v] of Object.entries(await varFile(path, config.dir))) set.set(k, { value: v, raw: false });
  for (const s of sources) {
    if (s.kind === 'file') for (const [k, v] of Object.entries(await varFile(s.path, config.dir))) set.set(k, { value: v, raw: false });
    else set.set(s.name, { value: s.value, raw: true });
  }
  for (const name of set.keys()) {
    if (!config.variables.has(name)) throw new IacError(`a value was given for the undeclared variable "${name}" (declare it with a variable block)`);
  }

  const out: Record<string, Val> = {};
  for (const [name, v] of config.variables) {
    const given = set.get(name);
    let value: Val;
    if (given) {
      // -var and COFFER_VAR_ values are strings; a variable of another type reads them as HCL (`["a","b"]`).
      value = given.raw && v.type && v.type !== 'string' && v.type !== 'any'
        ? await evaluate(`\${${String(given.value)}}`, noScope(config.dir), `-var ${name}`).catch(() => given.value)
        : given.value;
    } else if (name in saved) value = saved[name]!;
    else if (v.hasDefault) value = (await evaluate(v.default, noScope(config.dir), v.file)) as Val;
    else throw new IacError(`no value for the required variable "${name}": set it with -var '${name}=…', -var-file or COFFER_VAR_${name}`, locate(config, v.file, ['variable', name]));
    try {
      out[name] = convert(value, v.type, `variable "${name}"`);
    } catch (err) {
      throw new IacError((err as Error).message, locate(config, v.file, ['variable', name]));
    }
  }
  for (const [name, v] of config.variables) {
    for (const rule of v.validations) {
      const scope = { dir: config.dir, root: (n: string) => (n === 'var' ? out : undefined) };
      const ok = await evaluate(rule.condition, scope, v.file).catch((err: Error) => {
        throw new IacError(`validation of variable "${name}": ${err.message}`, locate(config, v.file, ['variable', name]));
      });
      if (ok !== true) throw new IacError(`invalid value for variable "${name}": ${rule.errorMessage}`, locate(config, v.file, ['variable', name]));
    }
  }
  return out;
}
