export interface EventInput {
  /**
   * @pattern ^[A-Za-z0-9_.:-]{1,100}$
   * @example "page.viewed"
   */
  type: string;
  /** Within the plan's retention, and at most 24 hours ahead of the server clock. */
  occurred_at: Date;
  /** @format uuid */
  user_id?: string | null;
  payload?: { [key: string]: unknown };
}

export interface IngestEventsRequest {
  /**
   * All events are stored, or none.
   * @minItems 1
   * @maxItems 1000
   */
  events: EventInput[];
}

export interface IngestEventsResponse {
  /** @isInt */
  accepted: number;
}

export interface Event {
  /** @isLong */
  id: number;
  type: string;
  occurred_at: Date;
  user_id: string | null;
  payload: { [key: string]: unknown };
  received_at: Date;
}

export interface EventList {
  data: Event[];
  next_cursor: string | null;
}
