import type { TenantPlan } from './tenant.models.js';

/**
 * A UTC day, `YYYY-MM-DD`.
 * @format date
 * @example "2026-12-01"
 */
export type Day = string;

/** One UTC day of a tenant's metered usage. */
export interface UsageDay {
  /**
   * The day, UTC.
   * @format date
   * @example "2026-12-01"
   */
  day: string;
  /**
   * Authenticated API requests.
   * @isInt
   */
  api_requests: number;
  /**
   * Events ingested.
   * @isInt
   */
  events: number;
  /**
   * Predictions created.
   * @isInt
   */
  predictions: number;
  /**
   * Input rows (instances) of the predictions created.
   * @isInt
   */
  prediction_instances: number;
}

/** `events_per_day` and `predictions_per_day` reset at 00:00 UTC; `users` is a standing quota. */
export type QuotaName = 'events_per_day' | 'predictions_per_day' | 'users';

/** A quota of the tenant's plan against what is used of it now. */
export interface QuotaStatus {
  quota: QuotaName;
  /** @isInt */
  limit: number;
  /** @isInt */
  used: number;
  /** @isInt */
  remaining: number;
  /** When the quota resets; null for `users`. */
  resets_at: Date | null;
}

export interface UsageReport {
  /** @format uuid */
  tenant_id: string;
  plan: TenantPlan;
  /** @format date */
  from: string;
  /** @format date */
  to: string;
  /** One entry per day of `from`..`to`, oldest first; days without usage hold zeros. */
  daily: UsageDay[];
  /** Today (UTC) against each quota of the plan. */
  current: {
    /** @format date */
    day: string;
    quotas: QuotaStatus[];
  };
}
