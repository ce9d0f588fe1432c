// The Coffer SDK: a typed client generated from the OpenAPI document (sdk/schema.d.ts), with API
// key auth, retries (sdk/retry.ts), automatic Idempotency-Key on POST, async iteration over every
// paginated list, and CofferError for every failure.
//
//   const coffer = new Coffer({ baseUrl: 'https://coffer.example.com', apiKey: process.env.COFFER_API_KEY });
//   const me = await coffer.get('/v1/me');
//   for await (const key of coffer.paginate('/v1/api-keys', { limit: 100 })) console.log(key.name);
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import { randomUUID } from 'node:crypto';
import type { paths } from './schema.d.ts';
import { CofferError, type ProblemDocument } from './errors.ts';
import { DEFAULT_RETRY, retryingFetch, type RetryPolicy } from './retry.ts';

export { CofferError, type ProblemDocument } from './errors.ts';
export { verifyWebhookSignature, parseWebhookEvent, computeWebhookSignature, WebhookVerificationError, type VerifyResult, type WebhookEvent } from './webhooks.ts';
export type { paths, components, operations } from './schema.d.ts';

export interface CofferOptions {
  baseUrl: string;
  /** An API key (`cfk_…`) or session token (`cfs_…`). */
  apiKey?: string;
  retry?: Partial<RetryPolicy>;
  /** Defaults to the global fetch. */
  fetch?: (request: Request) => Promise<Response>;
  userAgent?: string;
}

type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';
type Operation<P extends keyof paths, M extends Method> = paths[P][M & keyof paths[P]];
type PathsWith<M extends Method> = {
  [P in keyof paths]: Operation<P, M> extends { responses: unknown } ? P : never;
}[keyof paths];

type JsonOf<R> = R extends { content: { 'application/json': infer J } } ? J : never;
type SuccessData<Op> = Op extends { responses: infer R }
  ? { [C in keyof R]: C extends 200 | 201 | 202 ? JsonOf<R[C]> : never }[keyof R]
  : never;

type Params<Op> = Op extends { parameters: infer Pa } ? Pa : never;
type Body<Op> = Op extends { requestBody: { content: { 'application/json': infer B } } }
  ? B
  : Op extends { requestBody?: { content: { 'application/json': infer B } } } ? B | undefined : never;

export interface CallOptions<Op> {
  params?: { path?: Params<Op> extends { path?: infer X } ? X : never; query?: Params<Op> extends { query?: infer X } ? X : never };
  body?: Body<Op>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** Paths whose GET answers `{ data: [...], next_cursor }`. */
type ListPaths = {
  [P in PathsWith<'get'>]: SuccessData<Operation<P, 'get'>> extends { data: unknown[]; next_cursor: string | null } ? P : never;
}[PathsWith<'get'>];
type ListItem<P extends ListPaths> = SuccessData<Operation<P, 'get'>> extends { data: (infer I)[] } ? I : never;
type ListQuery<P extends ListPaths> = Omit<NonNullable<Params<Operation<P, 'get'>> extends { query?: infer Q } ? Q : never>, 'cursor'>;

export class Coffer {
  /** The underlying openapi-fetch client; non-2xx answers throw CofferError, so `data` is always set. */
  readonly api: Client<paths>;

  constructor(options: CofferOptions) {
    const policy = { ...DEFAULT_RETRY, ...options.retry };
    const base = options.fetch ?? ((request: Request) => fetch(request));
    this.api = createClient<paths>({
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      fetch: retryingFetch(base, policy),
      headers: {
        ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
        'user-agent': options.userAgent ?? 'coffer-sdk/1',
      },
    });
    this.api.use(idempotencyKeys, throwOnError);
  }

  get<P extends PathsWith<'get'>>(path: P, options?: CallOptions<Operation<P, 'get'>>) {
    return this.call<SuccessData<Operation<P, 'get'>>>('GET', path, options);
  }
  post<P extends PathsWith<'post'>>(path: P, options?: CallOptions<Operation<P, 'post'>>) {
    return this.call<SuccessData<Operation<P, 'post'>>>('POST', path, options);
  }
  patch<P extends PathsWith<'patch'>>(path: P, options?: CallOptions<Operation<P, 'patch'>>) {
    return this.call<SuccessData<Operation<P, 'patch'>>>('PATCH', path, options);
  }
  put<P extends PathsWith<'put'>>(path: P, options?: CallOptions<Operation<P, 'put'>>) {
    return this.call<SuccessData<Operation<P, 'put'>>>('PUT', path, options);
  }
  delete<P extends PathsWith<'delete'>>(path: P, options?: CallOptions<Operation<P, 'delete'>>) {
    return this.call<SuccessData<Operation<P, 'delete'>>>('DELETE', path, options);
  }

  /** Every item of a paginated list, fetching pages as the loop consumes them. */
  async *paginate<P extends ListPaths>(path: P, query?: ListQuery<P>, pathParams?: Record<string, string>): AsyncGenerator<ListItem<P>> {
    let cursor: string | undefined;
    do {
      const page = (await this.call('GET', path, {
        params: { path: pathParams, query: { ...(query as object), ...(cursor ? { cursor } : {}) } },
      })) as { data: ListItem<P>[]; next_cursor: string | null };
      yield* page.data;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }

  private async call<T>(method: string, path: string, options: CallOptions<unknown> = {}): Promise<T> {
    const init = { params: options.params, body: options.body, headers: options.headers, signal: options.signal };
    const result = await (this.api.request as (m: string, p: string, i: unknown) => Promise<{ data?: unknown; response: Response }>)(
      method.toLowerCase(),
      path,
      init,
    );
    return result.data as T;
  }
}

const idempotencyKeys: Middleware = {
  onRequest({ request }) {
    if (request.method === 'POST' && !request.headers.has('idempotency-key')) {
      request.headers.set('idempotency-key', randomUUID());
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
    throw new CofferError({
      status: response.status,
      problem,
      requestId: response.headers.get('x-request-id') ?? undefined,
      method: request.method,
      url: request.url,
    });
  },
  onError({ request, error }) {
    return new CofferError({ status: 0, method: request.method, url: request.url, message: `${request.method} ${request.url} failed: ${String((error as Error)?.message ?? error)}` });
  },
};
