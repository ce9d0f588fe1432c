// Values during evaluation: JSON-shaped, plus UNKNOWN for what only apply will know (an id the API
// has not assigned yet). Unknown spreads: an operation on an unknown value is unknown.
import type { Value } from './types.ts';

export const UNKNOWN: unique symbol = Symbol('(known after apply)');
export type Val = Value | typeof UNKNOWN | Val[] | { [key: string]: Val };

export function isUnknown(v: unknown): v is typeof UNKNOWN {
  return v === UNKNOWN;
}

/** True when the value or anything inside it is unknown. */
export function hasUnknown(v: unknown): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(hasUnknown);
  if (v && typeof v === 'object') return Object.values(v).some(hasUnknown);
  return false;
}

export function isObject(v: unknown): v is Record<string, Val> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (v === UNKNOWN) return 'unknown';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'object';
  return typeof v === 'boolean' ? 'bool' : typeof v;
}

/** Deep equality of JSON values, ignoring object key order. */
export function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && equal(a[k], b[k]));
  }
  return false;
}

/** Strings in templates: numbers and bools convert as Terraform converts them. */
export function toStr(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new Error(`a ${typeName(v)} cannot be used as a string`);
}
