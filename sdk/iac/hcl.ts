// The HCL parser: @cdktn/hcl2json is HashiCorp's own HCL library (the one Terraform uses) compiled
// to WebAssembly, so `.tf` files mean here exactly what they mean to Terraform, and its diagnostics
// name file:line,column. `parse` turns a file into Terraform's JSON form (expressions kept as
// `${…}` strings); `getExpressionAst` turns one expression into a tree with byte ranges, which
// expr.ts evaluates.
import { getExpressionAst, parse } from '@cdktn/hcl2json';
import { IacError } from './errors.ts';

/** A node of hcl2json's expression tree (its `syntax-tree` types, reduced to what expr.ts reads). */
export interface Ast {
  type: string;
  children?: Ast[];
  meta?: Record<string, unknown> & { traversal?: { type: string; segment: string }[] };
  range: { start: { byte: number }; end: { byte: number } };
}

/** Parses an HCL file into Terraform's JSON form, or throws naming file:line,column. */
export async function parseHcl(file: string, text: string): Promise<Record<string, unknown>> {
  try {
    return await parse(file, text);
  } catch (err) {
    throw diagnostic(err, file);
  }
}

const cache = new Map<string, Promise<Ast | null>>();

/** The syntax tree of one expression (HCL syntax, no `${ }` around it). */
export function expressionAst(file: string, expression: string): Promise<Ast | null> {
  let ast = cache.get(expression);
  if (!ast) {
    ast = getExpressionAst(file, expression) as Promise<Ast | null>;
    cache.set(expression, ast);
    ast.catch(() => cache.delete(expression));
  }
  return ast;
}

/** `parse config: [main.tf:2,7-3,1: Invalid expression; Expected …]` → `main.tf:2,7: Invalid expression; Expected …`. */
function diagnostic(err: unknown, file: string): IacError {
  const text = err instanceof Error ? err.message : String(err);
  const m = /([^\s[\]]+):(\d+),(\d+)(?:-[\d,]+)?: ([^\]]*)/.exec(text);
  if (m) return new IacError(m[4]!.trim(), { file: m[1]!, line: Number(m[2]), column: Number(m[3]) });
  return new IacError(text.replace(/^parse config: /, ''), { file, line: 1, column: 1 });
}
