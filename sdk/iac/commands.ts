// `coffer iac …`: Terraform's commands, flags and exit codes over the library (run.ts).
//
//   coffer iac [-chdir=DIR] init | validate | fmt [-check] | plan | apply [FILE] | destroy | refresh
//              | import ADDR ID | show [FILE] | output [NAME] | state list|show|rm|mv | force-unlock ID
//
// Flags are single-dash as Terraform writes them (`-auto-approve`, `-var 'name=value'`,
// `-target=ADDR`); `--flag` works too. Exit codes: 0 success, 1 error, 2 with -detailed-exitcode
// when the plan has changes, 3 from `fmt -check` when a file is not formatted.
import { access, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Coffer } from '../client.ts';
import type { ClientFactory, Plan, PlanOptions } from './plan.ts';
import { hasChanges, makePlan, openSession } from './plan.ts';
import { IacError } from './errors.ts';
import { apply, importResource, withLock } from './run.ts';
import { renderPlan, planJson } from './render.ts';
import { readPlanFile, writePlanFile } from './planfile.ts';
import { formatHcl } from './fmt.ts';
import { generateAccount } from './generate.ts';
import { LocalBackend } from './backends/local.ts';
import { hclValue } from './hcl-write.ts';
import { findInstance, instances, setInstance, type State } from './state.ts';
import { dataSourceType, resourceType, RESOURCE_TYPES } from './resources/index.ts';
import { buildGraph } from './graph.ts';
import { loadConfig } from './config.ts';
import { isComputedOnly } from './spec.ts';
import type { VarSource } from './variables.ts';

export const IAC_USAGE = `usage: coffer iac [-chdir=DIR] <command> [flags]

Coffer as code, with Terraform's language, commands and flags (reference: sdk/iac/README.md of the repository).

  init                 check the configuration and the state backend
  validate             check the configuration without calling the API
  fmt [-check] [-diff] rewrite *.tf files in the canonical layout (-check: exit 3 if one is not)
  plan                 refresh every object and show what apply would do
                       [-out=FILE] [-detailed-exitcode] [-refresh-only] [-destroy] [-json]
                       [-generate-config-out=FILE] [-refresh=false]
  apply [FILE]         apply a saved plan, or plan and apply (asks unless -auto-approve)
  destroy              destroy everything the state holds (asks unless -auto-approve)
  refresh              record changes made outside the tool in the state
  import ADDR ID       adopt an existing object into the state
  show [FILE] [-json]  the state, or a saved plan
  output [NAME] [-json] [-raw]
  state list | state show ADDR | state rm ADDR… | state mv SRC DEST
  force-unlock ID      remove a state lock left by a run that died
  generate -account [-out=FILE]   write resource and import blocks for what the account holds (account.tf)

Shared flags: -var 'NAME=VALUE', -var-file=FILE, -target=ADDR, -parallelism=N (default 4),
-state=PATH (local state file), -lock-timeout is not needed: a held lock fails at once.
Variables also come from COFFER_VAR_NAME, terraform.tfvars and *.auto.tfvars.
The provider block (api_url, api_key, account) falls back to COFFER_API_URL, COFFER_API_KEY and
the profile of \`coffer login\`.

Exit codes: 0 success, 1 error, 2 plan -detailed-exitcode with changes, 3 fmt -check with changes.
`;

const BOOLEAN = new Set(['account', 'auto-approve', 'detailed-exitcode', 'refresh-only', 'json', 'destroy', 'check', 'diff', 'raw', 'no-color', 'help', 'recursive', 'list', 'write']);
const VALUED = new Set(['var', 'var-file', 'target', 'out', 'parallelism', 'generate-config-out', 'state', 'refresh', 'chdir', 'input', 'lock', 'lock-timeout', 'backend', 'force']);

interface Parsed {
  words: string[];
  flags: Map<string, string[]>;
}

function parseArgs(args: string[]): Parsed {
  const words: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^--?([a-z][a-z-]*)(?:=([\s\S]*))?$/.exec(a);
    if (!m) {
      words.push(a);
      continue;
    }
    const name = m[1]!;
    let value = m[2];
    if (value === undefined) {
      if (BOOLEAN.has(name)) value = 'true';
      else if (VALUED.has(name) && i + 1 < args.length) value = args[++i]!;
      else throw new IacError(`unknown flag -${name}`);
    } else if (!BOOLEAN.has(name) && !VALUED.has(name)) throw new IacError(`unknown flag -${name}`);
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { words, flags };
}

