// Planning: load the configuration, refresh every object in state from the API, evaluate the
// configuration in dependency order and diff what it wants against what is real.
import { writeFile, access } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { Coffer } from '../client.ts';
import type { Attributes, AttributeSpec, ResourceType, StateBackend } from './types.ts';
import { loadConfig, locate, type Block, type Config } from './config.ts';
import { IacError } from './errors.ts';
import { evaluate, type Scope } from './expr.ts';
import { blockDeps, buildGraph, type Graph } from './graph.ts';
import { generateResourceHcl } from './hcl-write.ts';
import { isComputedOnly } from './spec.ts';
import { dataSourceType, resourceType } from './resources/index.ts';
import { emptyState, findInstance, instanceAddress, instances, parseAddress, readState, setInstance, type IndexKey, type State } from './state.ts';
import { UNKNOWN, equal, hasUnknown, isObject, isUnknown, typeName, type Val } from './values.ts';
import { resolveVariables, type VarSource } from './variables.ts';
import { LocalBackend } from './backends/local.ts';
import { BACKENDS } from './backends/index.ts';

export type Action = 'create' | 'update' | 'replace' | 'delete' | 'read' | 'noop';

export interface Change {
  address: string;
  /** `coffer_tag.t` (without the instance key) or `data.coffer_regions.all` */
  block: string;
  mode: 'managed' | 'data';
  type: string;
  name: string;
  key?: IndexKey;
  action: Action;
  /** Adopt this existing object (an `import` block) before the action. */
  importId?: string;
  id?: string;
  etag?: string;
  before: Attributes | null;
  /** Planned attributes; UNKNOWN where only apply will know; write-only arguments left out. */
  after: Record<string, Val> | null;
  /** Attributes whose change forces replacement. */
  replacePaths: string[];
  createBeforeDestroy: boolean;
  /** Resources and data sources (block addresses) this one depends on. */
  dependsOn: string[];
  idempotencyKey?: string;
  /** Why a delete or create happens when it is not a configuration change. */
  reason?: string;
}

export interface Drift {
  address: string;
  type: string;
  deleted: boolean;
  before: Attributes;
  after: Attributes | null;
}

export interface Plan {
  /** `plan`, `destroy` or `refresh-only` */
  mode: 'normal' | 'destroy' | 'refresh-only';
  lineage: string;
  /** The serial of the state the plan was made from (0: no state yet). */
  serial: number;
  stateExisted: boolean;
  variables: Record<string, Val>;
  changes: Change[];
  drift: Drift[];
  /** The state as refreshed (what apply starts from). */
  refreshed: State;
  outputs: Record<string, { value: Val; sensitive: boolean }>;
  targets: string[];
  errors: string[];
  /** What data sources read while planning (address → attributes), for apply to evaluate with. */
  data: Record<string, Val>;
}

export type ClientFactory = (provider: { api_url?: string; api_key?: string; account?: string }) => Coffer | Promise<Coffer>;

export interface PlanOptions {
  /** The configuration directory (default: the current directory). */
  dir?: string;
  /** Variable values, as -var and -var-file give them (later wins), or an object. */
  vars?: VarSource[] | Record<string, string | number | boolean | null | object>;
  /** Where COFFER_VAR_name values come from (default process.env). */
  env?: Record<string, string | undefined>;
  /** The state backend (default: coffer.tfstate in dir). */
  backend?: StateBackend;
  /** A client, or how to make one from the provider block (api_url, api_key, account). */
  client?: Coffer | ClientFactory;
  targets?: string[];
  destroy?: boolean;
  refreshOnly?: boolean;
  /** Skip reading objects from the API (`-refresh=false`). */
  refresh?: boolean;
  /** Write HCL for `import` blocks without a resource block into this file (`-generate-config-out`). */
  generateConfigOut?: string;
  parallelism?: number;
  signal?: AbortSignal;
  /** Variable values from a saved plan, used where nothing else sets them. */
  savedVariables?: Record<string, Val>;
}

export interface Session {
  config: Config;
  graph: Graph;
  backend: StateBackend;
  client: Coffer;
  /** The backend's version token of the state read (null: none stored yet). */
  stateVersion: string | null;
  state: State;
}

const DEFAULT_PARALLELISM = 4;


/** Runs `fn` over items, at most `limit` at a time. */
export async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}

