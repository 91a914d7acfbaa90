export interface PlanQuota {
  pods: string;
  'requests.cpu': string;
  'requests.memory': string;
  'limits.cpu': string;
  'limits.memory': string;
  persistentvolumeclaims: string;
  'requests.storage': string;
}

/** The default plan's namespace quota (ARCHITECTURE.md); other plans scale it. */
const STANDARD_QUOTA: PlanQuota = {
  pods: '20',
  'requests.cpu': '2',
  'requests.memory': '4Gi',
  'limits.cpu': '4',
  'limits.memory': '8Gi',
  persistentvolumeclaims: '5',
  'requests.storage': '20Gi',
};

/**
 * Plans decide how long a tenant's events are kept (pg_partman retention) and the quota of its
 * Kubernetes namespace.
 */
export const PLANS = {
  free: {
    eventRetentionDays: 7,
    quota: {
      pods: '5',
      'requests.cpu': '500m',
      'requests.memory': '1Gi',
      'limits.cpu': '1',
      'limits.memory': '2Gi',
      persistentvolumeclaims: '1',
      'requests.storage': '5Gi',
    },
  },
  standard: { eventRetentionDays: 30, quota: STANDARD_QUOTA },
  enterprise: {
    eventRetentionDays: 365,
    quota: {
      pods: '100',
      'requests.cpu': '16',
      'requests.memory': '32Gi',
      'limits.cpu': '32',
      'limits.memory': '64Gi',
      persistentvolumeclaims: '50',
      'requests.storage': '500Gi',
    },
  },
} as const satisfies Record<string, { eventRetentionDays: number; quota: PlanQuota }>;

export type Plan = keyof typeof PLANS;
export const DEFAULT_PLAN: Plan = 'standard';

export function isPlan(value: string): value is Plan {
  return Object.hasOwn(PLANS, value);
}

/** Days of future daily partitions pg_partman keeps ready. */
export const EVENTS_PREMAKE_DAYS = 4;
