// `@coffer/sdk/iac`: Coffer as code, as a library. The `coffer iac` commands are built on it.
export type * from './types.ts';
export { RESOURCE_TYPES, DATA_SOURCE_TYPES, resourceType, dataSourceType } from './resources/index.ts';
export { IacError, StateError } from './errors.ts';
export { LocalBackend } from './backends/local.ts';
export { loadConfig } from './config.ts';
export { readState, emptyState, type State } from './state.ts';