/** Reads the configuration, state and provider: what plan, apply and the state commands share. */
export async function openSession(options: PlanOptions, variables?: Record<string, Val>): Promise<Session & { variables: Record<string, Val> }> {
  const dir = options.dir ?? '.';
  const config = await loadConfig(dir);
  const graph = await buildGraph(config);
  const vars = variables ?? (await resolveVariables(config, varSources(options.vars), options.env ?? process.env, options.savedVariables));
  const client = await makeClient(config, vars, options.client);
  const backend = options.backend ?? (await backendOf(config, vars, client));
  const stored = await backend.read();
  const state = stored ? readState(stored.state) : emptyState();
  return { config, graph, backend, client, stateVersion: stored?.version ?? null, state, variables: vars };
}

async function backendOf(config: Config, vars: Record<string, Val>, client: Coffer): Promise<StateBackend> {
  if (!config.backend) return new LocalBackend(join(config.dir, 'coffer.tfstate'));
  const { type, body, file } = config.backend;
  const factory = BACKENDS[type];
  const pos = locate(config, file, ['backend', type]);
  if (!factory) throw new IacError(`unknown backend "${type}" (one of: ${Object.keys(BACKENDS).join(', ')})`, pos);
  const args = await evaluate(body, { dir: config.dir, root: (n) => (n === 'var' ? vars : undefined) }, file).catch((e: Error) => { throw new IacError(e.message, pos); });
  return factory(args as Record<string, unknown>, { dir: config.dir, client });
}

function varSources(v: PlanOptions['vars']): VarSource[] {
  if (!v) return [];
  if (Array.isArray(v)) return v;
  return Object.entries(v).map(([name, value]) => ({ kind: 'var', name, value: typeof value === 'string' ? value : JSON.stringify(value) }));
}

/** A client that fails, saying why, on first use (not when awaited: `then` is not a method of it). */
function unusable(message: string): Coffer {
  return new Proxy({}, { get: (_t, key) => { if (key === 'then') return undefined; throw new IacError(message); } }) as Coffer;
}

async function makeClient(config: Config, vars: Record<string, Val>, given: PlanOptions['client']): Promise<Coffer> {
  const provider: Record<string, string> = {};
  if (config.provider) {
    const scope: Scope = { dir: config.dir, root: (n) => (n === 'var' ? vars : undefined) };
    for (const [k, v] of Object.entries(config.provider.body)) {
      if (!['api_url', 'api_key', 'account'].includes(k)) throw new IacError(`unsupported argument "${k}" in provider "coffer" (api_url, api_key, account)`, locate(config, config.provider.file, ['provider', 'coffer'], k));
      const value = await evaluate(v, scope, config.provider.file).catch((err: Error) => { throw new IacError(err.message, locate(config, config.provider!.file, ['provider', 'coffer'], k)); });
      if (typeof value === 'string' && value) provider[k] = value;
    }
  }
  if (given && typeof given !== 'function') return given;
  if (given) {
    try {
      return await given(provider);
    } catch (err) {
      // No credentials anywhere: commands that need no API call (state list, show) still work.
      const message = (err as Error).message;
      return unusable(message);
    }
  }
  const baseUrl = provider.api_url ?? process.env.COFFER_API_URL;
  const apiKey = provider.api_key ?? process.env.COFFER_API_KEY;
  if (!baseUrl || !apiKey) {
    // Commands that only read the local state work without credentials; the first API call says what is missing.
    return unusable('the provider "coffer" needs api_url and api_key (or COFFER_API_URL and COFFER_API_KEY)');
  }
  const { Coffer } = await import('../client.ts');
  const account = provider.account ?? process.env.COFFER_ACCOUNT;
  return new Coffer({ baseUrl, apiKey, ...(account ? { account } : {}), userAgent: 'coffer-iac/0.1' });
}

/** The evaluation context: every value known so far, by address. */
export class Evaluator {
  readonly config: Config;
  readonly variables: Record<string, Val>;
  readonly locals: Record<string, Val> = {};
  /** Instance address → attributes (managed resources), or result (data sources, by block address + key). */
  readonly values = new Map<string, Record<string, Val> | typeof UNKNOWN>();
  /** Block address → how it expanded. */
  readonly expansions = new Map<string, { kind: 'single' | 'count' | 'for_each'; keys: IndexKey[]; each: Map<IndexKey, Val> }>();

