// The IaC language without a server: expressions and functions evaluated from HCL's own syntax
// tree, and errors that name file, line and column (syntax, evaluation and validation errors).
import t, { type Test } from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluate } from '../../sdk/iac/expr.ts';
import { loadConfig } from '../../sdk/iac/config.ts';
import { resolveVariables } from '../../sdk/iac/variables.ts';
import { validate } from '../../sdk/iac/commands.ts';
import { makePlan } from '../../sdk/iac/plan.ts';
import { formatHcl } from '../../sdk/iac/fmt.ts';
import { UNKNOWN } from '../../sdk/iac/values.ts';
import { IacError } from '../../sdk/iac/errors.ts';

const scope = (vars: Record<string, unknown> = {}, dir = '.') => ({ dir, root: (n: string) => (n === 'var' ? (vars as never) : n === 'coffer_tag' ? ({ a: { id: UNKNOWN } } as never) : undefined) });
const ev = (expr: string, vars: Record<string, unknown> = {}, dir = '.') => evaluate(expr, scope(vars, dir));

async function configDir(t: Test, files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-iac-lang-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

t.test('expressions: references, interpolation keeping types, conditionals, operators, for expressions, splats', async (t) => {
  const vars = { n: 3, names: ['ops', 'legal'], m: { a: 'x', b: '' }, list: [{ id: 1 }, { id: 2 }] };
  t.equal(await ev('${var.n}', vars), 3, 'a lone interpolation keeps the type');
  t.equal(await ev('n=${var.n}!', vars), 'n=3!');
  t.equal(await ev('${var.names[1]}', vars), 'legal');
  t.equal(await ev('${var.n > 2 ? "big" : "small"}', vars), 'big');
  t.equal(await ev('${(var.n + 1) * 2 % 5 - 1}', vars), 2);
  t.equal(await ev('${!(var.n == 3) || var.n != 3}', vars), false);
  t.same(await ev('${[for s in var.names : upper(s)]}', vars), ['OPS', 'LEGAL']);
  t.same(await ev('${{ for k, v in var.m : k => "${k}-${v}" if v != "" }}', vars), { a: 'a-x' });
  t.same(await ev('${{ for s in ["a", "b", "a"] : s => s... }}'), { a: ['a', 'a'], b: ['b'] }, 'grouping with ...');
  t.same(await ev('${var.list[*].id}', vars), [1, 2]);
  t.same(await ev('${{ a = 1, "b c" = [true, null] }}'), { a: 1, 'b c': [true, null] });
  t.equal(await ev('%{ if var.n == 3 }three%{ else }other%{ endif }', vars), 'three');
  t.equal(await ev('say "${var.names[0]}" \\o/', vars), 'say "ops" \\o/', 'quotes and backslashes of the JSON form survive');
  t.equal(await ev('${coffer_tag.a.id}'), UNKNOWN, 'an attribute known after apply');
  t.equal(await ev('x-${coffer_tag.a.id}'), UNKNOWN, 'unknown spreads through templates');
  t.equal(await ev('${upper(coffer_tag.a.id)}'), UNKNOWN, 'and through functions');
});

t.test('functions: the documented set, as Terraform defines them', async (t) => {
  const dir = await configDir(t, { 'note.txt': 'hello file' });
  const cases: [string, unknown][] = [
    ['${lower("AbC")}', 'abc'], ['${upper("AbC")}', 'ABC'],
    ['${join("-", ["a", "b"], ["c"])}', 'a-b-c'], ['${split(",", "a,b,,c")}', ['a', 'b', '', 'c']],
    ['${format("%s has %d items (%.1f%%) %q", "box", 3, 12.345, "x")}', 'box has 3 items (12.3%) "x"'],
    ['${concat(["a"], ["b", "c"])}', ['a', 'b', 'c']], ['${merge({ a = 1, b = 2 }, { b = 3 })}', { a: 1, b: 3 }],
    ['${length("héllo")}', 5], ['${length([1, 2])}', 2], ['${length({ a = 1 })}', 1],
    ['${toset(["b", "a", "b"])}', ['a', 'b']], ['${tolist(["x"])}', ['x']], ['${tomap({ a = "b" })}', { a: 'b' }],
    ['${lookup({ a = "x" }, "a")}', 'x'], ['${lookup({ a = "x" }, "z", "dflt")}', 'dflt'],
    ['${contains(["a", "b"], "b")}', true], ['${contains(["a"], "z")}', false],
    ['${file("note.txt")}', 'hello file'],
    ['${jsonencode({ a = [1, "x"] })}', '{"a":[1,"x"]}'], ['${jsondecode("{\\"k\\": [true]}")}', { k: [true] }],
  ];
  for (const [expr, want] of cases) t.same(await ev(expr, {}, dir), want, expr);
  await t.rejects(ev('${nosuch(1)}'), /no function named "nosuch"/);
  await t.rejects(ev('${lookup({ a = 1 }, "b")}'), /no key "b" and no default/);
  await t.rejects(ev('${upper()}'), /upper\(\) takes 1 argument, not 0/);
  await t.rejects(ev('${file("missing.txt")}', {}, dir), /file\(\): cannot read missing.txt/);
  await t.rejects(ev('${jsondecode("{")}'), /jsondecode\(\)/);
});

t.test('a syntax error names file, line and column, as HCL reports it', async (t) => {
  const dir = await configDir(t, { 'main.tf': 'resource "coffer_tag" "a" {\n  name = \n}\n' });
  const err = await loadConfig(dir).catch((e: unknown) => e);
  t.type(err, IacError);
  t.match((err as Error).message, /^main\.tf:2,10: Invalid expression/);
});

t.test('evaluation errors name the attribute\'s file, line and column', async (t) => {
  const dir = await configDir(t, {
    'vars.tf': 'variable "n" {\n  type    = number\n  default = 2\n}\n',
    'main.tf': '\nresource "coffer_tag" "a" {\n  # a comment\n  name = lookup({}, "missing")\n}\n',
  });
  const err = await makePlan({ dir, client: (() => { throw new Error('no API in this test'); }) as never, refresh: false }).catch((e: unknown) => e);
  t.match((err as Error).message, /^main\.tf:4,3: lookup\(\): no key "missing" and no default$/);
});

t.test('validate: unknown arguments, computed-only arguments, missing ones and undeclared references, each located', async (t) => {
  const cases: [string, RegExp][] = [
    ['resource "coffer_tag" "a" {\n  name  = "x"\n  color = "red"\n}\n', /^main\.tf:3,3: coffer_tag has no argument "color"/],
    ['resource "coffer_tag" "a" {\n  name = "x"\n  id   = "tag_1"\n}\n', /^main\.tf:3,3: "id" of coffer_tag is set by Coffer/],
    ['\nresource "coffer_tag" "a" {\n}\n', /^main\.tf:2,1: coffer_tag needs the argument "name"/],
    ['resource "coffer_tag" "a" {\n  name = var.nope\n}\n', /^main\.tf:1,1: reference to undeclared input variable "var.nope"/],
    ['resource "coffer_thing" "a" {\n}\n', /^main\.tf:1,1: there is no resource type coffer_thing/],
    ['resource "coffer_tag" "a" {\n  name = coffer_tag.b.name\n}\nresource "coffer_tag" "b" {\n  name = coffer_tag.a.name\n}\n', /dependency cycle: coffer_tag\.a → coffer_tag\.b → coffer_tag\.a|dependency cycle: coffer_tag\.b → coffer_tag\.a → coffer_tag\.b/],
  ];
  for (const [text, want] of cases) {
    const dir = await configDir(t, { 'main.tf': text });
    const err = await validate(dir).then(() => null, (e: unknown) => e);
    t.match((err as Error | null)?.message, want, text.split('\n')[1] ?? text);
  }
  const ok = await configDir(t, { 'main.tf': 'resource "coffer_tag" "a" {\n  name = "x"\n}\n' });
  await t.resolves(validate(ok));
  const json = await configDir(t, { 'main.tf.json': JSON.stringify({ resource: { coffer_tag: { a: { name: 'x', colour: 1 } } } }, null, 2) });
  t.match(await validate(json).catch((e: Error) => e.message), /^main\.tf\.json:\d+,\d+: coffer_tag has no argument "colour"/, 'the JSON syntax is read and located too');
});

t.test('variables: defaults, COFFER_VAR_name, -var-file, -var (later wins), types converted, validation located', async (t) => {
  const dir = await configDir(t, {
    'main.tf': [
      'variable "names" {\n  type    = list(string)\n  default = ["a"]\n}',
      'variable "count_of" {\n  type = number\n}',
      'variable "env" {\n  type = string\n  validation {\n    condition     = contains(["prod", "dev"], var.env)\n    error_message = "env is prod or dev"\n  }\n  default = "dev"\n}',
    ].join('\n'),
    'over.tfvars': 'names = ["x", "y"]\ncount_of = 2\n',
  });
  const config = await loadConfig(dir);
  t.same(await resolveVariables(config, [], { COFFER_VAR_count_of: '7' }), { names: ['a'], count_of: 7, env: 'dev' });
  t.same(await resolveVariables(config, [{ kind: 'file', path: join(dir, 'over.tfvars') }, { kind: 'var', name: 'names', value: '["z"]' }], { COFFER_VAR_count_of: '7' }), { names: ['z'], count_of: 2, env: 'dev' });
  await t.rejects(resolveVariables(config, [], {}), /^main\.tf:5,1: no value for the required variable "count_of"/);
  await t.rejects(resolveVariables(config, [{ kind: 'var', name: 'env', value: 'qa' }], { COFFER_VAR_count_of: '1' }), /^main\.tf:8,1: invalid value for variable "env": env is prod or dev/);
  await t.rejects(resolveVariables(config, [{ kind: 'var', name: 'count_of', value: 'many' }], {}), /variable "count_of": a string is not a number/);
  await t.rejects(resolveVariables(config, [{ kind: 'var', name: 'other', value: '1' }], {}), /undeclared variable "other"/);
});

t.test('fmt: indentation by nesting and aligned equals signs; formatted text is left alone', async (t) => {
  const messy = 'resource "coffer_tag" "a" {\nname = "x"\n      description_long = "y"\nlifecycle {\nprevent_destroy = true\n}\n}\n\n\n\noutput "o" {\n value = 1   \n}';
  const tidy = 'resource "coffer_tag" "a" {\n  name             = "x"\n  description_long = "y"\n  lifecycle {\n    prevent_destroy = true\n  }\n}\n\noutput "o" {\n  value = 1\n}\n';
  t.equal(formatHcl(messy), tidy);
  t.equal(formatHcl(tidy), tidy);
});
