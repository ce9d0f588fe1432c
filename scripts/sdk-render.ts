// Renders the SDK's generated sources from the operation table of sdk-methods.ts:
// sdk/operations.ts (the table itself, which the client and tools read) and sdk/resources.ts (one
// class per namespace, one typed method per operation).
import { className, type OperationSpec } from './sdk-methods.ts';

const BANNER = '// generated — do not edit; run `npm run generate` (method names: scripts/sdk-methods.ts)\n';

/** Namespaces whose generated class extends a hand-written one instead of Resource. */
const BASES: Record<string, { name: string; from: string }> = {
  jobs: { name: 'JobWaiter', from: './jobs.ts' },
  events: { name: 'EventStreamer', from: './events.ts' },
};

export function renderOperations(specs: OperationSpec[]): string {
  const lines = [...specs].sort((a, b) => a.id.localeCompare(b.id)).map((s) => `  ${s.id}: ${JSON.stringify(s)},`);
  return `${BANNER}// Every operation of the API: where it lives in the SDK, its HTTP method and path, its arguments.
import type { OperationSpec } from './types.ts';

export const OPERATIONS = {
${lines.join('\n')}
} as const satisfies Record<string, OperationSpec>;

export type OperationName = keyof typeof OPERATIONS;
`;
}

interface Node {
  path: string[];
  methods: OperationSpec[];
  children: Map<string, Node>;
}

function tree(specs: OperationSpec[]): Node {
  const root: Node = { path: [], methods: [], children: new Map() };
  for (const spec of specs) {
    let node = root;
    for (const part of spec.namespace) {
      let child = node.children.get(part);
      if (!child) node.children.set(part, (child = { path: [...node.path, part], methods: [], children: new Map() }));
      node = child;
    }
    node.methods.push(spec);
  }
  return root;
}

function renderMethod(s: OperationSpec): string {
  const args = s.pathParams.map((p) => `${p.arg}: string`);
  const k = `'${s.id}'`;
  if (s.input === 'query') args.push(`query${s.inputRequired ? '' : '?'}: QueryOf<${k}>`);
  if (s.input === 'body' || s.input === 'form') args.push(`body${s.inputRequired ? '' : '?'}: BodyOf<${k}>`);
  args.push(`options?: ${s.ifMatch ? 'UpdateOptions' : 'RequestOptions'}`);
  const values = `[${s.pathParams.map((p) => p.arg).join(', ')}]`;
  const input = s.input === 'query' ? 'query' : s.input === 'none' ? 'undefined' : 'body';
  const doc = `  /** ${s.summary ? `${s.summary.replace(/\*\//g, '*\\/')} — ` : ''}\`${s.method} ${s.path}\` (${s.id}) */\n`;
  if (s.result === 'page') {
    return `${doc}  ${s.name}(${args.join(', ')}): PagePromise<ItemOf<${k}>> {\n    return this._transport.list(OPERATIONS.${s.id}, ${values}, query, options);\n  }\n`;
  }
  const type = s.result === 'none' ? 'void' : s.result === 'response' ? 'Response' : `WithResponse<ResultOf<${k}>>`;
  return `${doc}  ${s.name}(${args.join(', ')}): Promise<${type}> {\n    return this._transport.call(OPERATIONS.${s.id}, ${values}, ${input}, options) as Promise<${type}>;\n  }\n`;
}

function renderClass(node: Node, out: string[]): void {
  for (const child of node.children.values()) renderClass(child, out);
  const name = node.path.length ? className(node.path) : 'CofferResources';
  const base = node.path.length ? (BASES[node.path.join('.')]?.name ?? 'Resource') : undefined;
  const fields = [...node.children.entries()].map(([key, child]) => `  readonly ${key}: ${className(child.path)};\n`);
  const assigns = [...node.children.entries()].map(([key, child]) => `    this.${key} = new ${className(child.path)}(transport);\n`);
  const ctor = node.children.size
    ? `\n  constructor(transport: Transport) {\n${base ? '    super(transport);\n' : ''}${assigns.join('')}  }\n`
    : '';
  const methods = node.methods.map(renderMethod);
  const title = node.path.length ? `/** \`coffer.${node.path.join('.')}\` */\n` : '/** Every namespace of the API, as properties of the client. */\n';
  out.push(`${title}export class ${name}${base ? ` extends ${base}` : ''} {\n${fields.join('')}${ctor}${methods.length ? (fields.length ? '\n' : '') + methods.join('\n') : ''}}\n`);
}

export function renderResources(specs: OperationSpec[]): string {
  const classes: string[] = [];
  renderClass(tree(specs), classes);
  const bases = Object.values(BASES).map((b) => `import { ${b.name} } from '${b.from}';\n`).join('');
  return `${BANNER}// One class per namespace of the API and one method per operation; the client (client.ts) mounts
// them: \`coffer.tags.list()\`, \`coffer.billing.invoices.get(id)\`.
import { OPERATIONS } from './operations.ts';
import { Resource } from './resource.ts';
${bases}import type { PagePromise } from './pagination.ts';
import type { Transport } from './transport.ts';
import type { BodyOf, ItemOf, QueryOf, RequestOptions, ResultOf, UpdateOptions, WithResponse } from './types.ts';

${classes.join('\n')}`;
}
