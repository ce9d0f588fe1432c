// Renders sdk/cli/reference.ts: what `coffer <command> --help` prints for each operation (its
// description and its fields, with types, required marks and allowed values), read from the
// OpenAPI document. It is a file of its own rather than more columns of sdk/operations.ts so the
// SDK that runs in browsers does not carry the CLI's help text.
import type { OperationSpec } from './sdk-methods.ts';

type Json = Record<string, any>;

export interface CliField {
  /** The flag without its dashes: `name`, `source.snapshot-id` (dotted for nested objects). */
  flag: string;
  type: string;
  required: boolean;
  description?: string;
  values?: string[];
}

const kebab = (s: string) => s.replace(/_/g, '-');

function resolve(doc: Json, schema: Json | undefined): Json {
  let s = schema ?? {};
  while (typeof s.$ref === 'string') s = doc.components.schemas[s.$ref.split('/').pop()!] ?? {};
  return s;
}

function typeOf(doc: Json, schema: Json): string {
  const s = resolve(doc, schema);
  if (s.anyOf || s.oneOf) return [...new Set((s.anyOf ?? s.oneOf).map((x: Json) => typeOf(doc, x)))].join(' | ');
  if (s.enum) return 'string';
  if (s.type === 'array') return `${typeOf(doc, s.items)}[]`;
  if (s.format === 'date-time') return 'date-time';
  return String(s.type ?? 'any');
}

/** The fields of an object schema; nested objects (two levels) as dotted flags. */
function fieldsOf(doc: Json, schema: Json, prefix = '', parentRequired = true, depth = 0): CliField[] {
  const s = resolve(doc, schema);
  const required = new Set<string>(s.required ?? []);
  const out: CliField[] = [];
  for (const [name, raw] of Object.entries((s.properties ?? {}) as Json)) {
    const prop = resolve(doc, raw as Json);
    const flag = prefix + kebab(name);
    const isRequired = parentRequired && required.has(name);
    if (prop.type === 'object' && prop.properties && depth < 2) {
      out.push(...fieldsOf(doc, prop, `${flag}.`, isRequired, depth + 1));
      continue;
    }
    const description = (raw as Json).description ?? prop.description;
    out.push({
      flag,
      type: typeOf(doc, prop),
      required: isRequired,
      ...(description ? { description: String(description) } : {}),
      ...(prop.enum ? { values: prop.enum.map(String) } : {}),
    });
  }
  return out;
}

export function renderCliReference(doc: Json, specs: OperationSpec[]): string {
  const entries = [...specs].sort((a, b) => a.id.localeCompare(b.id)).map((spec) => {
    const op = doc.paths[spec.path][spec.method.toLowerCase()] as Json;
    let fields: CliField[] = [];
    if (spec.input === 'query') {
      fields = (op.parameters ?? []).filter((p: Json) => p.in === 'query').map((p: Json) => ({
        flag: kebab(p.name),
        type: typeOf(doc, p.schema),
        required: p.required === true,
        ...(p.description ?? p.schema?.description ? { description: String(p.description ?? p.schema.description) } : {}),
        ...(resolve(doc, p.schema).enum ? { values: resolve(doc, p.schema).enum.map(String) } : {}),
      }));
    } else if (spec.input === 'body' || spec.input === 'form') {
      const content = op.requestBody.content['application/json'] ?? op.requestBody.content['application/x-www-form-urlencoded'];
      fields = fieldsOf(doc, content.schema);
    }
    const description = [op.summary, op.description].filter(Boolean).join('. ').replace(/\.\./g, '.');
    return `  ${spec.id}: ${JSON.stringify({ description, fields })},`;
  });
  return `// generated — do not edit; run \`npm run generate\` (scripts/sdk-cli.ts)
// What \`coffer <command> --help\` shows: each operation's description and fields, from the OpenAPI document.
import type { OperationName } from '../operations.ts';

export interface CliField {
  readonly flag: string;
  readonly type: string;
  readonly required: boolean;
  readonly description?: string;
  readonly values?: readonly string[];
}

export const REFERENCE: Record<OperationName, { readonly description: string; readonly fields: readonly CliField[] }> = {
${entries.join('\n')}
};
`;
}
