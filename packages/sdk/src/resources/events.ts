import { PageIterator } from '../core/pagination.js';
import type { RequestOptions } from '../core/transport.js';
import type { Event, EventQueryParams, IngestEventsRequest, IngestEventsResponse } from '../types.js';
import { APIResource } from './resource.js';

/** The tenant's events: `/v1/events`. */
export class Events extends APIResource {
  /** Stores up to 1,000 events, all or none. */
  ingest(body: IngestEventsRequest, options?: RequestOptions): Promise<IngestEventsResponse> {
    return this.transport.post('/v1/events', body, options);
  }

  /** Events with `from <= occurred_at < to` (default: the last 24 hours), by time. */
  query(params: EventQueryParams = {}, options?: RequestOptions): PageIterator<Event> {
    const { from, to, type, limit, cursor } = params;
    return new PageIterator(this.pager<Event>('/v1/events', { from, to, type, limit, cursor }, options));
  }
}
