// The operations as a library: plan, apply, destroy, refresh and import, each holding the state lock
// for its whole run. `coffer iac` (sdk/cli/iac.ts) prints and asks around them.
import { applyPlan, type ApplyOptions, type ApplyResult } from './apply.ts';
import { IacError } from './errors.ts';
import { makePlan, openSession, type Plan, type PlanOptions, type Session } from './plan.ts';
import { whoAmI } from './backends/local.ts';
import { findInstance, parseAddress, setInstance } from './state.ts';
import { resourceType } from './resources/index.ts';
import type { Val } from './values.ts';

type Held = Session & { variables: Record<string, Val> };

/** Opens the session, takes the state lock, runs `fn`, and releases the lock whatever happens. */
export async function withLock<T>(options: PlanOptions, operation: string, fn: (session: Held) => Promise<T>, variables?: Record<string, Val>): Promise<T> {
  const session = await openSession(options, variables);
  const lock = await session.backend.lock({ operation, who: whoAmI() });
  try {
    // Read again under the lock: another run may have written between the first read and the lock.
    const fresh = await openSession({ ...options, backend: session.backend, client: session.client }, session.variables);
    return await fn(fresh);
  } finally {
    await session.backend.unlock(lock.id);
  }
}

/** Plans (refreshing every object) without changing anything. */
export function plan(options: PlanOptions = {}): Promise<Plan> {
  return withLock(options, 'plan', (s) => makePlan(options, s));
}

/**
 * Applies: a saved plan when `options.plan` is given (refused if the state moved since), otherwise
 * plans and applies at once. `confirm` (if given) sees the plan first and may refuse it.
 */
export async function apply(options: ApplyOptions & { plan?: Plan; confirm?: (plan: Plan) => Promise<boolean> } = {}): Promise<ApplyResult & { plan: Plan }> {
  if (options.plan) {
    const saved = options.plan;
    // Sensitive variables are not in a saved plan: they come again from -var, -var-file or COFFER_VAR_name.
    return withLock({ ...options, savedVariables: saved.variables }, 'apply', async (s) => {
      const p = { ...saved, variables: s.variables };
      return { ...(await applyPlan(p, options, s)), plan: p };
    });
  }
  return withLock(options, options.destroy ? 'destroy' : 'apply', async (s) => {
    const p = await makePlan(options, s);
    if (options.confirm && !(await options.confirm(p))) throw new IacError('Apply cancelled.');
    return { ...(await applyPlan(p, options, s)), plan: p };
  });
}

/** Destroys everything the state holds, in reverse dependency order. */
export function destroy(options: ApplyOptions & { confirm?: (plan: Plan) => Promise<boolean> } = {}) {
  return apply({ ...options, destroy: true });
}

/** `import ADDR ID`: reads the object and records it in state under ADDR (which must be configured). */
export function importResource(options: PlanOptions, address: string, id: string): Promise<{ id: string }> {
  return withLock(options, 'import', async (s) => {
    const { type: typeName, name } = parseAddress(address);
    const type = resourceType(typeName);
    if (!type) throw new IacError(`there is no resource type ${typeName}`);
    if (!s.config.resources.some((b) => b.mode === 'managed' && b.type === typeName && b.name === name)) {
      throw new IacError(`${address} is not in the configuration: add a resource "${typeName}" "${name}" block first (or use an import block with plan -generate-config-out)`);
    }
    if (findInstance(s.state, address)) throw new IacError(`${address} is already managed (id ${String(findInstance(s.state, address)!.attributes.id)}); \`coffer iac state rm ${address}\` first`);
    const ctx = { client: s.client, idempotencyKey: '', ...(options.signal ? { signal: options.signal } : {}) };
    const realId = type.importId ? await type.importId(ctx, id) : id;
    const remote = await type.read(ctx, realId);
    if (!remote) throw new IacError(`cannot import ${address}: ${typeName} "${id}" does not exist`);
    setInstance(s.state, address, { schema_version: type.schemaVersion, attributes: remote.attributes, dependencies: [] });
    s.state.serial += 1;
    await s.backend.write(s.state, s.stateVersion);
    return { id: remote.id };
  });
}
