// How every SDK call reaches the API: openapi-fetch builds the request (path and query
// serialisation), retryingFetch repeats it when that is safe, and a failed answer becomes the
// CofferError subclass for its status. Plain fetch and WebCrypto only, so it runs unchanged on
// Node 20+, browsers, Deno and Bun.
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { paths } from './schema.d.ts';
import { ApiConnectionError, errorForStatus, type ProblemDocument } from './errors.ts';
import { DEFAULT_RETRY, retryingFetch, type RetryPolicy } from './retry.ts';
import { Page, PagePromise } from './pagination.ts';
import type { OperationSpec, RequestOptions, ResponseInfo, UpdateOptions } from './types.ts';

export interface CofferOptions {
  /** Where the API is, e.g. `https://coffer.example.com`. */
  baseUrl: string;
  /** An API key (`cfk_…`) or session token (`cfs_…`). */
  apiKey?: string;
  /** The account to act on (sent as `Coffer-Account`), for keys that may act on several. */
  account?: string;
  retry?: Partial<RetryPolicy>;
  /** The time limit of each attempt (default 60 s). */
  timeoutMs?: number;
  /** Defaults to the global fetch. */
  fetch?: (request: Request) => Promise<Response>;
  userAgent?: string;
}

export const DEFAULT_TIMEOUT_MS = 60_000;

/** What openapi-fetch takes for one request, plus the SDK's own per-request options. */
export interface RawInit extends RequestOptions {
  params?: { path?: Record<string, unknown>; query?: Record<string, unknown> };
  body?: unknown;
  ifMatch?: UpdateOptions['ifMatch'];
  parseAs?: 'json' | 'stream';
  form?: boolean;
}

export class Transport {
  readonly api: Client<paths>;
  readonly options: CofferOptions;
  readonly #policy: RetryPolicy;
  readonly #fetch: (request: Request) => Promise<Response>;

  constructor(options: CofferOptions) {
    this.options = options;
    this.#policy = { ...DEFAULT_RETRY, ...options.retry };
    this.#fetch = options.fetch ?? ((request: Request) => fetch(request));
    this.api = createClient<paths>({
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      headers: {
        ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
        ...(options.account ? { 'coffer-account': options.account } : {}),
        'user-agent': options.userAgent ?? 'coffer-sdk/0.1',
      },
    });
    this.api.use(idempotencyKeys, throwOnError);
  }

  /** One request by method and path template; resolves with the parsed body and the response. */
  async request(method: string, path: string, init: RawInit = {}): Promise<{ data: unknown; response: Response }> {
    const headers: Record<string, string> = { ...init.headers };
    if (init.idempotencyKey) headers['idempotency-key'] = init.idempotencyKey;
    const ifMatch = typeof init.ifMatch === 'string' ? init.ifMatch : init.ifMatch?.lastResponse?.etag;
    if (ifMatch) headers['if-match'] = ifMatch;
    if (init.parseAs !== 'stream' && !Object.keys(headers).some((h) => h.toLowerCase() === 'accept')) headers.accept = 'application/json';
    const result = await (this.api.request as (m: string, p: string, i: unknown) => Promise<{ data?: unknown; response: Response }>)(method.toLowerCase(), path, {
      params: init.params,
      body: init.body,
      headers,
      signal: init.signal,
      parseAs: init.parseAs ?? 'json',
      fetch: retryingFetch(this.#fetch, this.#policy, init.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      ...(init.form ? { bodySerializer: (body: Record<string, string>) => new URLSearchParams(body), headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' } } : {}),
    });
    return { data: result.data, response: result.response };
  }

  /** Calls one operation of the generated table with the method's arguments. */
  async call(spec: OperationSpec, pathValues: string[], input: unknown, options: UpdateOptions = {}): Promise<unknown> {
    const path = Object.fromEntries(spec.pathParams.map((p, i) => [p.name, pathValues[i]]));
    const { data, response } = await this.request(spec.method, spec.path, {
      ...options,
      params: { path, query: spec.input === 'query' ? (input as Record<string, unknown> | undefined) : undefined },
      body: spec.input === 'body' || spec.input === 'form' ? input : undefined,
      form: spec.input === 'form',
      parseAs: spec.result === 'response' ? 'stream' : 'json',
    });
    if (spec.result === 'response') return response;
    if (spec.result === 'none') return undefined;
    return withResponse(data, response);
  }

  /** A list operation: the first page, which is also an async iterable over every item. */
  list<T>(spec: OperationSpec, pathValues: string[], query: Record<string, unknown> | undefined, options?: RequestOptions): PagePromise<T> {
    const load = async (cursor: string | undefined): Promise<Page<T>> => {
      const body = (await this.call(spec, pathValues, { ...query, ...(cursor ? { cursor } : {}) }, options)) as { data: T[]; next_cursor: string | null; lastResponse: ResponseInfo };
      return new Page<T>(body, body.lastResponse, (next) => load(next));
    };
    return new PagePromise<T>(() => load(typeof query?.cursor === 'string' ? query.cursor : undefined));
  }
}

/** Attaches `lastResponse` (status, headers, request id, ETag) to an object result, not enumerable. */
function withResponse(data: unknown, response: Response): unknown {
  if (data === null || typeof data !== 'object') return data;
  const info: ResponseInfo = {
    status: response.status,
    headers: response.headers,
    requestId: response.headers.get('x-request-id') ?? undefined,
    etag: response.headers.get('etag') ?? undefined,
  };
  Object.defineProperty(data, 'lastResponse', { value: info, enumerable: false, configurable: true });
  return data;
}

const idempotencyKeys: Middleware = {
  onRequest({ request }) {
    if (request.method === 'POST' && !request.headers.has('idempotency-key')) {
      request.headers.set('idempotency-key', globalThis.crypto.randomUUID());
    }
    return request;
  },
};

const throwOnError: Middleware = {
  async onResponse({ request, response }) {
    if (response.ok) return response;
    let problem: ProblemDocument | undefined;
    try {
      problem = (await response.clone().json()) as ProblemDocument;
    } catch {
      problem = undefined;
    }
    throw errorForStatus({
      status: response.status,
      problem,
      requestId: response.headers.get('x-request-id') ?? undefined,
      method: request.method,
      url: request.url,
      headers: response.headers,
    });
  },
  onError({ request, error }) {
    // The caller's own abort is theirs to handle: it surfaces as it came (an AbortError).
    if (request.signal.aborted) return error instanceof Error ? error : new Error(String(error));
    const timeout = (error as Error)?.name === 'TimeoutError';
    return new ApiConnectionError({
      status: 0,
      method: request.method,
      url: request.url,
      code: timeout ? 'timeout' : 'network_error',
      message: `${request.method} ${request.url} failed: ${String((error as Error)?.message ?? error)}`,
    });
  },
};
