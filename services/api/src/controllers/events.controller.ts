import type { EventsService } from '@platform/core';
import {
  Body,
  Controller,
  Get,
  Header,
  Middlewares,
  OperationId,
  Post,
  Query,
  Response,
  Route,
  Security,
  SuccessResponse,
  Tags,
} from '@tsoa/runtime';
import { idempotent } from '../middleware/idempotency.js';
import type { EventList, IngestEventsRequest, IngestEventsResponse } from '../models/event.models.js';
import type { ProblemDetails } from '../models/problem.js';

@Route('v1/events')
@Tags('Events')
export class EventsController extends Controller {
  constructor(private readonly events: EventsService) {
    super();
  }

  /** Stores a batch of up to 1,000 events. Every event is validated; the batch is stored whole or not at all. */
  @Post()
  @Middlewares(idempotent)
  @Security('api_key', ['write'])
  @Response<ProblemDetails>(401, 'Missing or wrong API key', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(403, 'The key lacks the scope, or the tenant is not ready', undefined, [
    'application/problem+json',
  ])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @OperationId('ingestEvents')
  @Response<ProblemDetails, { 'Retry-After'?: string }>(
    503,
    "A query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After`",
    undefined,
    ['application/problem+json'],
  )
  @Response<ProblemDetails, { 'Retry-After'?: string; 'RateLimit-Policy'?: string; RateLimit?: string }>(
    429,
    "Rate limited (`rate_limited`), or the batch does not fit in what is left of the plan's `events_per_day` quota (`quota_exceeded`); nothing was stored",
    undefined,
    ['application/problem+json'],
  )
  @SuccessResponse<{ 'RateLimit-Policy'?: string; RateLimit?: string }>(201, 'Stored')
  async ingestEvents(
    @Body() body: IngestEventsRequest,
    /** Makes retries safe: a repeated request with the same key gets the first response. */ @Header(
      'Idempotency-Key',
    )
    _idempotencyKey?: string,
  ): Promise<IngestEventsResponse> {
    const result = await this.events.ingest(body.events);
    this.setStatus(201);
    return result;
  }

  /**
   * Events with `from <= occurred_at < to` (default: the last 24 hours), optionally of one type,
   * ordered by time.
   * @param limit Page size, 1-200 (default 50).
   * @isInt limit
   * @minimum limit 1
   * @maximum limit 200
   */
  @Get()
  @Security('api_key', ['read'])
  @SuccessResponse<{ 'RateLimit-Policy'?: string; RateLimit?: string }>(200, 'Ok')
  @Response<ProblemDetails>(401, 'Missing or wrong API key', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(403, 'The key lacks the scope, or the tenant is not ready', undefined, [
    'application/problem+json',
  ])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @Response<ProblemDetails, { 'Retry-After': string; 'RateLimit-Policy'?: string; RateLimit?: string }>(
    429,
    'Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often',
    undefined,
    ['application/problem+json'],
  )
  @OperationId('queryEvents')
  @Response<ProblemDetails, { 'Retry-After'?: string }>(
    503,
    "A query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After`",
    undefined,
    ['application/problem+json'],
  )
  async queryEvents(
    @Query() from?: Date,
    @Query() to?: Date,
    @Query() type?: string,
    @Query() limit?: number,
    @Query() cursor?: string,
  ): Promise<EventList> {
    return this.events.query({ from, to, type, limit, cursor });
  }
}
