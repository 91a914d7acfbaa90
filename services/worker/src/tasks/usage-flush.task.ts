import { type Database, UsageCounters, UsageService } from '@platform/core';
import type { Redis } from 'ioredis';
import { handleTask } from '../engine/catalog.js';

/**
 * `platform.usage_flush`: moves the API's usage counters from Redis into `platform.usage`. The
 * flush is idempotent (core's `UsageService.flush`), so concurrent runs, redeliveries and a worker
 * killed half-way neither lose nor double a count; no lock is needed.
 */
export function usageFlushTask(deps: { db: Database; redis: Redis }) {
  const usage = new UsageService(deps.db, new UsageCounters(deps.redis));
  return handleTask('platform.usage_flush', async () => {
    const started = Date.now();
    const result = await usage.flush();
    return { ...result, ms: Date.now() - started };
  });
}
