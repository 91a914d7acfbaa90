import type { UsageService } from '@platform/core';
import { Controller, Get, OperationId, Query, Response, Route, Security, Tags } from '@tsoa/runtime';
import type { ProblemDetails } from '../models/problem.js';
import type { UsageReport } from '../models/usage.models.js';

@Route('v1/usage')
@Tags('Usage')
export class UsageController extends Controller {
  constructor(private readonly usage: UsageService) {
    super();
  }

  /**
   * The tenant's metered usage per UTC day, `from` to `to` inclusive (default: the 30 days ending
   * today; at most 400 days), and today against each quota of its plan.
   * @param from First day, `YYYY-MM-DD` (UTC).
   * @param to Last day, `YYYY-MM-DD` (UTC); default today.
   */
  @Get()
  @Security('api_key', ['read'])
  @Response<ProblemDetails>(401, 'Missing or wrong API key', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(403, 'The key lacks the scope, or the tenant is not ready', undefined, [
    'application/problem+json',
  ])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @OperationId('getUsage')
  async getUsage(@Query() from?: string, @Query() to?: string): Promise<UsageReport> {
    return this.usage.reportForCurrentTenant({ from, to });
  }
}
