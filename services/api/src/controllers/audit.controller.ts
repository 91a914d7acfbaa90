import type { AuditService } from '@platform/core';
import { Controller, Get, OperationId, Query, Response, Route, Security, Tags } from '@tsoa/runtime';
import type { AuditList } from '../models/admin.models.js';
import type { ProblemDetails } from '../models/problem.js';

@Route('v1/audit')
@Tags('Audit')
@Security('admin')
export class AuditController extends Controller {
  constructor(private readonly audit: AuditService) {
    super();
  }

  /**
   * The platform's audit log, newest first (kept 90 days).
   * @param tenant_id Only this tenant's entries.
   * @param action An action (`tenant.provisioned`) or a prefix ending in `*` (`tenant.*`).
   * @param from Entries at or after this instant (ISO 8601 date or date-time).
   * @param to Entries before this instant (ISO 8601 date or date-time).
   * @param limit Page size, 1-200 (default 50).
   * @isInt limit
   * @minimum limit 1
   * @maximum limit 200
   */
  @Get()
  @Response<ProblemDetails>(401, 'Missing or wrong admin token', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @OperationId('listAudit')
  async listAudit(
    @Query() tenant_id?: string,
    @Query() action?: string,
    @Query() from?: string,
    @Query() to?: string,
    @Query() limit?: number,
    @Query() cursor?: string,
  ): Promise<AuditList> {
    return this.audit.list({ tenant_id, action, from, to, limit, cursor });
  }
}
