import type { Logger } from 'pino';
import type { z } from 'zod';

export interface RetryPolicy {
  /** Retries after the first attempt; 0 means none. */
  maxRetries: number;
  /** Backoff before retry n (0-based) is min(maxDelayMs, baseDelayMs * 2^n), with +-25% jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface TaskContext {
  taskId: string;
  retries: number;
  signal: AbortSignal;
  log: Logger;
}

/** A task of the catalog: its payload schema, retry policy, timeout and handler. */
export interface TaskDefinition<S extends z.ZodTypeAny = z.ZodTypeAny> {
  name: string;
  /** Validates the message's kwargs. An invalid payload fails at once (no retry). */
  payload: S;
  retry: RetryPolicy;
  timeoutMs: number;
  handler(payload: z.output<S>, ctx: TaskContext): Promise<unknown>;
}

export function defineTask<S extends z.ZodTypeAny>(definition: TaskDefinition<S>): TaskDefinition<S> {
  return definition;
}

/** An error that retrying cannot fix: the task fails at once. */
export class PermanentError extends Error {
  override name = 'PermanentError';
}

export function backoffMs(policy: RetryPolicy, retries: number, random = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retries);
  return Math.round(base * (0.75 + random() * 0.5));
}
