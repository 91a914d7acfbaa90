import type { RequestOptions } from '../core/transport.js';
import type { UsageParams, UsageReport } from '../types.js';
import { APIResource } from './resource.js';

/** A `Date` as the UTC day the API takes (`YYYY-MM-DD`); strings are sent as given. */
export function usageDay(value: string | Date | undefined): string | undefined {
  return value instanceof Date ? value.toISOString().slice(0, 10) : value;
}

/** The tenant's metered usage: `/v1/usage`. */
export class Usage extends APIResource {
  /**
   * Usage per UTC day from `from` to `to` inclusive (default: the 30 days ending today; at most
   * 400 days), and today against each quota of the plan.
   */
  get(params: UsageParams = {}, options?: RequestOptions): Promise<UsageReport> {
    return this.transport.get('/v1/usage', { from: usageDay(params.from), to: usageDay(params.to) }, options);
  }
}
