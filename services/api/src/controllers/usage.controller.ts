import type { UsageService } from '@platform/core';
import {
  Controller,
  Get,
  OperationId,
  Query,
  Response,
  Route,
  Security,
  SuccessResponse,
  Tags,
} from '@tsoa/runtime';
import type { ProblemDetails } from '../models/problem.js';
import type { Day, UsageReport } from '../models/usage.models.js';

@Route('v1/usage')
@Tags('Usage')
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
export class UsageController extends Controller {
  constructor(private readonly usage: UsageService) {
    super();
  }

  /**
   * The tenant's metered usage per UTC day, `from` to `to` inclusive (default: the 30 days ending
   * `to`), and today against each quota of its plan. A range of more than 400 days keeps its last
   * 400 (the report's `from` says where it starts); a `from` after `to` is an empty range.
   * @param from First day (UTC); default 29 days before `to`.
   * @param to Last day (UTC); default today.
   */
  @Get()
  @Security('api_key', ['read'])
  @OperationId('getUsage')
  @SuccessResponse<{ 'x-request-id': string; 'RateLimit-Policy'?: string; RateLimit?: string }>(200, 'Ok')
  async getUsage(@Query() from?: Day, @Query() to?: Day): Promise<UsageReport> {
    return this.usage.reportForCurrentTenant({ from, to });
  }
}
