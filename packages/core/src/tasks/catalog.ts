import { z } from 'zod';

/**
 * The platform's task catalog: every task's name, queue, payload schema, retry policy and timeout.
 * The publisher (through the outbox) and the worker's handlers are both typed by it, so a wrong
 * payload is a type error on one side and a validation failure on the other.
 */

export interface RetryPolicy {
  /** Retries after the first attempt; 0 means none. */
  maxRetries: number;
  /** Backoff before retry n (0-based) is min(maxDelayMs, baseDelayMs * 2^n), with +-25% jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/** The two logical queues; their Redis names come from configuration. */
export type QueueKind = 'ml' | 'platform';

export interface TaskSpec<S extends z.ZodTypeAny = z.ZodTypeAny> {
  queue: QueueKind;
  payload: S;
  retry: RetryPolicy;
  timeoutMs: number;
  /**
   * The payload field whose value is the task's fairness key: the relay admits tasks with the same
   * key to the broker a few at a time, round-robin across keys (docs/tasks.md, "Fair queueing").
   */
  fairBy?: string;
}

// Unknown fields are dropped, not refused: messages published by an older release (which carried
// more fields) still run after an upgrade. Nothing but these ids is ever read from a message.
const tenantPayload = z.object({ tenant_id: z.string().uuid() });
const tenantRetry: RetryPolicy = { maxRetries: 5, baseDelayMs: 1000, maxDelayMs: 60_000 };

/** `ml.predict` retries: a prediction is attempted at most `maxRetries + 1` times. */
export const PREDICT_RETRY: RetryPolicy = { maxRetries: 4, baseDelayMs: 500, maxDelayMs: 10_000 };

export const TASK_CATALOG = {
  /** Runs a queued prediction. Everything but the ids is read from the prediction's row. */
  'ml.predict': {
    queue: 'ml',
    payload: z.object({ tenant_id: z.string().uuid(), prediction_id: z.string().uuid() }),
    retry: PREDICT_RETRY,
    timeoutMs: 30_000,
    /** One tenant's backlog waits in the outbox instead of in front of every other tenant's. */
    fairBy: 'tenant_id',
  },
  'platform.provision_tenant': {
    queue: 'platform',
    payload: tenantPayload,
    retry: tenantRetry,
    timeoutMs: 120_000,
  },
  'platform.deprovision_tenant': {
    queue: 'platform',
    payload: tenantPayload,
    retry: tenantRetry,
    timeoutMs: 120_000,
  },
  'platform.partman_maintenance': {
    queue: 'platform',
    payload: z.object({}),
    retry: { maxRetries: 2, baseDelayMs: 5000, maxDelayMs: 60_000 },
    timeoutMs: 15 * 60_000,
  },
  /** Brings a tenant's namespace quota to its plan after a plan change. */
  'platform.apply_tenant_plan': {
    queue: 'platform',
    payload: tenantPayload,
    retry: tenantRetry,
    timeoutMs: 60_000,
  },
  /** Moves usage counters from Redis into `platform.usage` (idempotent). */
  'platform.usage_flush': {
    queue: 'platform',
    payload: z.object({}),
    retry: { maxRetries: 2, baseDelayMs: 2000, maxDelayMs: 30_000 },
    timeoutMs: 5 * 60_000,
  },
} as const satisfies Record<string, TaskSpec>;

export type TaskName = keyof typeof TASK_CATALOG;
/** What a publisher passes for task `N`. */
export type TaskPayload<N extends TaskName> = z.input<(typeof TASK_CATALOG)[N]['payload']>;
/** What a handler of task `N` receives, once validated. */
export type TaskArgs<N extends TaskName> = z.output<(typeof TASK_CATALOG)[N]['payload']>;

export const TASKS = {
  predict: 'ml.predict',
  provisionTenant: 'platform.provision_tenant',
  deprovisionTenant: 'platform.deprovision_tenant',
  partmanMaintenance: 'platform.partman_maintenance',
  usageFlush: 'platform.usage_flush',
  applyTenantPlan: 'platform.apply_tenant_plan',
} as const satisfies Record<string, TaskName>;

export function isTaskName(name: string): name is TaskName {
  return Object.hasOwn(TASK_CATALOG, name);
}

export function taskSpec<N extends TaskName>(name: N): (typeof TASK_CATALOG)[N] {
  return TASK_CATALOG[name];
}

/** Which Redis queue a task goes to, from the configured queue names. */
export function taskRouter(queues: Record<QueueKind, string>): (task: string) => string {
  return (task) => (isTaskName(task) ? queues[TASK_CATALOG[task].queue] : queues.platform);
}

/** The fairness key of a task's payload, when its catalog entry declares one. */
export function fairnessKey(task: string, kwargs: Record<string, unknown>): string | null {
  if (!isTaskName(task)) return null;
  const field = (TASK_CATALOG[task] as TaskSpec).fairBy;
  const value = field ? kwargs[field] : undefined;
  return typeof value === 'string' && value.length > 0 ? value : null;
}

export function backoffMs(policy: RetryPolicy, retries: number, random = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retries);
  return Math.round(base * (0.75 + random() * 0.5));
}

/** A task failure that retrying cannot fix: the task fails at once. */
export class PermanentTaskError extends Error {
  override name = 'PermanentError';
}

/** Publishes a task of the catalog directly; returns its id. */
export interface TaskPublisher {
  publish<N extends TaskName>(task: N, kwargs: TaskPayload<N>, options?: { id?: string }): Promise<string>;
}
