// The dependency graph of a configuration: variables, locals, data sources, resources and outputs,
// linked by the references their expressions make and by depends_on. Evaluated in topological order.
import type { Block, Config } from './config.ts';
import { locate } from './config.ts';
import { IacError } from './errors.ts';
import { references } from './expr.ts';

export interface GraphNode {
  id: string;
  kind: 'var' | 'local' | 'resource' | 'output';
  block?: Block;
  deps: Set<string>;
}

export interface Graph {
  nodes: Map<string, GraphNode>;
  order: string[];
}

async function refsOf(value: unknown, file: string): Promise<string[]> {
  return references(value, file);
}

export async function buildGraph(config: Config): Promise<Graph> {
  const nodes = new Map<string, GraphNode>();
  for (const name of config.variables.keys()) nodes.set(`var.${name}`, { id: `var.${name}`, kind: 'var', deps: new Set() });
  for (const name of config.locals.keys()) nodes.set(`local.${name}`, { id: `local.${name}`, kind: 'local', deps: new Set() });
  for (const b of config.resources) nodes.set(b.address, { id: b.address, kind: 'resource', block: b, deps: new Set() });
  for (const name of config.outputs.keys()) nodes.set(`output.${name}`, { id: `output.${name}`, kind: 'output', deps: new Set() });

  const link = (node: GraphNode, refs: string[], file: string, where: string[], explicit = false) => {
    for (const ref of refs) {
      if (ref === node.id) throw new IacError(`${node.id} refers to itself`, locate(config, file, where));
      if (nodes.has(ref)) node.deps.add(ref);
      else if (ref.startsWith('var.') || ref.startsWith('local.') || explicit) {
        throw new IacError(`reference to undeclared ${ref.startsWith('var.') ? 'input variable' : ref.startsWith('local.') ? 'local value' : 'resource'} "${ref}"`, locate(config, file, where));
      } else if (/^(data\.)?coffer_/.test(ref)) {
        throw new IacError(`reference to undeclared resource "${ref}"`, locate(config, file, where));
      }
    }
  };
  for (const [name, l] of config.locals) link(nodes.get(`local.${name}`)!, await refsOf(l.value, l.file), l.file, ['locals']);
  for (const b of config.resources) {
    const node = nodes.get(b.address)!;
    const where = [b.mode === 'managed' ? 'resource' : 'data', b.type, b.name];
    link(node, await refsOf([b.body, b.count ?? null, b.forEach ?? null], b.file), b.file, where);
    link(node, b.dependsOn, b.file, where, true);
  }
  for (const [name, o] of config.outputs) {
    const node = nodes.get(`output.${name}`)!;
    link(node, await refsOf(o.value, o.file), o.file, ['output', name]);
    link(node, o.dependsOn, o.file, ['output', name], true);
  }

  const order: string[] = [];
  const mark = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, path: string[]) => {
    const state = mark.get(id);
    if (state === 'done') return;
    if (state === 'visiting') throw new IacError(`dependency cycle: ${[...path.slice(path.indexOf(id)), id].join(' → ')}`);
    mark.set(id, 'visiting');
    for (const d of [...nodes.get(id)!.deps].sort()) visit(d, [...path, id]);
    mark.set(id, 'done');
    order.push(id);
  };
  for (const id of [...nodes.keys()].sort()) visit(id, []);
  return { nodes, order };
}

/** The resources and data sources a node depends on, directly or through locals. */
export function blockDeps(graph: Graph, id: string): string[] {
  const out = new Set<string>();
  const seen = new Set<string>();
  const walk = (n: string) => {
    for (const d of graph.nodes.get(n)?.deps ?? []) {
      if (seen.has(d)) continue;
      seen.add(d);
      if (graph.nodes.get(d)?.kind === 'resource') out.add(d);
      else walk(d);
    }
  };
  walk(id);
  return [...out].sort();
}
