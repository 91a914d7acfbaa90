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
  /**
   * Called when a delivery of this task is dead-lettered without its handler having decided its
   * end (`killed_consumers`: it was running each time its consumer died), with its payload (when it
   * still validates) and why: whatever the task was doing has to be closed here. Errors are
   * logged, not retried.
   */
  deadLettered?(payload: z.output<S>, reason: DeadLetterReason): Promise<void>;
}

/** Why a delivery was dead-lettered: the `x-dead-letter` header's reason and error. */
export interface DeadLetterReason {
  reason: string;
  error: string;
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
  more: {
    batch?: (payloads: Array<TaskArgs<N>>, ctx: BatchContext) => Promise<TaskOutcome[]>;
    deadLettered?: (payload: TaskArgs<N>, reason: DeadLetterReason) => Promise<void>;
  } = {},
): TaskDefinition {
  const spec = TASK_CATALOG[name];
  return {
    name,
    payload: spec.payload,
    retry: spec.retry,
    timeoutMs: spec.timeoutMs,
    handler: handler as TaskDefinition['handler'],
    ...(more.batch ? { batchHandler: more.batch as TaskDefinition['batchHandler'] } : {}),
    ...(more.deadLettered ? { deadLettered: more.deadLettered as TaskDefinition['deadLettered'] } : {}),
  };
}

/** A task outside the platform's catalog (engine tests define their own). */
export function defineTask<S extends z.ZodTypeAny>(definition: TaskDefinition<S>): TaskDefinition<S> {
  return definition;
}