  constructor(config: Config, variables: Record<string, Val>) {
    this.config = config;
    this.variables = variables;
  }

  scope(extra: Record<string, Val> = {}): Scope {
    return {
      dir: this.config.dir,
      root: (name) => {
        if (name in extra) return extra[name];
        if (name === 'var') return this.variables;
        if (name === 'local') return this.locals;
        if (name === 'path') return { module: this.config.dir, root: this.config.dir, cwd: process.cwd() };
        if (name === 'data') {
          const out: Record<string, Record<string, Val>> = {};
          for (const b of this.config.resources) if (b.mode === 'data') (out[b.type] ??= {})[b.name] = this.blockValue(b);
          return out;
        }
        const blocks = this.config.resources.filter((b) => b.mode === 'managed' && b.type === name);
        if (!blocks.length) return resourceType(name) ? {} : undefined;
        return Object.fromEntries(blocks.map((b) => [b.name, this.blockValue(b)]));
      },
    };
  }

  blockValue(b: Block): Val {
    const exp = this.expansions.get(b.address);
    if (!exp) return UNKNOWN;
    const one = (key: IndexKey | undefined) => {
      const v = this.values.get(b.mode === 'managed' ? instanceAddress(b.type, b.name, key) : `${b.address}${key === undefined ? '' : `[${JSON.stringify(key)}]`}`);
      return v === undefined ? UNKNOWN : v;
    };
    if (exp.kind === 'single') return one(undefined);
    if (exp.kind === 'count') return exp.keys.map((k) => one(k));
    return Object.fromEntries(exp.keys.map((k) => [String(k), one(k)]));
  }

  where(b: Block, attr?: string) {
    return locate(this.config, b.file, [b.mode === 'managed' ? 'resource' : 'data', b.type, b.name], attr);
  }

  /** Expands count / for_each into instance keys (they must be known when planning). */
  async expand(b: Block): Promise<void> {
    const scope = this.scope();
    if (b.count !== undefined) {
      const n = await evaluate(b.count, scope, b.file).catch((e: Error) => { throw new IacError(e.message, this.where(b, 'count')); });
      if (isUnknown(n)) throw new IacError('the "count" value depends on attributes known only after apply; base it on variables, locals or data sources', this.where(b, 'count'));
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new IacError(`"count" must be a whole number ≥ 0, not ${JSON.stringify(n)}`, this.where(b, 'count'));
      this.expansions.set(b.address, { kind: 'count', keys: Array.from({ length: n }, (_, i) => i), each: new Map() });
    } else if (b.forEach !== undefined) {
      const v = await evaluate(b.forEach, scope, b.file).catch((e: Error) => { throw new IacError(e.message, this.where(b, 'for_each')); });
      if (hasUnknown(v)) throw new IacError('the "for_each" value depends on attributes known only after apply; base it on variables, locals or data sources', this.where(b, 'for_each'));
      const each = new Map<IndexKey, Val>();
      if (Array.isArray(v)) {
        for (const item of v) {
          if (typeof item !== 'string') throw new IacError(`"for_each" takes a map or a set of strings; this set holds a ${typeName(item)}`, this.where(b, 'for_each'));
          each.set(item, item);
        }
      } else if (isObject(v)) for (const [k, x] of Object.entries(v)) each.set(k, x);
      else throw new IacError(`"for_each" takes a map or a set of strings, not a ${typeName(v)}`, this.where(b, 'for_each'));
      this.expansions.set(b.address, { kind: 'for_each', keys: [...each.keys()].sort(), each });
    } else this.expansions.set(b.address, { kind: 'single', keys: [undefined as unknown as IndexKey], each: new Map() });
  }

  keys(b: Block): (IndexKey | undefined)[] {
    const exp = this.expansions.get(b.address)!;
    return exp.kind === 'single' ? [undefined] : exp.keys;
  }

