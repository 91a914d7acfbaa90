import {
  backoffMs,
  PermanentTaskError,
  type RetryPolicy,
  TASK_CATALOG,
  type TaskArgs,
  type TaskName,
} from '@platform/core';
import type { Logger } from 'pino';
import type { z } from 'zod';

export { backoffMs, type RetryPolicy };

/** An error that retrying cannot fix: the task fails at once. */
export const PermanentError = PermanentTaskError;

export interface TaskContext {
  taskId: string;
  retries: number;
  signal: AbortSignal;
  log: Logger;
}

/** How one task of a batch ended: its result, or the error it fails (or is retried) with. */
export type TaskOutcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A task the engine can run: its payload schema, retry policy, timeout and handler. */
export interface TaskDefinition<S extends z.ZodTypeAny = z.ZodTypeAny> {
  name: string;
  /** Validates the message's kwargs. An invalid payload fails at once (no retry). */
  payload: S;
  retry: RetryPolicy;
  timeoutMs: number;
  handler(payload: z.output<S>, ctx: TaskContext): Promise<unknown>;
  /**
   * Runs several deliveries of this task in one call (the engine gathers them, up to its batch
   * size and batch wait): one outcome per payload, in order. Each delivery then succeeds, retries
   * or fails on its own. Without it the task always runs alone.
   */
  batchHandler?(payloads: Array<z.output<S>>, ctx: BatchContext): Promise<TaskOutcome[]>;
}

export interface BatchContext {
  signal: AbortSignal;
  log: Logger;
}

/**
 * A handler for a task of the platform's catalog (packages/core/src/tasks/catalog.ts): the schema,
 * retry policy and timeout come from the catalog; the handler receives the validated payload.
 */
export function handleTask<N extends TaskName>(
  name: N,
  handler: (payload: TaskArgs<N>, ctx: TaskContext) => Promise<unknown>,
  batchHandler?: (payloads: Array<TaskArgs<N>>, ctx: BatchContext) => Promise<TaskOutcome[]>,
): TaskDefinition {
  const spec = TASK_CATALOG[name];
  return {
    name,
    payload: spec.payload,
    retry: spec.retry,
    timeoutMs: spec.timeoutMs,
    handler: handler as TaskDefinition['handler'],
    ...(batchHandler ? { batchHandler: batchHandler as TaskDefinition['batchHandler'] } : {}),
  };
}

/** A task outside the platform's catalog (engine tests define their own). */
export function defineTask<S extends z.ZodTypeAny>(definition: TaskDefinition<S>): TaskDefinition<S> {
  return definition;
}
