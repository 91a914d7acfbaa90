import { type EventsService, eventRuleProblems, MAX_EVENTS_PER_BATCH } from '@platform/core';
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
import { rulesOnInvalidRequest } from '../middleware/rule-problems.js';
import type { EventList, IngestEventsRequest, IngestEventsResponse } from '../models/event.models.js';
import type { ProblemDetails } from '../models/problem.js';
import { requestContext } from '../request-context.js';

/** A batch the spec refuses is checked against the plan's rules too: one 422 names every problem. */
const eventRules = rulesOnInvalidRequest((req) => {
  const plan = requestContext(req).tenant?.plan;
  const events = (req.body as { events?: unknown } | undefined)?.events;
  if (!plan || !Array.isArray(events) || events.length > MAX_EVENTS_PER_BATCH) return [];
  return eventRuleProblems(events, plan, new Date());
});

@Route('v1/events')
@Tags('Events')
@Response<ProblemDetails, { 'x-request-id': string }>(
  400,
  'The body is not JSON, or not a JSON object or array (`malformed_json`)',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string; 'WWW-Authenticate': string }>(
  401,
  'Missing or wrong API key (`missing_credentials`, `invalid_credentials`)',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string }>(
  403,
  'The key lacks the scope (`insufficient_scope`), or its tenant is not ready (`tenant_not_ready`)',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string }>(
  413,
  'The body is larger than `BODY_LIMIT` (`body_too_large`)',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string }>(
  415,
  'The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`)',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string }>(
  422,
  'Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each',
  undefined,
  'application/problem+json',
)
@Response<
  ProblemDetails,
  { 'x-request-id': string; 'Retry-After': string; 'RateLimit-Policy'?: string; RateLimit?: string }
>(
  429,
  'Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often; retry after `Retry-After`',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string; 'Retry-After': string }>(
  503,
  "A dependency is unavailable (`database_unavailable`), or a query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After`",
  undefined,
  'application/problem+json',
)
export class EventsController extends Controller {
  constructor(private readonly events: EventsService) {
    super();
  }

  /**
   * Stores a batch of up to 1,000 events. Every event is validated; the batch is stored whole or
   * not at all. `occurred_at` must be within the plan's retention (free 7 days, standard 30,
   * enterprise 365) and at most 24 hours ahead of the server clock; a batch with an event outside
   * that window is refused (422, naming each such event).
   * @param _idempotencyKey Makes retries safe: a repeat with the same key gets the first response (see `idempotent-replayed`).
   * @pattern _idempotencyKey ^[\x21-\x7e]{1,255}$
   */
  @Post()
  @Middlewares(idempotent, eventRules)
  @Security('api_key', ['write'])
  @OperationId('ingestEvents')
  @SuccessResponse<{
    'x-request-id': string;
    'RateLimit-Policy'?: string;
    RateLimit?: string;
    'idempotent-replayed'?: string;
  }>(201, 'Stored')
  @Response<ProblemDetails>(
    409,
    'An Idempotency-Key conflict (`idempotency_in_progress`, `idempotency_response_too_large`)',
    undefined,
    ['application/problem+json'],
  )
  @Response<
    ProblemDetails,
    { 'x-request-id': string; 'Retry-After': string; 'RateLimit-Policy'?: string; RateLimit?: string }
  >(
    429,
    "Rate limited (`rate_limited`), or the batch does not fit in what is left of the plan's `events_per_day` quota (`quota_exceeded`); nothing was stored",
    undefined,
    ['application/problem+json'],
  )
  async ingestEvents(
    @Body() body: IngestEventsRequest,
    @Header('Idempotency-Key') _idempotencyKey?: string,
  ): Promise<IngestEventsResponse> {
    const result = await this.events.ingest(body.events);
    this.setStatus(201);
    return result;
  }

  /**
   * Events with `from <= occurred_at < to` (default: the last 24 hours), optionally of one type,
   * ordered by time. A range with `from` not before `to` is empty.
   * @param from Start of the range, inclusive; default 24 hours before `to`.
   * @param to End of the range, exclusive; default now.
   * @param type Only events of this type.
   * @pattern type ^[A-Za-z0-9_.:-]{1,100}$
   * @param limit Page size, 1-200 (default 50).
   * @isInt limit
   * @minimum limit 1
   * @maximum limit 200
   * @param cursor The `next_cursor` of the previous page.
   * @pattern cursor ^(0|[1-9][0-9]{0,14})_(0|[1-9][0-9]{0,17})$
   */
  @Get()
  @Security('api_key', ['read'])
  @OperationId('queryEvents')
  @SuccessResponse<{ 'x-request-id': string; 'RateLimit-Policy'?: string; RateLimit?: string }>(200, 'Ok')
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