  /** The block's arguments for one instance, checked against the type's attributes. */
  async arguments(b: Block, key: IndexKey | undefined, specs: Record<string, AttributeSpec>): Promise<Record<string, Val>> {
    const exp = this.expansions.get(b.address)!;
    const extra: Record<string, Val> = {};
    if (exp.kind === 'count') extra.count = { index: key as number };
    if (exp.kind === 'for_each') extra.each = { key: key as string, value: exp.each.get(key as IndexKey)! };
    const scope = this.scope(extra);
    const out: Record<string, Val> = {};
    for (const [attr, raw] of Object.entries(b.body)) {
      const spec = specs[attr];
      if (!spec) throw new IacError(`${b.type} has no argument "${attr}" (it has: ${Object.keys(specs).filter((a) => !isComputedOnly(specs[a]!)).join(', ')})`, this.where(b, attr));
      if (isComputedOnly(spec)) throw new IacError(`"${attr}" of ${b.type} is set by Coffer and cannot be configured`, this.where(b, attr));
      const value = await evaluate(raw, scope, b.file).catch((e: Error) => { throw new IacError(e.message, this.where(b, attr)); });
      out[attr] = checkType(value, spec, () => this.where(b, attr), attr);
    }
    for (const [attr, spec] of Object.entries(specs)) {
      if (spec.required && (out[attr] === undefined || out[attr] === null)) throw new IacError(`${b.type} needs the argument "${attr}"`, this.where(b));
    }
    return out;
  }

  async evalLocal(name: string): Promise<void> {
    const l = this.config.locals.get(name)!;
    this.locals[name] = await evaluate(l.value, this.scope(), l.file).catch((e: Error) => { throw new IacError(e.message, locate(this.config, l.file, ['locals'], name)); });
  }

  async evalOutput(name: string): Promise<Val> {
    const o = this.config.outputs.get(name)!;
    return evaluate(o.value, this.scope(), o.file).catch((e: Error) => { throw new IacError(e.message, locate(this.config, o.file, ['output', name], 'value')); });
  }
}

function checkType(value: Val, spec: AttributeSpec, where: () => ReturnType<Evaluator['where']>, attr: string): Val {
  if (value === null || hasUnknown(value)) return value;
  const bad = () => new IacError(`"${attr}" must be a ${spec.type}, not a ${typeName(value)}`, where());
  switch (spec.type) {
    case 'string':
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      if (typeof value !== 'string') throw bad();
      return value;
    case 'number':
      if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
      if (typeof value !== 'number') throw bad();
      return value;
    case 'bool':
      if (value === 'true' || value === 'false') return value === 'true';
      if (typeof value !== 'boolean') throw bad();
      return value;
    case 'list(string)':
    case 'set(string)': {
      if (!Array.isArray(value)) throw bad();
      const items = value.map((v) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v));
      if (items.some((v) => typeof v !== 'string' && !isUnknown(v))) throw bad();
      return spec.type === 'set(string)' ? [...new Set(items as string[])].sort() : items;
    }
    case 'map(string)':
    case 'object':
      if (!isObject(value)) throw bad();
      return value;
    case 'list(object)':
      if (!Array.isArray(value)) throw bad();
      return value;
  }
}

/** Equal as the attribute's type compares (a set ignores order). */
export function sameValue(spec: AttributeSpec | undefined, a: unknown, b: unknown): boolean {
  if (spec?.type === 'set(string)' && Array.isArray(a) && Array.isArray(b)) return equal([...a].sort(), [...b].sort());
  if ((a === undefined || a === null) && (b === undefined || b === null)) return true;
  return equal(a, b);
}

/** The desired attributes of an instance, and how it differs from `prior`. */
export function diff(type: ResourceType, args: Record<string, Val>, prior: Attributes | null, ignore: string[] | 'all') {
  const desired: Record<string, Val> = {};
  const changed: string[] = [];
  const replace: string[] = [];
  for (const [attr, spec] of Object.entries(type.attributes)) {
    if (isComputedOnly(spec)) {
      desired[attr] = prior ? (prior[attr] ?? null) : UNKNOWN;
      continue;
    }
    const set = args[attr] !== undefined && args[attr] !== null;
    let value: Val = set ? args[attr]! : spec.default !== undefined ? spec.default : spec.computed ? (prior ? (prior[attr] ?? null) : UNKNOWN) : null;
    if (prior && !spec.writeOnly && (ignore === 'all' || ignore.includes(attr))) value = prior[attr] ?? null;
    // An argument the state never held (the API does not report it, and the object was imported) takes the configuration's value without a change.
    if (prior && !(attr in prior) && !spec.writeOnly) {
      desired[attr] = value;
      continue;
    }
    desired[attr] = value;
    if (spec.writeOnly || !prior) continue;
    if (!sameValue(spec, value, prior[attr])) {
      changed.push(attr);
      if (spec.forcesReplacement) replace.push(attr);
    }
  }
  return { desired, changed, replace };
}

