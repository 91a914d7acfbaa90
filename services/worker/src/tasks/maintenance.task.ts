import { randomUUID } from 'node:crypto';
import { type Database, runPartmanMaintenancePass } from '@platform/core';
import type { Redis } from 'ioredis';
import { handleTask } from '../engine/catalog.js';

export const MAINTENANCE_LOCK = 'platform:lock:partman_maintenance';

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * `platform.partman_maintenance`: premakes partitions and applies retention for the partitioned
 * tables that need it (one catalog query finds them), one table per transaction
 * (`runPartmanMaintenancePass`), so no run holds the locks of many tenants' partitions. One runner
 * at a time across replicas: a run that finds the lock held does nothing. A pass starts no table
 * after `maxSeconds` (`MAINTENANCE_MAX_S`): the tables still due are counted as deferred and done by the
 * next pass, so a pass never outlives its lock (15 minutes) and its task timeout. A table that
 * fails is reported and retried on the next pass; the others are done. `concurrency` tables
 * (`MAINTENANCE_CONCURRENCY`) are maintained at once.
 */
export function partmanMaintenanceTask(deps: {
  db: Database;
  redis: Redis;
  maxSeconds: number;
  concurrency: number;
}) {
  const maxMs = deps.maxSeconds * 1000;
  return handleTask('platform.partman_maintenance', async (_payload, ctx) => {
    const token = randomUUID();
    const acquired = await deps.redis.set(MAINTENANCE_LOCK, token, 'PX', 15 * 60_000, 'NX');
    if (acquired !== 'OK') return { ran: false, reason: 'another runner holds the lock' };
    try {
      const pass = await runPartmanMaintenancePass(deps.db, {
        signal: ctx.signal,
        maxMs,
        concurrency: deps.concurrency,
      });
      const summary = {
        ran: true,
        ms: Math.round(pass.totalMs),
        tables: pass.tables,
        due: pass.due,
        up_to_date: pass.upToDate,
        plan_ms: Math.round(pass.planMs * 10) / 10,
        skipped: pass.skipped,
        deferred: pass.deferred,
        failed: pass.failed.length,
        longest_ms: Math.round(pass.longestMs * 10) / 10,
        longest_table: pass.longestTable,
      };
      if (pass.failed.length > 0) {
        ctx.log.warn(
          { ...summary, failures: pass.failed.slice(0, 20) },
          'maintenance failed for some tables',
        );
      } else {
        ctx.log.info(summary, 'maintenance pass done');
      }
      return summary;
    } finally {
      await deps.redis.eval(RELEASE, 1, MAINTENANCE_LOCK, token);
    }
  });
}
