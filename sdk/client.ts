// The Coffer client: one namespace per resource of the API, generated from its OpenAPI document
// (resources.ts), plus typed calls by path as an escape hatch.
//
//   const coffer = new Coffer({ baseUrl: 'https://coffer.example.com', apiKey: process.env.COFFER_API_KEY });
//   for await (const tag of coffer.tags.list()) console.log(tag.name);
//   const tag = await coffer.tags.create({ name: 'finance' });
//   const me = await coffer.get('/v1/me');
import type { Client } from 'openapi-fetch';
import type { paths } from './schema.d.ts';
import { CofferResources } from './resources.ts';
import { Transport, type CofferOptions, type RawInit } from './transport.ts';
import type { RequestOptions, UpdateOptions } from './types.ts';

export * from './errors.ts';
export type { CofferOptions } from './transport.ts';

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

/** The options of a call by path: its path and query parameters, its body, and the per-request options. */
export interface CallOptions<Op> extends RequestOptions {
  params?: { path?: Params<Op> extends { path?: infer X } ? X : never; query?: Params<Op> extends { query?: infer X } ? X : never };
  body?: Body<Op>;
  ifMatch?: UpdateOptions['ifMatch'];
}

/** Paths whose GET answers `{ data: [...], next_cursor }`. */
type ListPaths = {
  [P in PathsWith<'get'>]: SuccessData<Operation<P, 'get'>> extends { data: unknown[]; next_cursor: string | null } ? P : never;
}[PathsWith<'get'>];
type ListItem<P extends ListPaths> = SuccessData<Operation<P, 'get'>> extends { data: (infer I)[] } ? I : never;
type ListQuery<P extends ListPaths> = Omit<NonNullable<Params<Operation<P, 'get'>> extends { query?: infer Q } ? Q : never>, 'cursor'>;

export class Coffer extends CofferResources {
  readonly #transport: Transport;

  constructor(options: CofferOptions) {
    const transport = new Transport(options);
    super(transport);
    this.#transport = transport;
  }

  /** The underlying openapi-fetch client; non-2xx answers throw CofferError, so `data` is always set. */
  get api(): Client<paths> {
    return this.#transport.api;
  }

  /** The same client acting on another account (the `Coffer-Account` header), e.g. a partner's customer. */
  withAccount(accountId: string): Coffer {
    return new Coffer({ ...this.#transport.options, account: accountId });
  }

  get<P extends PathsWith<'get'>>(path: P, options?: CallOptions<Operation<P, 'get'>>) {
    return this.#call<SuccessData<Operation<P, 'get'>>>('GET', path, options);
  }
  post<P extends PathsWith<'post'>>(path: P, options?: CallOptions<Operation<P, 'post'>>) {
    return this.#call<SuccessData<Operation<P, 'post'>>>('POST', path, options);
  }
  patch<P extends PathsWith<'patch'>>(path: P, options?: CallOptions<Operation<P, 'patch'>>) {
    return this.#call<SuccessData<Operation<P, 'patch'>>>('PATCH', path, options);
  }
  put<P extends PathsWith<'put'>>(path: P, options?: CallOptions<Operation<P, 'put'>>) {
    return this.#call<SuccessData<Operation<P, 'put'>>>('PUT', path, options);
  }
  delete<P extends PathsWith<'delete'>>(path: P, options?: CallOptions<Operation<P, 'delete'>>) {
    return this.#call<SuccessData<Operation<P, 'delete'>>>('DELETE', path, options);
  }

  /** Every item of a paginated list by path, fetching pages as the loop consumes them. */
  async *paginate<P extends ListPaths>(path: P, query?: ListQuery<P>, pathParams?: Record<string, string>, options?: RequestOptions): AsyncGenerator<ListItem<P>> {
    let cursor: string | undefined;
    do {
      const page = (await this.#call('GET', path, {
        ...options,
        params: { path: pathParams, query: { ...(query as object), ...(cursor ? { cursor } : {}) } },
      })) as { data: ListItem<P>[]; next_cursor: string | null };
      yield* page.data;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }

  async #call<T>(method: string, path: string, options: CallOptions<unknown> = {}): Promise<T> {
    const { data } = await this.#transport.request(method, path, options as RawInit);
    return data as T;
  }
}
