import { type Database, TASKS, UsageCounters, UsageService } from '@platform/core';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { defineTask } from '../engine/catalog.js';

/**
 * `platform.usage_flush`: moves the API's usage counters from Redis into `platform.usage`. The
 * flush is idempotent (core's `UsageService.flush`), so concurrent runs, redeliveries and a worker
 * killed half-way neither lose nor double a count; no lock is needed.
 */
export function usageFlushTask(deps: { db: Database; redis: Redis }) {
  const usage = new UsageService(deps.db, new UsageCounters(deps.redis));
  return defineTask({
    name: TASKS.usageFlush,
    payload: z.object({}).passthrough(),
    retry: { maxRetries: 2, baseDelayMs: 2000, maxDelayMs: 30_000 },
    timeoutMs: 5 * 60_000,
    async handler() {
      const started = Date.now();
      const result = await usage.flush();
      return { ...result, ms: Date.now() - started };
    },
  });
}
