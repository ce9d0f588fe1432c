// @coffer/sdk — the Coffer API client. Start with `new Coffer({ baseUrl, apiKey })`.
export { Coffer, type CallOptions } from './client.ts';
export type { CofferOptions } from './transport.ts';
export * from './errors.ts';
export { Page, PagePromise } from './pagination.ts';
export { OPERATIONS, type OperationName } from './operations.ts';
export type { Job, WaitOptions } from './jobs.ts';
export { parseSse, type Event, type StreamedEvent, type StreamOptions } from './events.ts';
export type { RetryPolicy } from './retry.ts';
export type { BodyOf, ItemOf, OperationSpec, QueryOf, RequestOptions, ResponseInfo, ResultOf, UpdateOptions, WithResponse } from './types.ts';
export type { paths, components, operations } from './schema.d.ts';
export * from './webhooks.ts';
