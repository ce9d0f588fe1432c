// Applying a plan: walks the changes in dependency order, several at once (-parallelism), and
// saves the state after every completed change, so that a run failing (or killed) part-way leaves
// a state holding exactly what was done, and the next run converges from there.
import type { Attributes, CallContext, Remote, ResourceType, StateBackend } from './types.ts';
import type { Coffer } from '../client.ts';
import { IacError, StateError } from './errors.ts';
import { Evaluator, openSession, withoutWriteOnly, type Change, type Plan, type PlanOptions, type Session } from './plan.ts';
import { dataSourceType, resourceType } from './resources/index.ts';
import { findInstance, instances, setInstance, type State } from './state.ts';
import { UNKNOWN, hasUnknown, type Val } from './values.ts';

export interface ApplyResult {
  applied: { address: string; action: string }[];
  outputs: Record<string, { value: Val; sensitive: boolean }>;
  state: State;
}

export interface ApplyOptions extends PlanOptions {
  /** Called as each change starts and ends (`coffer_tag.a: Creating...`). */
  log?: (line: string) => void;
}

/** Saves state documents one at a time, each expecting the version the previous one wrote. */
class StateWriter {
  readonly backend: StateBackend;
  version: string | null;
  #chain: Promise<void> = Promise.resolve();
  /** The content last stored (serial aside): an unchanged state is not written again, so its serial does not move. */
  #last: string | null;
  constructor(backend: StateBackend, version: string | null, stored: State | null) {
    this.backend = backend;
    this.version = version;
    this.#last = stored ? JSON.stringify({ ...stored, serial: 0 }) : null;
  }
  save(state: State): Promise<void> {
    const content = JSON.stringify({ ...state, serial: 0 });
    if (content === this.#last) return this.#chain;
    this.#last = content;
    const snapshot = JSON.parse(JSON.stringify({ ...state, serial: state.serial + 1 })) as State;
    state.serial += 1;
    this.#chain = this.#chain.then(async () => {
      this.version = await this.backend.write(snapshot, this.version);
    });
    return this.#chain;
  }
}

/**
 * Applies a plan made by makePlan. `session` is the one the plan was made with (same lock), or
 * null for a saved plan: then the state must not have moved since (serial and lineage).
 */