export interface IacIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Reads one answer (apply's confirmation). */
  ask: (question: string) => Promise<string>;
  env: Record<string, string | undefined>;
  signal: AbortSignal;
  /** The client when the provider block gives no credentials (the CLI's profile). */
  fallbackClient: (provider: { api_url?: string; api_key?: string; account?: string }) => Promise<Coffer>;
}

export async function stdinAnswer(question: string): Promise<string> {
  process.stdout.write(question);
  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    for await (const line of rl) return line.trim();
    return '';
  } finally {
    rl.close();
  }
}

/** Runs `coffer iac ARGS`; returns the exit code. */
export async function iacMain(args: string[], io: IacIo): Promise<number> {
  try {
    return await dispatch(args, io);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`\nError: ${message}\n\n`);
    return 1;
  }
}

async function dispatch(args: string[], io: IacIo): Promise<number> {
  let dir = '.';
  let rest = args;
  while (rest[0]?.startsWith('-chdir=')) {
    dir = resolve(dir, rest[0].slice('-chdir='.length));
    rest = rest.slice(1);
  }
  const [command, ...tail] = rest;
  if (!command || command === 'help' || command === '-help' || command === '--help') {
    io.stdout(IAC_USAGE);
    return command ? 0 : 1;
  }
  const { words, flags } = parseArgs(tail);
  if (flags.has('help')) {
    io.stdout(IAC_USAGE);
    return 0;
  }
  const one = (name: string) => flags.get(name)?.at(-1);
  const bool = (name: string) => one(name) === 'true';
  const vars: VarSource[] = [];
  for (let i = 0; i < tail.length; i++) {
    const m = /^--?(var|var-file)(?:=([\s\S]*))?$/.exec(tail[i]!);
    if (!m) continue;
    const value = m[2] ?? tail[++i] ?? '';
    if (m[1] === 'var-file') vars.push({ kind: 'file', path: resolve(dir, value) });
    else {
      const eq = value.indexOf('=');
      if (eq < 1) throw new IacError(`-var takes NAME=VALUE, not "${value}"`);
      vars.push({ kind: 'var', name: value.slice(0, eq), value: value.slice(eq + 1) });
    }
  }
  const client: ClientFactory = (p) => io.fallbackClient(p);
  const parallelism = one('parallelism') ? Number(one('parallelism')) : 4;
  if (!Number.isInteger(parallelism) || parallelism < 1) throw new IacError('-parallelism takes a whole number ≥ 1');
  const options: PlanOptions & { log: (s: string) => void } = {
    dir, vars, env: io.env, client, parallelism, signal: io.signal,
    ...(flags.has('target') ? { targets: flags.get('target')! } : {}),
    ...(one('state') ? { backend: new LocalBackend(resolve(dir, one('state')!)) } : {}),
    ...(one('refresh') === 'false' ? { refresh: false } : {}),
    log: (s) => io.stdout(`${s}\n`),
  };
  const json = bool('json');
  const expectWords = (n: number, usage: string) => {
    if (words.length !== n) throw new IacError(`usage: coffer iac ${usage}`);
  };

  switch (command) {
    case 'init': {
      expectWords(0, 'init');
      const session = await openSession(options);
      await session.backend.read();
      io.stdout(`Initializing the backend...\n${session.config.backend ? `Using the "${session.config.backend.type}" backend.` : 'Using the local state file coffer.tfstate.'}\n\nCoffer IaC has been successfully initialized! Resource types: ${RESOURCE_TYPES.map((t) => t.name).join(', ')}.\n`);
      return 0;
    }
    case 'validate': {
      expectWords(0, 'validate');
      await validate(dir);
      if (json) io.stdout(JSON.stringify({ valid: true, error_count: 0, diagnostics: [] }) + '\n');
      else io.stdout('Success! The configuration is valid.\n');
      return 0;
    }
    case 'fmt':
      return fmt(dir, words, bool('check'), bool('diff'), io);
    case 'plan': {
      expectWords(0, 'plan [flags]');
      const planOptions = { ...options, destroy: bool('destroy'), refreshOnly: bool('refresh-only'), ...(one('generate-config-out') ? { generateConfigOut: one('generate-config-out')! } : {}) };
      const plan = await withLock(planOptions, 'plan', (s) => makePlan(planOptions, s));
      if (json) io.stdout(JSON.stringify(planJson(plan)) + '\n');
      else io.stdout(renderPlan(plan));
      if (one('out')) {
        const sensitive = [...(await loadConfig(dir)).variables.values()].filter((v) => v.sensitive).map((v) => v.name);
        await writePlanFile(resolve(dir, one('out')!), plan, sensitive);
        if (!json) io.stdout(`\nSaved the plan to: ${one('out')}\n\nTo perform exactly these actions, run:\n    coffer iac apply ${JSON.stringify(one('out'))}\n`);
      }
      return bool('detailed-exitcode') && hasChanges(plan) ? 2 : 0;
    }
    case 'apply':
    case 'destroy':
    case 'refresh': {
      if (words.length > (command === 'apply' ? 1 : 0)) throw new IacError(`usage: coffer iac ${command} [flags]${command === 'apply' ? ' [PLANFILE]' : ''}`);
      const saved = words[0] ? await readPlanFile(resolve(dir, words[0])) : undefined;
      const auto = bool('auto-approve') || !!saved || command === 'refresh';
      const result = await apply({
        ...options,
        destroy: command === 'destroy' || bool('destroy'),
        refreshOnly: command === 'refresh' || bool('refresh-only'),
        ...(saved ? { plan: saved } : {}),
        confirm: async (plan) => {
          io.stdout(renderPlan(plan));
          if (!hasChanges(plan)) return true;
          if (auto) return true;
          const verb = command === 'destroy' ? 'destroy all remote objects managed by this configuration' : 'perform these actions';
          const answer = await io.ask(`\nDo you want to ${verb}?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: `);
          if (answer !== 'yes') return false;
          io.stdout('\n');
          return true;
        },
      });
      const counts = { add: 0, change: 0, destroy: 0, import: 0 };
      for (const a of result.applied) {
        if (a.action === 'create') counts.add++;
        if (a.action === 'update') counts.change++;
        if (a.action === 'delete') counts.destroy++;
        if (a.action === 'replace') { counts.add++; counts.destroy++; }
        if (a.action === 'import') counts.import++;
      }
      if (command === 'destroy') io.stdout(`\nDestroy complete! Resources: ${counts.destroy} destroyed.\n`);
      else if (command === 'refresh' || result.plan.mode === 'refresh-only') io.stdout('\nThe state now records what is in Coffer.\n');
      else io.stdout(`\nApply complete! Resources: ${counts.import ? `${counts.import} imported, ` : ''}${counts.add} added, ${counts.change} changed, ${counts.destroy} destroyed.\n`);
      printOutputs(result.outputs, io, json);
      return 0;
    }
    case 'import': {
      expectWords(2, 'import ADDR ID');
      const { id } = await importResource(options, words[0]!, words[1]!);
      io.stdout(`${words[0]}: Import complete [id=${id}]\n\nImport successful! The resource is now managed by Coffer IaC.\n`);
      return 0;
    }
    case 'show': {
      if (words[0]) {
        const plan = await readPlanFile(resolve(dir, words[0]));
        io.stdout(json ? JSON.stringify(planJson(plan)) + '\n' : renderPlan(plan));
        return 0;
      }
      const state = await readStateOnly(options);
      if (json) io.stdout(JSON.stringify(maskState(state)) + '\n');
      else io.stdout(instances(state).map((i) => showInstance(i.address, i.type, i.name, i.attributes)).join('\n') || 'The state is empty: nothing is managed yet.\n');
      if (!json && Object.keys(state.outputs).length) { io.stdout('\nOutputs:\n\n'); printOutputs(state.outputs as Plan['outputs'], io, false, true); }
      return 0;
    }
    case 'output': {
      const state = await readStateOnly(options);
      if (words[0]) {
        const o = state.outputs[words[0]];
        if (!o) throw new IacError(`no output "${words[0]}" in the state (apply first?)`);
        io.stdout(bool('raw') && typeof o.value !== 'object' ? `${String(o.value)}` : json ? JSON.stringify(o.value) + '\n' : hclValue(o.value) + '\n');
        return 0;
      }
      if (json) io.stdout(JSON.stringify(Object.fromEntries(Object.entries(state.outputs).map(([k, o]) => [k, { sensitive: o.sensitive, value: o.value }]))) + '\n');
      else printOutputs(state.outputs as Plan['outputs'], io, false, true);
      return 0;
    }
    case 'state':
      return stateCommand(words, options, io, json);
    case 'generate': {
      if (!bool('account') || words.length) throw new IacError('usage: coffer iac generate -account [-out=FILE]');
      const path = resolve(dir, one('out') ?? 'account.tf');
      if (await access(path).then(() => true, () => false)) throw new IacError(`${path} exists already: generate writes a new file`);
      const session = await openSession(options);
      const { text, count } = await generateAccount(session.client, io.signal);
      await writeFile(path, text);
      io.stdout(`Wrote ${count} resource blocks and their import blocks to ${path}.\nRun coffer iac plan to see the imports, then coffer iac apply.\n`);
      return 0;
    }
    case 'force-unlock': {
      expectWords(1, 'force-unlock LOCK_ID');
      const session = await openSession(options);
      await session.backend.forceUnlock(words[0]!);
      io.stdout('Coffer IaC state has been successfully unlocked!\n');
      return 0;
    }
    default:
      throw new IacError(`unknown command "${command}"\n\n${IAC_USAGE}`);
  }
}

