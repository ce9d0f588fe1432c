// Types shared by the client, the generated resource classes and the generated operation table.
import type { operations } from './schema.d.ts';

/** One API operation as the SDK calls it (the generated table in operations.ts holds them all). */
export interface OperationSpec {
  readonly id: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  /** Where the method lives: `['billing', 'invoices']` is `coffer.billing.invoices`. */
  readonly namespace: readonly string[];
  readonly name: string;
  /** Path parameters in URL order; `arg` is how the method's leading arguments are named. */
  readonly pathParams: readonly { readonly name: string; readonly arg: string }[];
  /** What the argument after the path parameters is: a query, a JSON body, or a form body. */
  readonly input: 'none' | 'query' | 'body' | 'form';
  readonly inputRequired: boolean;
  /** `page`: a `{ data, next_cursor }` list; `response`: the raw Response (files, redirects). */
  readonly result: 'json' | 'page' | 'none' | 'response';
  /** The operation takes If-Match (optimistic concurrency: 412 when the resource changed). */
  readonly ifMatch: boolean;
  readonly summary: string;
}

/** Options every method takes as its last argument. */
export interface RequestOptions {
  /** Sent as Idempotency-Key on a POST; a random one is used when absent (and kept across retries). */
  idempotencyKey?: string;
  /** Give up an attempt that has no answer after this long (default 60 s); retried when safe. */
  timeoutMs?: number;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/** What arrived with a result: `coffer.tags.get(id)` → `tag.lastResponse.etag`. */
export interface ResponseInfo {
  readonly status: number;
  readonly headers: Headers;
  readonly requestId: string | undefined;
  readonly etag: string | undefined;
}

export type WithResponse<T> = T & { readonly lastResponse: ResponseInfo };

/** Options of an operation guarded by If-Match. */
export interface UpdateOptions extends RequestOptions {
  /** The ETag the change is based on, or a result read earlier (its `lastResponse.etag`): 412 if it changed since. */
  ifMatch?: string | { readonly lastResponse?: ResponseInfo };
}

export type OperationId = keyof operations;
type Op<K extends OperationId> = operations[K];
type JsonOf<R> = R extends { content: { 'application/json': infer J } } ? J : never;

export type QueryOf<K extends OperationId> = Op<K> extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
export type BodyOf<K extends OperationId> = Op<K> extends { requestBody?: { content: infer C } }
  ? C extends { 'application/json': infer B } ? B : C extends { 'application/x-www-form-urlencoded': infer F } ? F : never
  : never;
export type ResultOf<K extends OperationId> = Op<K> extends { responses: infer R }
  ? { [C in keyof R]: C extends 200 | 201 | 202 ? JsonOf<R[C]> : never }[keyof R]
  : never;
export type ItemOf<K extends OperationId> = ResultOf<K> extends { data: (infer I)[] } ? I : never;