export async function applyPlan(plan: Plan, options: ApplyOptions, held?: Session & { variables: Record<string, Val> }): Promise<ApplyResult> {
  const session = held ?? (await openSession(options, plan.variables));
  const stored = session.state;
  if (session.stateVersion !== null || plan.stateExisted) {
    if (stored.lineage !== plan.lineage || stored.serial !== plan.serial) {
      throw new StateError(`the saved plan is stale: it was made from state serial ${plan.serial} (lineage ${plan.lineage}), the state is now serial ${stored.serial} (lineage ${stored.lineage}); make a new plan`);
    }
  }
  const log = options.log ?? (() => undefined);
  const state: State = structuredClone(plan.refreshed);
  const writer = new StateWriter(session.backend, session.stateVersion, session.stateVersion === null ? null : stored);
  // Store the refreshed state (and, on a first run, the lineage the Idempotency-Keys belong to).
  await writer.save(state);

  const ev = new Evaluator(session.config, plan.variables);
  for (const inst of instances(state)) ev.values.set(inst.address, inst.attributes as Record<string, Val>);
  for (const [address, value] of Object.entries(plan.data ?? {})) ev.values.set(address, value as Record<string, Val>);
  const byBlock = new Map<string, Change[]>();
  for (const c of plan.changes) byBlock.set(c.block, [...(byBlock.get(c.block) ?? []), c]);
  // Expansions and locals, as planned (they were known then), so re-evaluation sees the same shape.
  for (const id of session.graph.order) {
    const node = session.graph.nodes.get(id)!;
    if (node.kind === 'local') await ev.evalLocal(id.slice(6)).catch(() => undefined);
    if (node.kind === 'resource') await ev.expand(node.block!).catch(() => undefined);
  }
  for (const c of plan.changes) if (c.mode === 'data' || c.action !== 'noop') ev.values.set(c.address, c.after ?? UNKNOWN);

  const done = new Map<string, Promise<void>>();
  const failures: string[] = [];
  const applied: ApplyResult['applied'] = [];
  const ctxFor = (key = ''): CallContext => ({ client: session.client as Coffer, idempotencyKey: key, ...(options.signal ? { signal: options.signal } : {}) });

  const waitFor = (c: Change): Promise<unknown> => {
    const deps: Promise<void>[] = [];
    if (c.action === 'delete') {
      // Destroy in reverse: what depends on this object goes first.
      for (const o of plan.changes) if (o !== c && (o.action === 'delete' || o.action === 'replace') && o.dependsOn.includes(c.block)) deps.push(run(o));
    } else {
      for (const d of c.dependsOn) for (const o of byBlock.get(d) ?? []) if (o.action !== 'delete') deps.push(run(o));
    }
    return Promise.all(deps);
  };

  let stopped = false;
  const run = (c: Change): Promise<void> => {
    let p = done.get(c.address);
    if (!p) {
      p = (async () => {
        await waitFor(c);
        if (stopped) throw new Error('skipped');
        await slots.acquire();
        try {
          if (stopped) throw new Error('skipped');
          await execute(c);
        } finally {
          slots.release();
        }
      })();
      p.catch((err: Error) => {
        if (err.message !== 'skipped') {
          stopped = true;
          failures.push(`${c.address}: ${err.message}`);
        }
      });
      done.set(c.address, p);
    }
    return p;
  };

  const desiredFor = async (c: Change, type: ResourceType): Promise<Record<string, Val>> => {
    const block = session.config.resources.find((b) => b.address === c.block);
    if (!block) throw new IacError(`the configuration has no ${c.block} any more; make a new plan`);
    const args = await ev.arguments(block, c.key, type.attributes);
    const desired: Record<string, Val> = { ...(c.after ?? {}) };
    // What was unknown when planning is known now that the dependencies are applied; what Coffer computes is left to it.
    for (const k of Object.keys(desired)) {
      if (!hasUnknown(desired[k])) continue;
      if (args[k] !== undefined && args[k] !== null) desired[k] = args[k];
      else delete desired[k];
    }
    for (const [k, v] of Object.entries(args)) if (type.attributes[k]?.writeOnly) desired[k] = v;
    const still = Object.keys(desired).filter((k) => hasUnknown(desired[k]));
    if (still.length) throw new IacError(`${c.address}: ${still.join(', ')} still unknown after its dependencies were applied`);
    return desired;
  };

  const record = async (c: Change, type: ResourceType, remote: Remote, desired: Record<string, Val>) => {
    const attributes: Attributes = { ...remote.attributes };
    for (const [k, spec] of Object.entries(type.attributes)) {
      if (!(k in attributes) && !spec.writeOnly && desired[k] !== undefined) attributes[k] = desired[k] as Attributes[string];
    }
    setInstance(state, c.address, { schema_version: type.schemaVersion, attributes: withoutWriteOnly(type, attributes) as Attributes, dependencies: c.dependsOn.filter((d) => !d.startsWith('data.')) });
    ev.values.set(c.address, attributes as Record<string, Val>);
    await writer.save(state);
  };

  const create = async (c: Change, type: ResourceType, desired: Record<string, Val>) => {
    const key = c.idempotencyKey ?? `iac-${globalThis.crypto.randomUUID()}`;
    state.pending_creates = [...state.pending_creates.filter((p) => p.address !== c.address), { address: c.address, idempotency_key: key, started_at: new Date().toISOString() }];
    await writer.save(state);
    let remote: Remote;
    try {
      remote = await type.create(ctxFor(key), desired as Attributes);
    } catch (err) {
      // A refusal (4xx) created nothing: forget the key. Otherwise the outcome is unknown; keep it for the next run.
      const status = (err as { status?: number }).status;
      if (status && status >= 400 && status < 500) {
        state.pending_creates = state.pending_creates.filter((p) => p.address !== c.address);
        await writer.save(state);
      }
      throw err;
    }
    state.pending_creates = state.pending_creates.filter((p) => p.address !== c.address);
    await record(c, type, remote, desired);
  };

  const remove = async (c: Change, type: ResourceType) => {
    const prior = findInstance(state, c.address)?.attributes ?? c.before ?? {};
    await type.delete(ctxFor(), String(c.id ?? prior.id), prior);
    setInstance(state, c.address, null);
    ev.values.delete(c.address);
    await writer.save(state);
  };

  const execute = async (c: Change): Promise<void> => {
    if (c.mode === 'data') {
      const type = dataSourceType(c.type)!;
      const block = session.config.resources.find((b) => b.address === c.block)!;
      const args = await ev.arguments(block, c.key, type.attributes);
      log(`${c.address}: Reading...`);
      ev.values.set(c.address, { ...args, ...(await type.read(ctxFor(), args as Attributes)) } as Record<string, Val>);
      return;
    }
    const type = resourceType(c.type)!;
    const started = Date.now();
    const took = () => `${Math.round((Date.now() - started) / 100) / 10}s`;
    if (c.importId && !findInstance(state, c.address)) {
      log(`${c.address}: Importing... [id=${c.importId}]`);
      setInstance(state, c.address, { schema_version: type.schemaVersion, attributes: c.before ?? {}, dependencies: c.dependsOn });
      await writer.save(state);
      log(`${c.address}: Import complete [id=${c.importId}]`);
      applied.push({ address: c.address, action: 'import' });
    }
    switch (c.action) {
      case 'noop':
        return;
      case 'create': {
        const desired = await desiredFor(c, type);
        log(`${c.address}: Creating...`);
        await create(c, type, desired);
        log(`${c.address}: Creation complete after ${took()} [id=${String(findInstance(state, c.address)?.attributes.id)}]`);
        break;
      }
      case 'update': {
        const desired = await desiredFor(c, type);
        log(`${c.address}: Modifying... [id=${c.id}]`);
        if (!type.update) throw new IacError(`${c.type} cannot be updated in place`);
        const remote = await type.update(ctxFor(), c.id!, desired as Attributes, c.before ?? {}, c.etag);
        await record(c, type, remote, desired);
        log(`${c.address}: Modifications complete after ${took()} [id=${c.id}]`);
        break;
      }
      case 'replace': {
        const desired = await desiredFor(c, type);
        if (c.createBeforeDestroy) {
          log(`${c.address}: Creating replacement...`);
          const old = { ...c, action: 'delete' as const };
          await create(c, type, desired);
          log(`${c.address}: Destroying the previous object... [id=${c.id}]`);
          await type.delete(ctxFor(), c.id!, old.before ?? {});
        } else {
          log(`${c.address}: Destroying... [id=${c.id}]`);
          await remove(c, type);
          log(`${c.address}: Creating...`);
          await create(c, type, desired);
        }
        log(`${c.address}: Replacement complete after ${took()} [id=${String(findInstance(state, c.address)?.attributes.id)}]`);
        break;
      }
      case 'delete':
        log(`${c.address}: Destroying... [id=${c.id}]`);
        await remove(c, type);
        log(`${c.address}: Destruction complete after ${took()}`);
        break;
      default:
        return;
    }
    applied.push({ address: c.address, action: c.action });
  };

  const slots = semaphore(options.parallelism ?? 4);
  if (plan.mode !== 'refresh-only') {
    await Promise.allSettled(plan.changes.map((c) => run(c)));
  }
  const outputs: ApplyResult['outputs'] = {};
  if (!failures.length && plan.mode !== 'destroy') {
    for (const name of session.config.outputs.keys()) outputs[name] = { value: await ev.evalOutput(name), sensitive: session.config.outputs.get(name)!.sensitive };
  }
  if (!failures.length) {
    state.outputs = plan.mode === 'destroy' ? {} : (outputs as State['outputs']);
    await writer.save(state);
  }
  if (failures.length) {
    throw new IacError(`apply failed; the state holds what was done, and the next run continues from there:\n  ${failures.join('\n  ')}`);
  }
  return { applied, outputs, state };
}

function semaphore(n: number) {
  let free = Math.max(1, n);
  const waiting: (() => void)[] = [];
  return {
    acquire: () => new Promise<void>((resolve) => {
      if (free > 0) {
        free -= 1;
        resolve();
      } else waiting.push(resolve);
    }),
    release: () => {
      const next = waiting.shift();
      if (next) next();
      else free += 1;
    },
  };
}