function printOutputs(outputs: Plan['outputs'], io: IacIo, json: boolean, bare = false): void {
  const entries = Object.entries(outputs);
  if (!entries.length || json) return;
  if (!bare) io.stdout('\nOutputs:\n\n');
  for (const [k, o] of entries) io.stdout(`${k} = ${o.sensitive ? '<sensitive>' : hclValue(o.value)}\n`);
}

async function readStateOnly(options: PlanOptions): Promise<State> {
  const session = await openSession(options);
  return session.state;
}

function maskState(state: State): State {
  const copy = structuredClone(state);
  for (const r of copy.resources) {
    const specs = resourceType(r.type)?.attributes ?? {};
    for (const i of r.instances) for (const k of Object.keys(i.attributes)) if (specs[k]?.sensitive && i.attributes[k] !== null) i.attributes[k] = '(sensitive value)';
  }
  for (const o of Object.values(copy.outputs)) if (o.sensitive) o.value = '(sensitive value)';
  return copy;
}

function showInstance(address: string, type: string, name: string, attributes: Record<string, unknown>): string {
  const specs = resourceType(type)?.attributes ?? {};
  const keys = Object.keys(attributes);
  const width = Math.max(0, ...keys.map((k) => k.length));
  const lines = keys.map((k) => `    ${k.padEnd(width)} = ${specs[k]?.sensitive && attributes[k] !== null ? '(sensitive value)' : hclValue(attributes[k], 4)}`);
  return `# ${address}:\nresource "${type}" "${name}" {\n${lines.join('\n')}\n}\n`;
}

