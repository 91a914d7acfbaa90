import { afterAll, describe, expect, it } from 'vitest';
import {
  listPartitions,
  maintenancePlan,
  provisionTenant,
  quoteIdent,
  runPartmanMaintenancePass,
} from '../src/index.js';
import type { Plan } from '../src/tenancy/plans.js';
import { dailyPartition, newTenantRow, partitionShapes, testDb } from './helpers.js';

const db = testDb(4);
afterAll(() => db.destroy());

const DAY = 86_400_000;

async function provisioned(plan: Plan = 'standard') {
  const tenant = await newTenantRow(db, plan);
  await provisionTenant(db, tenant.id);
  return tenant;
}

/**
 * Premake raised past the newest partition, counted from today (`infinite_time_partitions`:
 * whatever data the set holds). A new tenant has its partitions up to one day past premake, so
 * two more days: the next pass must create the day `premake` days from now, at any time of day.
 */
async function raisePremake(schema: string): Promise<number> {
  const res = await db.raw<{ rows: Array<{ premake: number }> }>(
    'update partman.part_config set premake = premake + 2, infinite_time_partitions = true where parent_table = ? returning premake',
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
    const newest = await dailyPartition(db, 'events', new Date(Date.now() + premake * DAY));
    expect(await listPartitions(db, healthy.schema_name, 'events')).not.toContain(newest);
    // A partition made by hand covers the day pg_partman must add for the broken tenant.
    const day = (n: number) => `date_trunc('day', now()) + interval '${n} days'`;
    await db.raw(
      `create table ${quoteIdent(broken.schema_name)}.events_by_hand partition of ${quoteIdent(broken.schema_name)}.events
         for values from (${day(premake)}) to (${day(premake + 1)})`,
    );
    try {
      const seen: string[] = [];
      const pass = await runPartmanMaintenancePass(db, { onTable: (e) => seen.push(e.parentTable) });
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

  it('waits for another session running pg_partman maintenance instead of skipping the table', async () => {
    const tenant = await provisioned();
    const premake = await raisePremake(tenant.schema_name);
    const newest = await dailyPartition(db, 'events', new Date(Date.now() + premake * DAY));
    const other = testDb(1);
    let pass: ReturnType<typeof runPartmanMaintenancePass> | undefined;
    try {
      await other.transaction(async (trx) => {
        // What partman.run_maintenance takes: while it is held, run_maintenance returns doing nothing.
        await trx.raw("select pg_advisory_xact_lock(hashtext('pg_partman run_maintenance'))");
        pass = runPartmanMaintenancePass(db);
        const deadline = Date.now() + 20_000;
        for (;;) {
          const waiting = await trx.raw<{ rows: unknown[] }>(
            `select 1 from pg_locks where locktype = 'advisory' and not granted and pid <> pg_backend_pid()
               and objid = (hashtext('pg_partman run_maintenance')::bigint & 4294967295)`,
          );
          if (waiting.rows.length > 0) break;
          if (Date.now() > deadline) throw new Error('the pass never waited for the lock');
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      });
      // The lock went with the transaction's commit; the pass then maintained every table.
      const result = await pass;
      expect(result?.failed.map((f) => f.parentTable)).not.toContain(`${tenant.schema_name}.events`);
      const partitions = await listPartitions(db, tenant.schema_name, 'events');
      expect(partitions).toContain(newest);
    } finally {
      await pass?.catch(() => undefined);
      await other.destroy();
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

  it('leaves alone the tables that need nothing and maintains those that do', async () => {
    const clean = await provisioned();
    const short = await provisioned();
    const expired = await provisioned('free');
    const table = (t: { schema_name: string }) => `${t.schema_name}.events`;
    const need = async () => new Map((await maintenancePlan(db)).map((n) => [n.parentTable, n]));

    // Just provisioned: premake satisfied, nothing past retention.
    const fresh = await need();
    for (const t of [clean, short, expired]) {
      expect(fresh.get(table(t))).toMatchObject({ due: false, reason: null, premade: expect.any(Number) });
    }
    // A table whose premake follows its newest row is not decided from the catalogs: always due.
    expect(fresh.get('platform.audit_log')).toMatchObject({ due: true, reason: 'data' });

    // One more day to premake for one tenant, a partition past the free plan's 7 days for another.
    const premake = await raisePremake(short.schema_name);
    const newest = await dailyPartition(db, 'events', new Date(Date.now() + premake * DAY));
    const old = new Date(Date.now() - 20 * DAY);
    await db.raw('select partman.create_partition_time(?, array[?::timestamptz])', [
      table(expired),
      old.toISOString(),
    ]);
    const oldPartition = await dailyPartition(db, 'events', old);
    const before = await need();
    expect(before.get(table(clean))).toMatchObject({ due: false });
    expect(before.get(table(short))).toMatchObject({ due: true, reason: 'premake' });
    expect(before.get(table(expired))).toMatchObject({ due: true, reason: 'retention' });
    const cleanPartitions = await listPartitions(db, clean.schema_name, 'events');

    const seen: string[] = [];
    const pass = await runPartmanMaintenancePass(db, { onTable: (e) => seen.push(e.parentTable) });
    expect(seen).toEqual(expect.arrayContaining([table(short), table(expired)]));
    expect(seen).not.toContain(table(clean));
    expect(pass.upToDate).toBeGreaterThanOrEqual(1);
    expect(pass.due + pass.upToDate).toBe(pass.tables);
    expect(pass.failed).toEqual([]);
    expect(await listPartitions(db, short.schema_name, 'events')).toContain(newest);
    expect(await listPartitions(db, expired.schema_name, 'events')).not.toContain(oldPartition);
    expect(await listPartitions(db, clean.schema_name, 'events')).toEqual(cleanPartitions);

    // Done: neither needs anything now.
    const after = await need();
    expect(after.get(table(short))).toMatchObject({ due: false });
    expect(after.get(table(expired))).toMatchObject({ due: false });

    // With `all`, the tables that need nothing are maintained too.
    const everything: string[] = [];
    const full = await runPartmanMaintenancePass(db, {
      all: true,
      onTable: (e) => everything.push(e.parentTable),
    });
    expect(full.upToDate).toBe(0);
    expect(everything).toContain(table(clean));
  });

  it('defers the due tables it has no time left for to the next pass', async () => {
    const tenant = await provisioned();
    const premake = await raisePremake(tenant.schema_name);
    const newest = await dailyPartition(db, 'events', new Date(Date.now() + premake * DAY));
    const bounded = await runPartmanMaintenancePass(db, { maxMs: 0 });
    expect(bounded.deferred).toBe(bounded.due);
    expect(bounded.deferred).toBeGreaterThanOrEqual(1);
    expect(await listPartitions(db, tenant.schema_name, 'events')).not.toContain(newest);
    const next = await runPartmanMaintenancePass(db);
    expect(next.deferred).toBe(0);
    expect(await listPartitions(db, tenant.schema_name, 'events')).toContain(newest);
  });

  it('makes the missing days of a plain set with CREATE TABLE ... PARTITION OF, as pg_partman makes them', async () => {
    const [byPartman, direct, templated] = [await provisioned(), await provisioned(), await provisioned()];
    const table = (t: { schema_name: string }) => `${t.schema_name}.events`;
    for (const t of [byPartman, direct, templated]) await raisePremake(t.schema_name);
    // A template with an index is one pg_partman must apply to new partitions: left to it.
    const template = await db.raw<{ rows: Array<{ template_table: string }> }>(
      'select template_table from partman.part_config where parent_table = ?',
      [table(templated)],
    );
    const templateTable = template.rows[0]?.template_table ?? '';
    await db.raw(`create index on ${templateTable.split('.').map(quoteIdent).join('.')} (type)`);

    const plan = new Map((await maintenancePlan(db)).map((n) => [n.parentTable, n]));
    expect(plan.get(table(direct))).toMatchObject({ reason: 'premake', plain: true });
    expect(plan.get(table(byPartman))).toMatchObject({ reason: 'premake', plain: true });
    expect(plan.get(table(templated))).toMatchObject({ reason: 'premake', plain: false });
    const missing = plan.get(table(direct))?.create ?? [];
    expect(missing.length).toBeGreaterThanOrEqual(1);

    await db.raw('select partman.create_partition_time(?, ?::timestamptz[], false)', [
      table(byPartman),
      missing,
    ]);
    const how = new Map<string, string>();
    const pass = await runPartmanMaintenancePass(db, {
      onTable: (e) => how.set(e.parentTable, e.how),
      concurrency: 2,
    });
    expect(pass.failed.filter((f) => f.parentTable.startsWith('tenant_'))).toEqual([]);
    expect(how.get(table(direct))).toBe('direct');
    expect(how.get(table(templated))).toBe('partman');

    const directShapes = await partitionShapes(db, direct.schema_name, 'events');
    expect(directShapes).toEqual(await partitionShapes(db, byPartman.schema_name, 'events'));
    const newest = await dailyPartition(db, 'events', new Date(missing.at(-1) ?? ''));
    expect(directShapes.map((p) => p.name)).toContain(newest);
    expect(directShapes.find((p) => p.name === newest)).toMatchObject({ indexes: 2, toast: true });
    expect((await listPartitions(db, templated.schema_name, 'events')).includes(newest)).toBe(true);
    const after = new Map((await maintenancePlan(db)).map((n) => [n.parentTable, n]));
    expect(after.get(table(direct))).toMatchObject({ due: false });
  });

  it('deletes the rows of a default partition past the retention, as retention drops partitions', async () => {
    // The free plan keeps 7 days; a new tenant's partitions start the day before it.
    const [direct, whole, kept] = [
      await provisioned('free'),
      await provisioned('free'),
      await provisioned('free'),
    ];
    const table = (t: { schema_name: string }) => `${t.schema_name}.events`;
    const at = (days: number) => new Date(Date.now() - days * DAY).toISOString();
    for (const t of [direct, whole, kept]) {
      await db.raw(
        `insert into ${quoteIdent(t.schema_name)}.events (type, occurred_at)
           values ('expired', ?), ('kept', ?), ('today', now())`,
        [at(10), at(3)],
      );
    }
    await db.raw('update partman.part_config set retention_keep_table = true where parent_table = ?', [
      table(kept),
    ]);
    const rows = async (t: { schema_name: string }) =>
      (
        await db.raw<{ rows: Array<{ type: string; partition: string }> }>(
          `select type, tableoid::regclass::text as partition from ${quoteIdent(t.schema_name)}.events order by type`,
        )
      ).rows;
    const inDefault = `${direct.schema_name}.events_default`;
    expect((await rows(direct)).filter((r) => r.partition === inDefault).map((r) => r.type)).toEqual([
      'expired',
      'kept',
    ]);

    // One tenant due for premake (made directly), the others through pg_partman (`all`).
    await raisePremake(direct.schema_name);
    const how = new Map<string, string>();
    const pass = await runPartmanMaintenancePass(db, { onTable: (e) => how.set(e.parentTable, e.how) });
    expect(pass.failed.filter((f) => f.parentTable.startsWith('tenant_'))).toEqual([]);
    expect(how.get(table(direct))).toBe('direct');
    expect((await rows(direct)).map((r) => r.type)).toEqual(['kept', 'today']);
    expect((await rows(whole)).map((r) => r.type)).toEqual(['expired', 'kept', 'today']);

    const full = await runPartmanMaintenancePass(db, {
      all: true,
      onTable: (e) => how.set(e.parentTable, e.how),
    });
    expect(full.failed.filter((f) => f.parentTable.startsWith('tenant_'))).toEqual([]);
    expect(how.get(table(whole))).toBe('partman');
    expect((await rows(whole)).map((r) => r.type)).toEqual(['kept', 'today']);
    // A set that keeps its expired partitions as tables keeps its default rows too.
    expect((await rows(kept)).map((r) => r.type)).toEqual(['expired', 'kept', 'today']);
  });
});
