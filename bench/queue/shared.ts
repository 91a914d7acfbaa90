/** What queue.ts and the worker processes it starts agree on. */

/** The no-op task both workers run, and the queue it goes to. */
export const NOOP_TASK = 'bench.noop';
export const NOOP_QUEUE = 'bench.noop';

/**
 * A Redis database of the benchmark's own: flushed before each measurement, so that `unacked`
 * holds only this benchmark's deliveries (the tests use /3, the defaults /0).
 */
export const DEFAULT_QUEUE_REDIS_URL = 'redis://127.0.0.1:6379/6';

/** Environment of `queue/ts-worker.ts` (and, for the Redis URL and queue, of `queue/celery_noop.py`). */
export interface NoopWorkerEnv {
  BENCH_QUEUE_REDIS_URL: string;
  BENCH_QUEUE: string;
  BENCH_CONCURRENCY: string;
  /** pino level of the TypeScript worker; the Celery worker gets the same through --loglevel. */
  BENCH_WORKER_LOG_LEVEL: string;
}

/**
 * CLOCK_MONOTONIC in milliseconds. It is system-wide on Linux, and Python's `time.monotonic()`
 * reads the same clock, so times taken in different processes compare to the microsecond (which
 * `Date.now()`, whole milliseconds, cannot).
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
