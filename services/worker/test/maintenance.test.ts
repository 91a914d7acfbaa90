import { afterAll, describe, expect, it } from 'vitest';
import { MAINTENANCE_LOCK, partmanMaintenanceTask } from '../src/tasks/maintenance.task.js';
import { readyTenant, testDb } from './fixtures.js';
import { newRedis, silentLog } from './helpers.js';

const db = testDb();
const redis = newRedis();
afterAll(async () => {
  await db.destroy();
  redis.disconnect();
});

const context = () => ({
  taskId: 'maintenance-test',
  retries: 0,
  signal: new AbortController().signal,
  log: silentLog,
});

describe('platform.partman_maintenance', () => {
  it('starts no table past its time budget; the next pass does the deferred ones', async () => {
    // A worker that an earlier file killed mid-pass leaves the lock until its TTL; none runs now.
    await redis.del(MAINTENANCE_LOCK);
    const tenant = await readyTenant(db);
    // Two more days of premake than the tenant has: its events table is due.
    await db.raw('update partman.part_config set premake = premake + 2 where parent_table = ?', [
      `${tenant.schema}.events`,
    ]);
    const partitions = async () =>
      Number(
        (
          await db.raw<{ rows: Array<{ n: string }> }>(
            'select count(*) as n from pg_inherits where inhparent = ?::regclass',
            [`${tenant.schema}.events`],
          )
        ).rows[0]?.n,
      );
    const before = await partitions();

    const spent = partmanMaintenanceTask({ db, redis, maxSeconds: 0, concurrency: 2 });
    const bounded = (await spent.handler({}, context())) as { ran: boolean; due: number; deferred: number };
    expect(bounded.ran).toBe(true);
    expect(bounded.due).toBeGreaterThanOrEqual(1);
    expect(bounded.deferred).toBe(bounded.due);
    expect(await partitions()).toBe(before);

    const next = partmanMaintenanceTask({ db, redis, maxSeconds: 600, concurrency: 2 });
    // Other suites' tenants share this database (some left broken on purpose): this one's table
    // is what the pass must have done.
    const done = (await next.handler({}, context())) as { deferred: number };
    expect(done.deferred).toBe(0);
    expect(await partitions()).toBeGreaterThan(before);
  });
});