/** Planned attributes without write-only values (they are never stored or shown). */
export function withoutWriteOnly(type: ResourceType, attrs: Record<string, Val>): Record<string, Val> {
  return Object.fromEntries(Object.entries(attrs).filter(([k]) => !type.attributes[k]?.writeOnly));
}

function idempotencyKeyFor(state: State, address: string): string {
  return state.pending_creates.find((p) => p.address === address)?.idempotency_key ?? `iac-${globalThis.crypto.randomUUID()}`;
}

/** Reads every object in state from the API; objects deleted outside the tool leave the state. */
async function refresh(session: Session, options: PlanOptions): Promise<{ refreshed: State; drift: Drift[]; etags: Map<string, string> }> {
  const refreshed: State = structuredClone(session.state);
  const drift: Drift[] = [];
  const etags = new Map<string, string>();
  if (options.refresh === false) return { refreshed, drift, etags };
  await pool(instances(session.state), options.parallelism ?? DEFAULT_PARALLELISM, async (inst) => {
    const type = resourceType(inst.type);
    if (!type) throw new IacError(`the state holds ${inst.address} of type ${inst.type}, which this tool does not know: upgrade @coffer/sdk`);
    const id = String(inst.attributes.id);
    const remote = await type.read({ client: session.client, idempotencyKey: '', ...(options.signal ? { signal: options.signal } : {}) }, id, inst.attributes);
    if (!remote) {
      setInstance(refreshed, inst.address, null);
      drift.push({ address: inst.address, type: inst.type, deleted: true, before: inst.attributes, after: null });
      return;
    }
    // Arguments the API does not report (a `_version` beside a write-only value, wait_for_connection) keep their stored value.
    const attributes: Attributes = { ...remote.attributes };
    for (const [k, spec] of Object.entries(type.attributes)) if (!(k in attributes) && !spec.writeOnly && k in inst.attributes) attributes[k] = inst.attributes[k]!;
    if (remote.etag) etags.set(inst.address, remote.etag);
    // Noted as drift: what configuration could set (a count Coffer keeps, such as entity_count, is not news).
    if (Object.entries(type.attributes).some(([k, spec]) => !isComputedOnly(spec) && !spec.writeOnly && k in inst.attributes && !sameValue(spec, attributes[k], inst.attributes[k]))) {
      drift.push({ address: inst.address, type: inst.type, deleted: false, before: inst.attributes, after: attributes });
    }
    setInstance(refreshed, inst.address, { schema_version: inst.schema_version, attributes, dependencies: inst.dependencies });
  });
  drift.sort((a, b) => (a.address < b.address ? -1 : 1));
  return { refreshed, drift, etags };
}

