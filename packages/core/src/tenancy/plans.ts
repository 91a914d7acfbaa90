/** Plans decide how long a tenant's events are kept (pg_partman retention). */
export const PLANS = {
  free: { eventRetentionDays: 7 },
  standard: { eventRetentionDays: 30 },
  enterprise: { eventRetentionDays: 365 },
} as const;

export type Plan = keyof typeof PLANS;
export const DEFAULT_PLAN: Plan = 'standard';

export function isPlan(value: string): value is Plan {
  return Object.hasOwn(PLANS, value);
}

/** Days of future daily partitions pg_partman keeps ready. */
export const EVENTS_PREMAKE_DAYS = 4;
