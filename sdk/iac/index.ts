// `@coffer/sdk/iac`: Coffer as code, as a library. The `coffer iac` commands are built on it.
//
//   import { plan, apply } from '@coffer/sdk/iac';
//   const p = await plan({ dir: 'infra', vars: { team: 'Acme' } });
//   if (p.changes.some((c) => c.action !== 'noop')) await apply({ dir: 'infra', plan: p });
export type * from './types.ts';
export { plan, apply, destroy, importResource, withLock } from './run.ts';
export { makePlan, hasChanges, summary, type Plan, type Change, type PlanOptions, type ClientFactory } from './plan.ts';
export { applyPlan, type ApplyOptions, type ApplyResult } from './apply.ts';
export { renderPlan, planJson } from './render.ts';
export { readPlanFile, writePlanFile } from './planfile.ts';
export { RESOURCE_TYPES, DATA_SOURCE_TYPES, resourceType, dataSourceType } from './resources/index.ts';
export { BACKENDS, type BackendFactory, type BackendContext } from './backends/index.ts';
export { LocalBackend } from './backends/local.ts';
export { IacError, StateError } from './errors.ts';

export { RemoteBackend } from './backends/remote.ts';
export { loadConfig } from './config.ts';
export { formatHcl } from './fmt.ts';
export { FUNCTIONS } from './functions.ts';
export { readState, emptyState, type State } from './state.ts';
export { iacMain } from './commands.ts';
