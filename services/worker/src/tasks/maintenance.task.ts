import { randomUUID } from 'node:crypto';
import { type Database, runPartmanMaintenance } from '@platform/core';
import type { Redis } from 'ioredis';
import { handleTask } from '../engine/catalog.js';

export const MAINTENANCE_LOCK = 'platform:lock:partman_maintenance';

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * `platform.partman_maintenance`: premakes partitions and applies retention for every partitioned
 * table. One runner at a time across replicas: a run that finds the lock held does nothing.
 */
export function partmanMaintenanceTask(deps: { db: Database; redis: Redis }) {
  return handleTask('platform.partman_maintenance', async () => {
    const token = randomUUID();
    const acquired = await deps.redis.set(MAINTENANCE_LOCK, token, 'PX', 15 * 60_000, 'NX');
    if (acquired !== 'OK') return { ran: false, reason: 'another runner holds the lock' };
    try {
      const started = Date.now();
      await runPartmanMaintenance(deps.db);
      return { ran: true, ms: Date.now() - started };
    } finally {
      await deps.redis.eval(RELEASE, 1, MAINTENANCE_LOCK, token);
    }
  });
}
