import type { AuditService } from '@platform/core';
import { Controller, Get, OperationId, Query, Response, Route, Security, Tags } from '@tsoa/runtime';
import type { AuditList } from '../models/admin.models.js';
import type { ProblemDetails } from '../models/problem.js';

@Route('v1/audit')
@Tags('Audit')
@Security('admin')
@Response<ProblemDetails, { 'x-request-id': string }>(
  400,
  'The body is not JSON, or not a JSON object or array (`malformed_json`)',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string; 'WWW-Authenticate': string }>(
  401,
  'Missing or wrong admin token (`missing_credentials`, `invalid_credentials`)',
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
@Response<ProblemDetails, { 'x-request-id': string; 'Retry-After': string }>(
  429,
  'This address failed to authenticate too often (`rate_limited`); retry after `Retry-After`',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string; 'Retry-After': string }>(
  503,
  'A dependency is unavailable (`database_unavailable`); retry after `Retry-After`',
  undefined,
  'application/problem+json',
)
export class AuditController extends Controller {
  constructor(private readonly audit: AuditService) {
    super();
  }

  /**
   * The platform's audit log, newest first (kept 90 days).
   * @param tenant_id Only this tenant's entries.
   * @param action An action (`tenant.provisioned`) or a prefix ending in `*` (`tenant.*`).
   * @param from Entries at or after this instant. A range with `from` not before `to` is empty.
   * @param to Entries before this instant.
   * @pattern tenant_id ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$
   * @pattern action ^[a-z][a-z0-9_.]{0,99}\*?$
   * @param limit Page size, 1-200 (default 50).
   * @isInt limit
   * @minimum limit 1
   * @maximum limit 200
   * @param cursor The `next_cursor` of the previous page.
   * @pattern cursor ^(0|[1-9][0-9]{0,14})_(0|[1-9][0-9]{0,17})$
   */
  @Get()
  @OperationId('listAudit')
  async listAudit(
    @Query() tenant_id?: string,
    @Query() action?: string,
    @Query() from?: Date,
    @Query() to?: Date,
    @Query() limit?: number,
    @Query() cursor?: string,
  ): Promise<AuditList> {
    return this.audit.list({
      tenant_id,
      action,
      from: from?.toISOString(),
      to: to?.toISOString(),
      limit,
      cursor,
    });
  }
}