async function stateCommand(words: string[], options: PlanOptions, io: IacIo, json: boolean): Promise<number> {
  const [sub, ...args] = words;
  switch (sub) {
    case 'list': {
      const state = await readStateOnly(options);
      const all = instances(state).map((i) => i.address);
      const chosen = args.length ? all.filter((a) => args.some((x) => a === x || a.startsWith(`${x}[`) || a.startsWith(`${x}.`))) : all;
      io.stdout(json ? JSON.stringify(chosen) + '\n' : chosen.map((a) => `${a}\n`).join(''));
      return 0;
    }
    case 'show': {
      if (args.length !== 1) throw new IacError('usage: coffer iac state show ADDR');
      const state = await readStateOnly(options);
      const inst = findInstance(state, args[0]!);
      if (!inst) throw new IacError(`no instance ${args[0]} in the state`);
      io.stdout(json ? JSON.stringify(maskState({ ...state, resources: state.resources.filter((r) => r.type === inst.type && r.name === inst.name) }).resources[0]) + '\n' : showInstance(inst.address, inst.type, inst.name, inst.attributes));
      return 0;
    }
    case 'rm':
    case 'mv': {
      if (sub === 'rm' ? !args.length : args.length !== 2) throw new IacError(sub === 'rm' ? 'usage: coffer iac state rm ADDR…' : 'usage: coffer iac state mv SOURCE DESTINATION');
      return withLock(options, `state ${sub}`, async (s) => {
        if (sub === 'rm') {
          for (const a of args) {
            if (!findInstance(s.state, a)) throw new IacError(`no instance ${a} in the state`);
            setInstance(s.state, a, null);
          }
        } else {
          const [from, to] = args as [string, string];
          const inst = findInstance(s.state, from);
          if (!inst) throw new IacError(`no instance ${from} in the state`);
          if (findInstance(s.state, to)) throw new IacError(`${to} is already in the state`);
          const toType = to.split('.')[0];
          if (toType !== inst.type) throw new IacError(`cannot move a ${inst.type} to a ${toType ?? '?'} address`);
          setInstance(s.state, from, null);
          setInstance(s.state, to, { schema_version: inst.schema_version, attributes: inst.attributes, dependencies: inst.dependencies });
        }
        s.state.serial += 1;
        await s.backend.write(s.state, s.stateVersion);
        io.stdout(sub === 'rm' ? `Removed ${args.join(', ')} from the state (the objects in Coffer are untouched).\n` : `Moved ${args[0]} to ${args[1]}.\n`);
        return 0;
      });
    }
    default:
      throw new IacError('usage: coffer iac state list | show ADDR | rm ADDR… | mv SOURCE DESTINATION');
  }
}

