// Terraform's functions that configurations for Coffer need (the list is in FUNCTIONS below and in
// sdk/iac/README.md). Each behaves as Terraform's does; an unknown argument gives an unknown result.
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { EvalError } from './errors.ts';
import { UNKNOWN, equal, hasUnknown, isObject, typeName, type Val } from './values.ts';

type Fn = (args: Val[], dir: string) => Val;

function arity(name: string, args: Val[], min: number, max = min): void {
  if (args.length < min || args.length > max) {
    throw new EvalError(`${name}() takes ${min === max ? min : `${min} to ${max === Infinity ? 'any number of' : max}`} argument${max === 1 ? '' : 's'}, not ${args.length}`);
  }
}

function str(name: string, v: Val): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new EvalError(`${name}() needs a string, not a ${typeName(v)}`);
}

function list(name: string, v: Val): Val[] {
  if (Array.isArray(v)) return v;
  throw new EvalError(`${name}() needs a list, not a ${typeName(v)}`);
}

function map(name: string, v: Val): Record<string, Val> {
  if (isObject(v)) return v;
  throw new EvalError(`${name}() needs a map or an object, not a ${typeName(v)}`);
}

/** A set as Terraform prints one: no duplicates, strings in lexical order. */
function toSet(values: Val[]): Val[] {
  const out: Val[] = [];
  for (const v of values) if (!out.some((o) => equal(o, v))) out.push(v);
  return out.every((v) => typeof v === 'string') ? (out as string[]).sort() : out;
}

function format(spec: string, args: Val[]): string {
  let i = 0;
  return spec.replace(/%(%|([-+ 0#]*)(\d*)(?:\.(\d+))?([sdvqftbx]))/g, (_all, pct: string, _flags: string, _width: string, precision: string | undefined, verb: string) => {
    if (pct === '%') return '%';
    if (i >= args.length) throw new EvalError(`format(): not enough arguments for "${spec}"`);
    const v = args[i++]!;
    switch (verb) {
      case 's': return str('format', v);
      case 'd': {
        if (typeof v !== 'number' || !Number.isInteger(v)) throw new EvalError(`format(): %d needs a whole number, not ${JSON.stringify(v)}`);
        return String(v);
      }
      case 'f': return (typeof v === 'number' ? v : Number(str('format', v))).toFixed(precision === undefined ? 6 : Number(precision));
      case 'q': return JSON.stringify(str('format', v));
      case 't': return String(v === true);
      default: return typeof v === 'string' ? v : JSON.stringify(v);
    }
  });
}

export const FUNCTIONS: Record<string, Fn> = {
  lower: (a) => (arity('lower', a, 1), str('lower', a[0]!).toLowerCase()),
  upper: (a) => (arity('upper', a, 1), str('upper', a[0]!).toUpperCase()),
  join: (a) => {
    arity('join', a, 2, Infinity);
    return a.slice(1).flatMap((l) => list('join', l)).map((v) => str('join', v)).join(str('join', a[0]!));
  },
  split: (a) => (arity('split', a, 2), str('split', a[1]!).split(str('split', a[0]!))),
  format: (a) => (arity('format', a, 1, Infinity), format(str('format', a[0]!), a.slice(1))),
  concat: (a) => a.flatMap((l) => list('concat', l)),
  merge: (a) => Object.assign({}, ...a.filter((m) => m !== null).map((m) => map('merge', m))),
  length: (a) => {
    arity('length', a, 1);
    const v = a[0]!;
    if (typeof v === 'string') return [...v].length;
    if (Array.isArray(v)) return v.length;
    return Object.keys(map('length', v)).length;
  },
  toset: (a) => (arity('toset', a, 1), toSet(list('toset', a[0]!))),
  tolist: (a) => (arity('tolist', a, 1), [...list('tolist', a[0]!)]),
  tomap: (a) => (arity('tomap', a, 1), { ...map('tomap', a[0]!) }),
  lookup: (a) => {
    arity('lookup', a, 2, 3);
    const m = map('lookup', a[0]!);
    const key = str('lookup', a[1]!);
    if (key in m) return m[key]!;
    if (a.length === 3) return a[2]!;
    throw new EvalError(`lookup(): no key "${key}" and no default`);
  },
  contains: (a) => (arity('contains', a, 2), list('contains', a[0]!).some((v) => equal(v, a[1]))),
  keys: (a) => (arity('keys', a, 1), Object.keys(map('keys', a[0]!)).sort()),
  values: (a) => {
    arity('values', a, 1);
    const m = map('values', a[0]!);
    return Object.keys(m).sort().map((k) => m[k]!);
  },
  distinct: (a) => (arity('distinct', a, 1), list('distinct', a[0]!).filter((v, i, all) => all.findIndex((o) => equal(o, v)) === i)),
  flatten: (a) => {
    arity('flatten', a, 1);
    const flat = (l: Val[]): Val[] => l.flatMap((v) => (Array.isArray(v) ? flat(v) : [v]));
    return flat(list('flatten', a[0]!));
  },
  coalesce: (a) => {
    const found = a.find((v) => v !== null && v !== '');
    if (found === undefined) throw new EvalError('coalesce(): every argument is null or empty');
    return found;
  },
  replace: (a) => (arity('replace', a, 3), str('replace', a[0]!).split(str('replace', a[1]!)).join(str('replace', a[2]!))),
  trimspace: (a) => (arity('trimspace', a, 1), str('trimspace', a[0]!).trim()),
  tostring: (a) => (arity('tostring', a, 1), a[0] === null ? null : str('tostring', a[0]!)),
  tonumber: (a) => {
    arity('tonumber', a, 1);
    if (a[0] === null) return null;
    const n = Number(a[0]);
    if (typeof a[0] === 'boolean' || Number.isNaN(n) || a[0] === '') throw new EvalError(`tonumber(): ${JSON.stringify(a[0])} is not a number`);
    return n;
  },
  file: (a, dir) => {
    arity('file', a, 1);
    const path = str('file', a[0]!);
    try {
      return readFileSync(isAbsolute(path) ? path : join(dir, path), 'utf8');
    } catch (err) {
      throw new EvalError(`file(): cannot read ${path}: ${(err as Error).message}`);
    }
  },
  jsonencode: (a) => (arity('jsonencode', a, 1), JSON.stringify(a[0])),
  jsondecode: (a) => {
    arity('jsondecode', a, 1);
    try {
      return JSON.parse(str('jsondecode', a[0]!)) as Val;
    } catch (err) {
      throw new EvalError(`jsondecode(): ${(err as Error).message}`);
    }
  },
};

export function callFunction(name: string, args: Val[], dir: string): Val {
  const fn = FUNCTIONS[name];
  if (!fn) throw new EvalError(`there is no function named "${name}" (available: ${Object.keys(FUNCTIONS).sort().join(', ')})`);
  if (args.some(hasUnknown)) return UNKNOWN;
  return fn(args, dir);
}

