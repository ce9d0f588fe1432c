// Evaluates Terraform expressions. The tree comes from HCL's own parser (hcl.ts); this file gives it
// meaning: references, templates, operators, conditionals, `for` expressions, splats, function calls.
import { expressionAst, type Ast } from './hcl.ts';
import { EvalError } from './errors.ts';
import { callFunction } from './functions.ts';
import { UNKNOWN, hasUnknown, isObject, isUnknown, toStr, typeName, type Val } from './values.ts';

/** Where names come from: `var`, `local`, `each`, `count`, resources, data sources, `path`. */
export interface Scope {
  /** The value of a root name (`var` → every variable as an object); undefined when unknown to the scope. */
  root(name: string): Val | undefined;
  /** The directory the configuration lives in (for `file`). */
  dir: string;
}

/**
 * Evaluates a value from Terraform's JSON form: strings are templates (`"${var.x}"` keeps the type
 * of var.x; `"a-${var.x}"` is a string), lists and objects are evaluated inside.
 */
export async function evaluate(value: unknown, scope: Scope, file = 'main.tf'): Promise<Val> {
  if (typeof value === 'string') return evalTemplate(value, scope, file);
  if (Array.isArray(value)) return Promise.all(value.map((v) => evaluate(v, scope, file)));
  if (isObject(value)) {
    const out: Record<string, Val> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await evaluate(v, scope, file);
    return out;
  }
  return value as Val;
}

async function evalTemplate(text: string, scope: Scope, file: string): Promise<Val> {
  if (!text.includes('${') && !text.includes('%{')) return text;
  const whole = /^\$\{([\s\S]*)\}$/.exec(text);
  if (whole) {
    const inner = await parseOrNull(file, whole[1]!);
    if (inner) return evalNode(inner, whole[1]!, scope, new Map());
  }
  // A heredoc needs no escaping of the quotes and backslashes the JSON form has already unescaped.
  let tag = 'EOT';
  while (text.includes(tag)) tag += '_';
  const source = `<<${tag}\n${text}\n${tag}\n`;
  const ast = await expressionAst(file, source);
  if (!ast) return text;
  const v = await evalNode(ast, source, scope, new Map());
  return typeof v === 'string' && v.endsWith('\n') ? v.slice(0, -1) : v;
}

async function parseOrNull(file: string, expr: string): Promise<Ast | null> {
  try {
    return await expressionAst(file, expr);
  } catch {
    return null;
  }
}