/** Makes a plan. The caller holds the state lock when it means to apply it. */
export async function makePlan(options: PlanOptions, held?: Session & { variables: Record<string, Val> }): Promise<Plan> {
  let session = held ?? (await openSession(options));
  const { refreshed, drift, etags } = await refresh(session, options);
  const mode: Plan['mode'] = options.destroy ? 'destroy' : options.refreshOnly ? 'refresh-only' : 'normal';
  const plan: Plan = {
    mode, lineage: session.state.lineage, serial: session.state.serial, stateExisted: session.stateVersion !== null,
    variables: session.variables, changes: [], drift, refreshed, outputs: {}, targets: options.targets ?? [], errors: [], data: {},
  };

  // import blocks: adopt existing objects at addresses the state does not hold yet.
  const imported = new Map<string, { id: string; attributes: Attributes; etag?: string }>();
  if (mode === 'normal') {
    const ev = new Evaluator(session.config, session.variables);
    const missing: { to: string; id: string; attributes: Attributes }[] = [];
    for (const imp of session.config.imports) {
      if (findInstance(refreshed, imp.to)) continue;
      const { type: typeName_ } = parseAddress(imp.to);
      const type = resourceType(typeName_);
      const pos = locate(session.config, imp.file, ['import'], 'to');
      if (!type) throw new IacError(`cannot import into ${imp.to}: there is no resource type ${typeName_}`, pos);
      const id = await evaluate(imp.id, ev.scope(), imp.file);
      if (typeof id !== 'string') throw new IacError('the "id" of an import block must be a known string', locate(session.config, imp.file, ['import'], 'id'));
      const ctx = { client: session.client, idempotencyKey: '', ...(options.signal ? { signal: options.signal } : {}) };
      const realId = type.importId ? await type.importId(ctx, id) : id;
      const remote = await type.read(ctx, realId);
      if (!remote) throw new IacError(`cannot import ${imp.to}: ${typeName_} "${id}" does not exist`, pos);
      imported.set(imp.to, { id: remote.id, attributes: remote.attributes, ...(remote.etag ? { etag: remote.etag } : {}) });
      const blockAddr = imp.to.replace(/\[.*\]$/, '');
      if (!session.config.resources.some((b) => b.address === blockAddr)) missing.push({ to: imp.to, id, attributes: remote.attributes });
    }
    if (missing.length) {
      if (!options.generateConfigOut) {
        throw new IacError(`no resource block for ${missing.map((m) => m.to).join(', ')}: write one, or let plan write it with -generate-config-out=FILE`);
      }
      const path = isAbsolute(options.generateConfigOut) ? options.generateConfigOut : join(session.config.dir, options.generateConfigOut);
      if (await access(path).then(() => true, () => false)) throw new IacError(`${options.generateConfigOut} exists already: -generate-config-out writes a new file`);
      const text = missing.map((m) => generateResourceHcl(m.to, m.id, m.attributes)).join('\n');
      await writeFile(path, `# Written by coffer iac plan -generate-config-out for the import blocks: review it, then keep it.\n\n${text}`);
      session = { ...(await openSession(options, session.variables)), state: session.state, stateVersion: session.stateVersion };
    }
  }

  const ev = new Evaluator(session.config, session.variables);
  // Start from the refreshed state: references to objects that will not change resolve to real values.
  for (const inst of instances(refreshed)) ev.values.set(inst.address, inst.attributes as Record<string, Val>);
  const inConfig = new Set<string>();

  for (const id of session.graph.order) {
    const node = session.graph.nodes.get(id)!;
    if (node.kind === 'local') await ev.evalLocal(id.slice('local.'.length));
    if (node.kind !== 'resource') continue;
    const b = node.block!;
    await ev.expand(b);
    const deps = blockDeps(session.graph, id);
    if (b.mode === 'data') {
      const type = dataSourceType(b.type);
      if (!type) throw new IacError(`there is no data source type ${b.type}`, ev.where(b));
      for (const key of ev.keys(b)) {
        const args = await ev.arguments(b, key, Object.fromEntries(Object.entries(type.attributes).map(([k, s]) => [k, s])));
        const address = `${b.address}${key === undefined ? '' : `[${JSON.stringify(key)}]`}`;
        if (hasUnknown(args) || mode === 'destroy') {
          ev.values.set(address, UNKNOWN);
          if (mode === 'normal') plan.changes.push({ address, block: b.address, mode: 'data', type: b.type, name: b.name, ...(key !== undefined ? { key } : {}), action: 'read', before: null, after: args, replacePaths: [], createBeforeDestroy: false, dependsOn: deps });
        } else {
          const result = await type.read({ client: session.client, ...(options.signal ? { signal: options.signal } : {}) }, args as Attributes).catch((e: Error) => { throw new IacError(`reading ${address}: ${e.message}`, ev.where(b)); });
          ev.values.set(address, { ...args, ...result } as Record<string, Val>);
          plan.data[address] = { ...args, ...result } as Record<string, Val>;
        }
      }
      continue;
    }
    const type = resourceType(b.type);
    if (!type) throw new IacError(`there is no resource type ${b.type}`, ev.where(b));
    for (const key of ev.keys(b)) {
      const address = instanceAddress(b.type, b.name, key);
      inConfig.add(address);
      if (mode !== 'normal') continue;
      const args = await ev.arguments(b, key, type.attributes);
      const inState = findInstance(refreshed, address);
      const imp = imported.get(address);
      const prior = inState?.attributes ?? imp?.attributes ?? null;
      const { desired, changed, replace } = diff(type, args, prior, b.lifecycle.ignoreChanges);
      const base = {
        address, block: b.address, mode: 'managed' as const, type: b.type, name: b.name, ...(key !== undefined ? { key } : {}),
        ...(imp ? { importId: imp.id } : {}), before: prior, createBeforeDestroy: b.lifecycle.createBeforeDestroy, dependsOn: deps,
      };
      const etag = imp?.etag ?? etags.get(address);
      if (!prior) {
        const after = { ...desired };
        plan.changes.push({ ...base, action: 'create', after: withoutWriteOnly(type, after), replacePaths: [], idempotencyKey: idempotencyKeyFor(refreshed, address), ...(drift.some((d) => d.address === address && d.deleted) ? { reason: 'deleted outside Coffer IaC' } : {}) });
        ev.values.set(address, after);
      } else if (replace.length || (changed.length && !type.update)) {
        if (b.lifecycle.preventDestroy) throw new IacError(`${address} has lifecycle.prevent_destroy set, but the plan would replace it (${replace.join(', ') || changed.join(', ')} changed)`, ev.where(b));
        const after: Record<string, Val> = { ...desired };
        for (const [k, s] of Object.entries(type.attributes)) if (isComputedOnly(s)) after[k] = UNKNOWN;
        plan.changes.push({ ...base, id: String(prior.id), action: 'replace', after: withoutWriteOnly(type, after), replacePaths: replace.length ? replace : changed, idempotencyKey: idempotencyKeyFor(refreshed, address), ...(etag ? { etag } : {}) });
        ev.values.set(address, after);
      } else {
        plan.changes.push({ ...base, id: String(prior.id), action: changed.length ? 'update' : 'noop', after: withoutWriteOnly(type, desired), replacePaths: [], ...(etag ? { etag } : {}) });
        ev.values.set(address, desired);
      }
    }
  }

  // Objects in state that the configuration no longer has (or everything, for destroy).
  const config = session.config;
  for (const inst of instances(refreshed)) {
    if (mode === 'refresh-only') break;
    if (mode === 'normal' && inConfig.has(inst.address)) continue;
    const blockAddr = `${inst.type}.${inst.name}`;
    const b = config.resources.find((r) => r.address === blockAddr);
    if (b?.lifecycle.preventDestroy) throw new IacError(`${inst.address} has lifecycle.prevent_destroy set, but the plan would destroy it`, ev.where(b));
    const etag = etags.get(inst.address);
    plan.changes.push({
      address: inst.address, block: blockAddr, mode: 'managed', type: inst.type, name: inst.name, ...(inst.index_key !== undefined ? { key: inst.index_key } : {}),
      action: 'delete', id: String(inst.attributes.id), before: inst.attributes, after: null, replacePaths: [], createBeforeDestroy: false,
      dependsOn: inst.dependencies, ...(etag ? { etag } : {}),
      ...(mode === 'normal' ? { reason: b ? 'its index is no longer in count / for_each' : 'it is no longer in the configuration' } : {}),
    });
  }

  if (options.targets?.length) plan.changes = target(plan.changes, options.targets);
  if (mode !== 'destroy') {
    for (const name of config.outputs.keys()) {
      plan.outputs[name] = { value: await ev.evalOutput(name), sensitive: config.outputs.get(name)!.sensitive };
    }
  }
  plan.changes.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return plan;
}

