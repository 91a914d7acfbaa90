import { afterAll, describe, expect, it } from 'vitest';
import {
  deprovisionTenant,
  EVENTS_DAYS_BACK,
  EVENTS_PREMAKE_DAYS,
  findTenant,
  listAudit,
  listPartitions,
  migrateTenantSchema,
  PermanentTaskError,
  provisionTenant,
  runPartmanMaintenance,
} from '../src/index.js';
import { tenantMigrations } from '../src/migrations/tenant/index.js';
import { dailyPartition, newTenantRow, partConfig, schemaExists, testDb } from './helpers.js';

const db = testDb();
afterAll(() => db.destroy());

const DAY = 86_400_000;

describe('provisionTenant', () => {
  it('creates the schema, tables and daily partitions, then marks the tenant ready', async () => {
    const tenant = await newTenantRow(db, 'free');
    await expect(provisionTenant(db, tenant.id)).resolves.toBe('done');

    const after = await findTenant(db, tenant.id);
    expect(after?.status).toBe('ready');
    expect(after?.last_error).toBeNull();
    expect(await schemaExists(db, tenant.schema_name)).toBe(true);

    const partitions = await listPartitions(db, tenant.schema_name, 'events');
    const today = new Date();
    expect(partitions).toContain(await dailyPartition(db, 'events', today));
    for (let d = 1; d <= EVENTS_PREMAKE_DAYS; d++) {
      expect(partitions).toContain(await dailyPartition(db, 'events', new Date(today.getTime() + d * DAY)));
    }
    // Events may be back-dated (within retention): the day before the tenant has a partition too,
    // so its events land in their day; older ones land in the default partition.
    for (let d = 1; d <= EVENTS_DAYS_BACK; d++) {
      expect(partitions).toContain(await dailyPartition(db, 'events', new Date(today.getTime() - d * DAY)));
    }
    expect(partitions).not.toContain(
      await dailyPartition(db, 'events', new Date(today.getTime() - (EVENTS_DAYS_BACK + 1) * DAY)),
    );
    // Each day from EVENTS_DAYS_BACK before to EVENTS_PREMAKE_DAYS + 1 after, and the default one.
    expect(partitions).toHaveLength(EVENTS_DAYS_BACK + 1 + EVENTS_PREMAKE_DAYS + 1 + 1);
    const config = await partConfig(db, `${tenant.schema_name}.events`);
    expect(config).toMatchObject({ retention: '7 days', premake: EVENTS_PREMAKE_DAYS });

    const applied = await db.withSchema(tenant.schema_name).table('knex_migrations').pluck('name');
    expect(applied).toEqual(tenantMigrations.map((m) => m.name));
    const audit = await listAudit(db, tenant.id);
    expect(audit.map((a) => a.action)).toContain('tenant.provisioned');
  });

  it('is idempotent: a second run changes nothing and ends ready', async () => {
    const tenant = await newTenantRow(db);
    await provisionTenant(db, tenant.id);
    const before = await listPartitions(db, tenant.schema_name, 'events');

    // A ready tenant is left alone; forcing it back through every step converges to the same state.
    await expect(provisionTenant(db, tenant.id)).resolves.toBe('skipped');
    await db
      .withSchema('platform')
      .table('tenants')
      .where({ id: tenant.id })
      .update({ status: 'provisioning' });
    await expect(provisionTenant(db, tenant.id)).resolves.toBe('done');

    expect((await findTenant(db, tenant.id))?.status).toBe('ready');
    expect(await listPartitions(db, tenant.schema_name, 'events')).toEqual(before);
    const applied = await db.withSchema(tenant.schema_name).table('knex_migrations').count({ n: '*' });
    expect(applied[0]?.n).toBe(tenantMigrations.length);
  });

  it.each(['schema', 'migrations', 'partitions'] as const)(
    'recovers from a crash right after the %s step',
    async (crashStep) => {
      const tenant = await newTenantRow(db);
      const crash = new Error(`simulated crash after ${crashStep}`);
      await expect(
        provisionTenant(db, tenant.id, {
          afterStep: (step) => {
            if (step === crashStep) throw crash;
          },
        }),
      ).rejects.toBe(crash);
      const failed = await findTenant(db, tenant.id);
      expect(failed?.status).toBe('failed');
      expect(failed?.last_error).toBe(crash.message);

      await expect(provisionTenant(db, tenant.id)).resolves.toBe('done');
      expect((await findTenant(db, tenant.id))?.status).toBe('ready');
      expect(await listPartitions(db, tenant.schema_name, 'events')).toContain(
        await dailyPartition(db, 'events', new Date()),
      );
    },
  );

  it('resumes a tenant left mid-migration by a runner that died, once its lease expires', async () => {
    const tenant = await newTenantRow(db);
    // The dead runner created the schema and applied only the first migration.
    await db.raw(`create schema "${tenant.schema_name}"`);
    await migrateTenantSchema(db, tenant.schema_name, tenantMigrations.slice(0, 1));
    await db
      .withSchema('platform')
      .table('tenants')
      .where({ id: tenant.id })
      .update({ lease_until: db.raw("now() + interval '1 hour'"), provisioning_step: 'migrations' });

    // While the lease is live nobody else runs it.
    await expect(provisionTenant(db, tenant.id)).resolves.toBe('skipped');

    await db
      .withSchema('platform')
      .table('tenants')
      .where({ id: tenant.id })
      .update({ lease_until: db.raw("now() - interval '1 second'") });
    await expect(provisionTenant(db, tenant.id)).resolves.toBe('done');
    expect((await findTenant(db, tenant.id))?.status).toBe('ready');
  });

  it('records the error and stays failed when a step cannot succeed without an operator, then succeeds on retry', async () => {
    const tenant = await newTenantRow(db);
    await db.raw(`create schema "${tenant.schema_name}"`);
    await db.raw(`create table "${tenant.schema_name}".users (id int)`);
    // Retrying the task cannot fix it: it fails as permanent (no automatic retry), for an operator.
    const failure = provisionTenant(db, tenant.id);
    await expect(failure).rejects.toThrow(/already exists/);
    await expect(failure).rejects.toBeInstanceOf(PermanentTaskError);
    const failed = await findTenant(db, tenant.id);
    expect(failed?.status).toBe('failed');
    expect(failed?.last_error).toMatch(/users.*already exists/);

    await db.raw(`drop table "${tenant.schema_name}".users`);
    await expect(provisionTenant(db, tenant.id)).resolves.toBe('done');
  });
});