/** The references an expression makes (`var.x`, `local.y`, `coffer_tag.a`, `data.coffer_regions.all`), for the dependency graph. */
export async function references(value: unknown, file = 'main.tf'): Promise<string[]> {
  const found = new Set<string>();
  const visit = async (v: unknown): Promise<void> => {
    if (Array.isArray(v)) for (const x of v) await visit(x);
    else if (isObject(v)) for (const x of Object.values(v)) await visit(x);
    else if (typeof v === 'string' && (v.includes('${') || v.includes('%{'))) {
      let tag = 'EOT';
      while (v.includes(tag)) tag += '_';
      const ast = await parseOrNull(file, `<<${tag}\n${v}\n${tag}\n`);
      if (ast) walk(ast);
    }
  };
  const walk = (n: Ast): void => {
    if (n.type === 'scopeTraversal' && n.meta?.traversal) {
      const names = n.meta.traversal.map((t) => t.segment);
      if (names[0] === 'data' && names.length >= 3) found.add(names.slice(0, 3).join('.'));
      else if (names.length >= 2 && !['each', 'count', 'path', 'self'].includes(names[0]!)) found.add(`${names[0]}.${names[1]}`);
    }
    for (const c of n.children ?? []) walk(c);
  };
  await visit(value);
  return [...found];
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function sourceText(source: string, n: Ast): string {
  return fromUtf8.decode(utf8.encode(source).slice(n.range.start.byte, n.range.end.byte));
}

type Locals = Map<string, Val>;

async function evalNode(n: Ast, source: string, scope: Scope, locals: Locals): Promise<Val> {
  const kids = n.children ?? [];
  const ev = (c: Ast, l: Locals = locals) => evalNode(c, source, scope, l);
  const meta = (n.meta ?? {}) as Record<string, unknown>;
  switch (n.type) {
    case 'literalValue': {
      const value = String(meta.value);
      if (meta.type === 'number') return Number(value);
      if (meta.type === 'bool') return value === 'true';
      if (meta.type === 'dynamic') return null;
      if (meta.type === 'string') return value.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{');
      return value;
    }
    case 'templateWrap':
      return ev(kids[0]!);
    case 'template': {
      // The tree keeps a quoted string's literal parts as written: undo its escapes (a heredoc has none).
      if (String(meta.value ?? '').startsWith('"')) {
        for (const c of kids) if (c.type === 'literalValue' && c.meta?.type === 'string') c.meta = { ...c.meta, value: unescape(String(c.meta.value)), type: 'unescaped' };
      }
      if (kids.length === 1 && kids[0]!.type !== 'literalValue') {
        const only = await ev(kids[0]!);
        return isUnknown(only) ? UNKNOWN : only === null ? null : toStr(only);
      }
      let out = '';
      for (const c of kids) {
        const v = await ev(c);
        if (hasUnknown(v)) return UNKNOWN;
        if (v === null) throw new EvalError('a null value cannot be used in a string template');
        out += toStr(v);
      }
      return out;
    }
    case 'tuple':
      return Promise.all(kids.map((c) => ev(c)));
    case 'object': {
      const out: Record<string, Val> = {};
      for (let i = 0; i + 1 < kids.length; i += 2) {
        const keyNode = kids[i]!;
        let key: Val = keyNode.children?.length ? await ev(unwrap(keyNode)) : sourceText(source, keyNode);
        if (isUnknown(key)) return UNKNOWN;
        out[toStr(key)] = await ev(kids[i + 1]!);
      }
      return out;
    }
    case '':
      return ev(kids[0]!);
    case 'scopeTraversal': {
      const parts = n.meta!.traversal!;
      const rootName = parts[0]!.segment;
      const base = locals.has(rootName) ? locals.get(rootName)! : scope.root(rootName);
      if (base === undefined) throw new EvalError(`unknown name "${rootName}" (in ${String(meta.value)})`);
      return traverse(base, parts.slice(1), String(meta.value));
    }
    case 'relativeTraversal':
      return traverse(await ev(kids[0]!), n.meta!.traversal!, String(meta.value));
    case 'index': {
      const [coll, key] = await Promise.all([ev(kids[0]!), ev(kids[1]!)]);
      return index(coll, key, String(meta.value));
    }
    case 'splat': {
      const src = await ev(kids[0]!);
      if (isUnknown(src)) return UNKNOWN;
      const list = src === null ? [] : Array.isArray(src) ? src : [src];
      const each = kids[1]!;
      const steps = each.meta?.traversal ?? [];
      return list.map((item) => traverse(item, steps, String(meta.value)));
    }
    case 'conditional': {
      const cond = await ev(kids[0]!);
      if (isUnknown(cond)) return UNKNOWN;
      if (typeof cond !== 'boolean') throw new EvalError(`the condition of "${String(meta.value)}" is a ${typeName(cond)}, not a bool`);
      return ev(cond ? kids[1]! : kids[2]!);
    }
    case 'unaryOp': {
      const v = await ev(kids[0]!);
      if (isUnknown(v)) return UNKNOWN;
      if (meta.operator === 'logicalNot') return !bool(v, '!');
      return -num(v, '-');
    }
    case 'binaryOp':
      return binary(String(meta.operator), await ev(kids[0]!), await ev(kids[1]!));
    case 'function': {
      const args = await Promise.all(kids.map((c) => ev(c)));
      if (meta.expandedFinalArgument) {
        const last = args.pop();
        if (isUnknown(last)) return UNKNOWN;
        if (!Array.isArray(last)) throw new EvalError(`"..." expands a list, not a ${typeName(last)}`);
        args.push(...last);
      }
      return callFunction(String(meta.name), args, scope.dir);
    }
    case 'for':
      return forExpression(n, kids, meta, ev, locals);
    default:
      throw new EvalError(`unsupported expression: ${String(meta.value ?? n.type)}`);
  }
}

/** HCL's string escapes: \n \r \t \" \\ \uNNNN \UNNNNNNNN, and $${ / %%{ for a literal ${ / %{. */
function unescape(s: string): string {
  return s.replace(/\\(?:([nrt"\\])|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8}))|\$\$\{|%%\{/g, (all, c: string | undefined, u4: string | undefined, u8: string | undefined) => {
    if (all === '$${') return '${';
    if (all === '%%{') return '%{';
    if (c) return ({ n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' } as Record<string, string>)[c]!;
    return String.fromCodePoint(parseInt((u4 ?? u8)!, 16));
  });
}

function unwrap(n: Ast): Ast {
  let node = n;
  while (node.type === '' && node.children?.length) node = node.children[0]!;
  return node;
}

async function forExpression(n: Ast, kids: Ast[], meta: Record<string, unknown>, ev: (c: Ast, l?: Locals) => Promise<Val>, locals: Locals): Promise<Val> {
  const collection = await ev(kids[0]!);
  if (hasUnknown(collection)) return UNKNOWN;
  let i = 1;
  const keyExpr = meta.keyExpression ? kids[i++] : undefined;
  const valueExpr = kids[i++]!;
  const condExpr = meta.conditionalExpression ? kids[i++] : undefined;
  const keyVar = String(meta.keyVar ?? '');
  const valVar = String(meta.valVar ?? '');
  const entries: [Val, Val][] = Array.isArray(collection)
    ? collection.map((v, idx) => [idx, v])
    : isObject(collection) ? Object.entries(collection).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    : (() => { throw new EvalError(`a for expression iterates a list or a map, not a ${typeName(collection)}`); })();
  const asObject = meta.openRangeValue === '{';
  const list: Val[] = [];
  const obj: Record<string, Val> = {};
  for (const [k, v] of entries) {
    const inner = new Map(locals);
    if (keyVar) inner.set(keyVar, k);
    inner.set(valVar, v);
    if (condExpr) {
      const keep = await ev(condExpr, inner);
      if (isUnknown(keep)) return UNKNOWN;
      if (!keep) continue;
    }
    const value = await ev(valueExpr, inner);
    if (asObject) {
      const key = await ev(keyExpr!, inner);
      if (isUnknown(key)) return UNKNOWN;
      const name = toStr(key);
      if (meta.groupedValue) ((obj[name] ??= []) as Val[]).push(value);
      else if (name in obj) throw new EvalError(`two elements of a for expression have the key "${name}" (use ... to group them)`);
      else obj[name] = value;
    } else list.push(value);
  }
  void n;
  return asObject ? obj : list;
}

function traverse(start: Val, steps: { type: string; segment: string }[], expr: string): Val {
  let v = start;
  for (const step of steps) {
    const key: Val = step.type === 'indexTraversal' ? JSON.parse(step.segment) : step.segment;
    v = index(v, key, expr);
  }
  return v;
}

function index(coll: Val, key: Val, expr: string): Val {
  if (isUnknown(coll) || isUnknown(key)) return UNKNOWN;
  if (Array.isArray(coll)) {
    const i = typeof key === 'number' ? key : Number(key);
    if (!Number.isInteger(i) || i < 0 || i >= coll.length) throw new EvalError(`index ${JSON.stringify(key)} is out of range for a list of ${coll.length} (in ${expr})`);
    return coll[i]!;
  }
  if (isObject(coll)) {
    const k = toStr(key);
    if (!(k in coll)) throw new EvalError(`no attribute or key "${k}" (in ${expr})`);
    return coll[k]!;
  }
  throw new EvalError(`cannot take "${String(key)}" of a ${typeName(coll)} (in ${expr})`);
}

function num(v: Val, op: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  throw new EvalError(`"${op}" needs a number, not a ${typeName(v)}`);
}

function bool(v: Val, op: string): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw new EvalError(`"${op}" needs a bool, not a ${typeName(v)}`);
}

function binary(op: string, a: Val, b: Val): Val {
  if (op === 'logicalAnd' && a === false) return false;
  if (op === 'logicalOr' && a === true) return true;
  if (op === 'equal' || op === 'notEqual') {
    if (hasUnknown(a) || hasUnknown(b)) return UNKNOWN;
    const same = JSON.stringify(a) === JSON.stringify(b);
    return op === 'equal' ? same : !same;
  }
  if (isUnknown(a) || isUnknown(b)) return UNKNOWN;
  switch (op) {
    case 'logicalAnd': return bool(a, '&&') && bool(b, '&&');
    case 'logicalOr': return bool(a, '||') || bool(b, '||');
    case 'add': return num(a, '+') + num(b, '+');
    case 'subtract': return num(a, '-') - num(b, '-');
    case 'multiply': return num(a, '*') * num(b, '*');
    case 'divide': {
      if (num(b, '/') === 0) throw new EvalError('division by zero');
      return num(a, '/') / num(b, '/');
    }
    case 'modulo': return num(a, '%') % num(b, '%');
    case 'lessThan': return num(a, '<') < num(b, '<');
    case 'lessThanOrEqual': return num(a, '<=') <= num(b, '<=');
    case 'greaterThan': return num(a, '>') > num(b, '>');
    case 'greaterThanOrEqual': return num(a, '>=') >= num(b, '>=');
    default: throw new EvalError(`unsupported operator ${op}`);
  }
}
