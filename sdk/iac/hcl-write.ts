// Writes HCL: values as literals (plans, `show`, -generate-config-out) and whole resource blocks.
import { isComputedOnly } from './spec.ts';
import { parseAddress } from './state.ts';
import { resourceType } from './resources/index.ts';
import { UNKNOWN } from './values.ts';

const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** A value as HCL writes it; `indent` is the column nested lines start at. */
export function hclValue(v: unknown, indent = 0): string {
  if (v === UNKNOWN) return '(known after apply)';
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v).replace(/\$\{/g, '$${').replace(/%\{/g, '%%{');
  if (typeof v !== 'object') return String(v);
  const pad = ' '.repeat(indent + 2);
  if (Array.isArray(v)) {
    if (!v.length) return '[]';
    if (v.every((x) => x === null || typeof x !== 'object')) return `[${v.map((x) => hclValue(x)).join(', ')}]`;
    return `[\n${v.map((x) => `${pad}${hclValue(x, indent + 2)},`).join('\n')}\n${' '.repeat(indent)}]`;
  }
  const entries = Object.entries(v as object);
  if (!entries.length) return '{}';
  const width = Math.max(...entries.map(([k]) => (IDENT.test(k) ? k : JSON.stringify(k)).length));
  return `{\n${entries.map(([k, x]) => `${pad}${(IDENT.test(k) ? k : JSON.stringify(k)).padEnd(width)} = ${hclValue(x, indent + 2)}`).join('\n')}\n${' '.repeat(indent)}}`;
}

/** A `resource` block for an imported object: every configurable attribute the API reported. */
export function generateResourceHcl(address: string, importId: string, attributes: Record<string, unknown>): string {
  const { type: typeName, name } = parseAddress(address);
  const type = resourceType(typeName);
  const lines: [string, unknown][] = [];
  for (const [k, spec] of Object.entries(type?.attributes ?? {})) {
    if (isComputedOnly(spec) || spec.writeOnly) continue;
    const v = attributes[k];
    if (v === null || v === undefined) continue;
    lines.push([k, v]);
  }
  const width = Math.max(0, ...lines.map(([k]) => k.length));
  return `# imported from "${importId}"\nresource "${typeName}" "${name}" {\n${lines.map(([k, v]) => `  ${k.padEnd(width)} = ${hclValue(v, 2)}`).join('\n')}\n}\n`;
}

