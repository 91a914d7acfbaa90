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

/** What a plan allows per tenant: daily quotas (reset at 00:00 UTC) and a standing one. */
export interface PlanLimits {
  /** Events ingested per UTC day. */
  eventsPerDay: number;
  /** Predictions created per UTC day. */
  predictionsPerDay: number;
  /** Users a tenant may hold at once. */
  users: number;
  /** `statement_timeout` of the tenant's database transactions, in milliseconds. */
  statementTimeoutMs: number;
  /**
   * Predictions waiting for admission to the ML queue at once (docs/tasks.md, "Fair queueing"):
   * one more answers 429 `too_many_queued`.
   */
  queuedPredictions: number;
}

/**
 * Plans decide how long a tenant's events are kept (pg_partman retention), the quota of its
 * Kubernetes namespace, its quotas and its database statement timeout (`limits`). The table in
 * docs/tenancy.md lists the same numbers.
 */
export const PLANS = {
  free: {
    eventRetentionDays: 7,
    limits: {
      eventsPerDay: 10_000,
      predictionsPerDay: 500,
      users: 100,
      statementTimeoutMs: 1_000,
      queuedPredictions: 100,
    },
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
  standard: {
    eventRetentionDays: 30,
    limits: {
      eventsPerDay: 1_000_000,
      predictionsPerDay: 50_000,
      users: 100_000,
      statementTimeoutMs: 5_000,
      queuedPredictions: 2_000,
    },
    quota: STANDARD_QUOTA,
  },
  enterprise: {
    eventRetentionDays: 365,
    limits: {
      eventsPerDay: 50_000_000,
      predictionsPerDay: 2_000_000,
      users: 10_000_000,
      statementTimeoutMs: 15_000,
      queuedPredictions: 20_000,
    },
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
} as const satisfies Record<string, { eventRetentionDays: number; limits: PlanLimits; quota: PlanQuota }>;

export type Plan = keyof typeof PLANS;
export const DEFAULT_PLAN: Plan = 'standard';

export function isPlan(value: string): value is Plan {
  return Object.hasOwn(PLANS, value);
}

/** Days of future daily partitions pg_partman keeps ready. */
export const EVENTS_PREMAKE_DAYS = 4;

/**
 * Days before its first one that a new tenant's events have partitions for: a client whose clock
 * is behind, or whose events were queued around midnight UTC, sends events dated the day before.
 * Older ones (an import of history) land in the default partition: each partition costs a new
 * tenant about 4 ms of provisioning (its table, TOAST table and three btrees, each synced to disk
 * as PostgreSQL 15 builds it), and no fixed number of days covers every import.
 */
export const EVENTS_DAYS_BACK = 1;

/** Requests one window allows, for reads (GET) and for writes (everything else). */
export interface RequestBudget {
  read: number;
  write: number;
}

/** A plan's API rate limits: per API key, and for all of the tenant's keys together. */
export interface PlanRateLimits {
  key: RequestBudget;
  tenant: RequestBudget;
}

/**
 * API rate limits by plan, in requests per window (`RATE_LIMIT_WINDOW_S`, 1 s by default); the
 * table in docs/tenancy.md. A request counts against its key's and its tenant's budget of its
 * kind, and is refused (429 `rate_limited`) when either is spent.
 */
export const PLAN_RATE_LIMITS = {
  free: { key: { read: 20, write: 10 }, tenant: { read: 40, write: 20 } },
  standard: { key: { read: 100, write: 50 }, tenant: { read: 200, write: 100 } },
  enterprise: { key: { read: 500, write: 250 }, tenant: { read: 1000, write: 500 } },
} as const satisfies Record<Plan, PlanRateLimits>;

/**
 * Failed authentications allowed per client address and window: past it, the address is refused
 * (429) without its credentials being checked until the window ends.
 */
export const AUTH_FAILURE_LIMIT = { attempts: 10, windowSeconds: 60 } as const;
