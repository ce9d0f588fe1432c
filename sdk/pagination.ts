// Lists answer `{ data, next_cursor }`. `await coffer.tags.list()` is the first Page;
// `for await (const tag of coffer.tags.list())` walks every item of every page, fetching the next
// page only when the loop reaches it.
import type { ResponseInfo } from './types.ts';

export class Page<T> implements AsyncIterable<T> {
  readonly data: T[];
  readonly next_cursor: string | null;
  readonly lastResponse: ResponseInfo | undefined;
  readonly #next: (cursor: string) => Promise<Page<T>>;

  constructor(body: { data: T[]; next_cursor: string | null }, lastResponse: ResponseInfo | undefined, next: (cursor: string) => Promise<Page<T>>) {
    this.data = body.data;
    this.next_cursor = body.next_cursor;
    this.lastResponse = lastResponse;
    this.#next = next;
  }

  hasNextPage(): boolean {
    return this.next_cursor !== null && this.next_cursor !== '';
  }

  /** The page after this one; throws when there is none (check hasNextPage()). */
  getNextPage(): Promise<Page<T>> {
    if (!this.hasNextPage()) return Promise.reject(new Error('this is the last page'));
    return this.#next(this.next_cursor!);
  }

  /** Every item of this page and of the pages after it. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    let page: Page<T> = this;
    for (;;) {
      yield* page.data;
      if (!page.hasNextPage()) return;
      page = await page.getNextPage();
    }
  }
}

/** The first page, on demand: awaiting gives the Page, iterating gives every item. */
export class PagePromise<T> implements PromiseLike<Page<T>>, AsyncIterable<T> {
  readonly #load: () => Promise<Page<T>>;
  #first: Promise<Page<T>> | undefined;

  constructor(load: () => Promise<Page<T>>) {
    this.#load = load;
  }

  #page(): Promise<Page<T>> {
    this.#first ??= this.#load();
    return this.#first;
  }

  then<A = Page<T>, B = never>(onfulfilled?: ((page: Page<T>) => A | PromiseLike<A>) | null, onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.#page().then(onfulfilled, onrejected);
  }

  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<Page<T> | B> {
    return this.#page().catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<Page<T>> {
    return this.#page().finally(onfinally);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    yield* await this.#page();
  }
}