/** -target: the targeted instances (or blocks) and what they depend on. */
function target(changes: Change[], targets: string[]): Change[] {
  const keep = new Set<string>();
  const want = (c: Change) => targets.some((t) => c.address === t || c.block === t);
  const add = (c: Change) => {
    if (keep.has(c.address)) return;
    keep.add(c.address);
    for (const d of c.dependsOn) for (const x of changes) if (x.block === d && x.action !== 'delete') add(x);
  };
  for (const c of changes) if (want(c)) add(c);
  return changes.filter((c) => keep.has(c.address));
}

export function summary(plan: Plan) {
  const count = (...actions: Action[]) => plan.changes.filter((c) => actions.includes(c.action)).length;
  return {
    import: plan.changes.filter((c) => c.importId).length,
    add: count('create', 'replace'),
    change: count('update'),
    destroy: count('delete', 'replace'),
  };
}

/** Whether applying the plan would change anything (for -detailed-exitcode). */
export function hasChanges(plan: Plan): boolean {
  if (plan.mode === 'refresh-only') return plan.drift.length > 0;
  return plan.changes.some((c) => c.action !== 'noop' || c.importId) || Object.keys(plan.outputs).some((k) => !equal(plan.outputs[k]!.value, plan.refreshed.outputs[k]?.value));
}