describe('retention', () => {
  it('drops partitions older than the plan retention when maintenance runs', async () => {
    const tenant = await newTenantRow(db, 'free');
    await provisionTenant(db, tenant.id);
    const parent = `${tenant.schema_name}.events`;
    const old = new Date(Date.now() - 20 * DAY);
    await db.raw('select partman.create_partition_time(?, array[?::timestamptz])', [
      parent,
      old.toISOString(),
    ]);
    const oldPartition = await dailyPartition(db, 'events', old);
    expect(await listPartitions(db, tenant.schema_name, 'events')).toContain(oldPartition);

    await runPartmanMaintenance(db, parent);

    const after = await listPartitions(db, tenant.schema_name, 'events');
    expect(after).not.toContain(oldPartition);
    expect(after).toContain(await dailyPartition(db, 'events', new Date()));
  });
});

describe('deprovisionTenant', () => {
  it('revokes keys, removes the pg_partman config and drops the schema', async () => {
    const tenant = await newTenantRow(db);
    await provisionTenant(db, tenant.id);
    const template = (await partConfig(db, `${tenant.schema_name}.events`))?.template_table;
    expect(template).toBeTruthy();
    await db.withSchema('platform').table('tenants').where({ id: tenant.id }).update({ status: 'deleting' });

    await expect(deprovisionTenant(db, tenant.id)).resolves.toBe('done');
    expect((await findTenant(db, tenant.id))?.status).toBe('deleted');
    expect(await schemaExists(db, tenant.schema_name)).toBe(false);
    expect(await partConfig(db, `${tenant.schema_name}.events`)).toBeUndefined();
    const templateLeft = await db.raw<{ rows: Array<{ t: string | null }> }>(
      'select to_regclass(?)::text as t',
      [template as string],
    );
    expect(templateLeft.rows[0]?.t).toBeNull();
    // Running it again is harmless.
    await expect(deprovisionTenant(db, tenant.id)).resolves.toBe('skipped');
  });
});
