/** The API's page shape: `{ data, next_cursor }`. */
export interface PageBody<T> {
  data: T[];
  next_cursor: string | null;
}

/** Fetches the page after `cursor` (`undefined`: the first page). */
export type PageFetcher<T> = (cursor: string | undefined) => Promise<PageBody<T>>;

/** One page of a list: its items, and the way to the next page. */
export class Page<T> {
  /** The items of this page. */
  readonly data: T[];
  /** The cursor of the next page; `null` on the last page. */
  readonly nextCursor: string | null;
  private readonly fetcher: PageFetcher<T>;

  constructor(fetcher: PageFetcher<T>, body: PageBody<T>) {
    this.fetcher = fetcher;
    this.data = body.data;
    this.nextCursor = body.next_cursor;
  }

  hasNextPage(): boolean {
    return this.nextCursor !== null;
  }

  /** The next page, or `null` after the last one. */
  async nextPage(): Promise<Page<T> | null> {
    if (this.nextCursor === null) return null;
    return new Page(this.fetcher, await this.fetcher(this.nextCursor));
  }
}

/**
 * What every `list()` returns. Nothing is fetched until it is used:
 * - `for await (const item of list)` walks every item of every page, fetching pages as needed;
 * - `await list.firstPage()` fetches one `Page` (then `page.nextPage()`), for page-at-a-time use;
 * - `for await (const page of list.pages())` walks the pages;
 * - `await list.toArray()` collects every item (mind the size of the list).
 */
export class PageIterator<T> implements AsyncIterable<T> {
  private readonly fetcher: PageFetcher<T>;

  constructor(fetcher: PageFetcher<T>) {
    this.fetcher = fetcher;
  }

  /** Fetches the first page. */
  async firstPage(): Promise<Page<T>> {
    return new Page(this.fetcher, await this.fetcher(undefined));
  }

  /** Every page, in order. */
  async *pages(): AsyncGenerator<Page<T>, void, undefined> {
    let page: Page<T> | null = await this.firstPage();
    while (page) {
      yield page;
      page = await page.nextPage();
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.pages()) yield* page.data;
  }

  /** Every item of every page, in one array. */
  async toArray(): Promise<T[]> {
    const items: T[] = [];
    for await (const item of this) items.push(item);
    return items;
  }
}
