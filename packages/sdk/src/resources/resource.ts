import type { PageBody, PageFetcher } from '../core/pagination.js';
import type { QueryValue, RequestOptions, Transport } from '../core/transport.js';

/** Base of the resource classes: access to the client's transport. */
export abstract class APIResource {
  protected readonly transport: Transport;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  /** A fetcher of `path`'s pages with `query` (its `cursor` replaced page by page). */
  protected pager<T>(
    path: string,
    query: Record<string, QueryValue>,
    options?: RequestOptions,
  ): PageFetcher<T> {
    const first = query.cursor;
    return (cursor) => this.transport.get<PageBody<T>>(path, { ...query, cursor: cursor ?? first }, options);
  }
}

/** A path segment: encoded, and never empty (an empty id would address the collection). */
export function segment(value: string): string {
  if (typeof value !== 'string' || value === '') throw new TypeError('An id must be a non-empty string');
  return encodeURIComponent(value);
}
