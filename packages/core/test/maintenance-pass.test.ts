import { afterAll, describe, expect, it } from 'vitest';
import { listPartitions, provisionTenant, quoteIdent, runPartmanMaintenancePass } from '../src/index.js';
import { dailyPartition, newTenantRow, testDb } from './helpers.js';

const db = testDb(4);
afterAll(() => db.destroy());

const DAY = 86_400_000;

async function provisioned() {
  const tenant = await newTenantRow(db);
  await provisionTenant(db, tenant.id);
  return tenant;
}

/** With data in the set, pg_partman premakes relative to it (an empty set gets no new partitions). */
async function raisePremake(schema: string): Promise<number> {
  await db.raw(`insert into ${quoteIdent(schema)}.events (type, occurred_at) values ('test', now())`);
  const res = await db.raw<{ rows: Array<{ premake: number }> }>(
    'update partman.part_config set premake = premake + 1 where parent_table = ? returning premake',
    [`${schema}.events`],
  );
  return res.rows[0]?.premake ?? 0;
}

describe('runPartmanMaintenancePass', () => {
  it('maintains every registered table on its own; one that fails does not undo or stop the others', async () => {
    const healthy = await provisioned();
    const broken = await provisioned();
    const premake = await raisePremake(healthy.schema_name);
    await raisePremake(broken.schema_name);
    const startOfDay = Math.floor(Date.now() / DAY) * DAY;
    const newest = await dailyPartition(db, 'events', new Date(Date.now() + premake * DAY));
    expect(await listPartitions(db, healthy.schema_name, 'events')).not.toContain(newest);
    // A partition made by hand covers the day pg_partman must add for the broken tenant.
    await db.raw(
      `create table ${quoteIdent(broken.schema_name)}.events_by_hand partition of ${quoteIdent(broken.schema_name)}.events
         for values from (?) to (?)`,
      [
        new Date(startOfDay + premake * DAY).toISOString(),
        new Date(startOfDay + (premake + 1) * DAY).toISOString(),
      ],
    );
    try {
      const seen: string[] = [];
      const pass = await runPartmanMaintenancePass(db, {
        concurrency: 2,
        onTable: (e) => seen.push(e.parentTable),
      });
      expect(pass.tables).toBeGreaterThanOrEqual(2);
      expect(seen).toEqual(
        expect.arrayContaining([`${healthy.schema_name}.events`, `${broken.schema_name}.events`]),
      );
      expect(pass.failed).toContainEqual({
        parentTable: `${broken.schema_name}.events`,
        error: expect.any(String),
      });
      expect(pass.failed.map((f) => f.parentTable)).not.toContain(`${healthy.schema_name}.events`);
      expect(pass.longestMs).toBeGreaterThan(0);
      expect(pass.longestMs).toBeLessThanOrEqual(pass.totalMs);
      expect(await listPartitions(db, healthy.schema_name, 'events')).toContain(newest);
    } finally {
      await db.raw(`drop table ${quoteIdent(broken.schema_name)}.events_by_hand`);
    }
  });

  it('starts no table once aborted', async () => {
    const tenant = await provisioned();
    const premake = await raisePremake(tenant.schema_name);
    const controller = new AbortController();
    controller.abort();
    const pass = await runPartmanMaintenancePass(db, { signal: controller.signal });
    expect(pass.skipped).toBe(pass.tables);
    expect(pass.failed).toEqual([]);
    const newest = await dailyPartition(db, 'events', new Date(Date.now() + premake * DAY));
    expect(await listPartitions(db, tenant.schema_name, 'events')).not.toContain(newest);
  });
});