/** Checks the configuration without the API: syntax, references, types and attribute names. */
export async function validate(dir: string): Promise<void> {
  const config = await loadConfig(dir);
  await buildGraph(config);
  const { locate } = await import('./config.ts');
  for (const b of config.resources) {
    const kind = b.mode === 'managed' ? 'resource' : 'data';
    const specs = b.mode === 'managed' ? resourceType(b.type)?.attributes : dataSourceType(b.type)?.attributes;
    if (!specs) throw new IacError(`there is no ${b.mode === 'managed' ? 'resource' : 'data source'} type ${b.type}`, locate(config, b.file, [kind, b.type, b.name]));
    for (const attr of Object.keys(b.body)) {
      const spec = specs[attr];
      if (!spec) throw new IacError(`${b.type} has no argument "${attr}"`, locate(config, b.file, [kind, b.type, b.name], attr));
      if (isComputedOnly(spec)) throw new IacError(`"${attr}" of ${b.type} is set by Coffer and cannot be configured`, locate(config, b.file, [kind, b.type, b.name], attr));
    }
    for (const [attr, spec] of Object.entries(specs)) {
      if (spec.required && !(attr in b.body)) throw new IacError(`${b.type} needs the argument "${attr}"`, locate(config, b.file, [kind, b.type, b.name]));
    }
    if (b.mode === 'managed') {
      const ignore = b.lifecycle.ignoreChanges;
      for (const a of ignore === 'all' ? [] : ignore) if (!specs[a]) throw new IacError(`lifecycle.ignore_changes names "${a}", which ${b.type} does not have`, locate(config, b.file, [kind, b.type, b.name], 'lifecycle'));
    }
  }
}

async function fmt(dir: string, words: string[], check: boolean, diff: boolean, io: IacIo): Promise<number> {
  const targets = words.length ? words.map((w) => resolve(dir, w)) : (await readdir(dir)).filter((n) => n.endsWith('.tf') || n.endsWith('.tfvars')).sort().map((n) => join(dir, n));
  let unformatted = 0;
  for (const path of targets) {
    const text = await readFile(path, 'utf8');
    const formatted = formatHcl(text);
    if (formatted === text) continue;
    unformatted++;
    io.stdout(`${path.startsWith(resolve(dir)) ? path.slice(resolve(dir).length + 1) : path}\n`);
    if (diff) io.stdout(lineDiff(text, formatted));
    if (!check) await writeFile(path, formatted);
  }
  return check && unformatted ? 3 : 0;
}

function lineDiff(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  const out: string[] = [];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) {
      if (x[i] !== undefined) out.push(`-${x[i]}`);
      if (y[i] !== undefined) out.push(`+${y[i]}`);
    }
  }
  return out.join('\n') + '\n';
}
