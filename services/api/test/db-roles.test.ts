import { createDatabase, listPartitions, PLANS, runPartmanMaintenance, schemaForSlug } from '@platform/core';
import { testDatabaseUrl, testRuntimeDatabaseUrl, waitFor } from '@platform/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi, type TestTenant } from './helpers.js';

// The API and the worker run as the runtime role, migrations and provisioning as the owner
// (docs/security.md, item 4). Every suite runs that way; this one proves what the runtime role
// cannot do while the API works as it.
const ownerUrl = testDatabaseUrl();
const runtimeUrl = testRuntimeDatabaseUrl();
const runtimeRole = decodeURIComponent(new URL(runtimeUrl).username);
const ownerRole = decodeURIComponent(new URL(ownerUrl).username);
const owner = createDatabase({ url: ownerUrl, poolMax: 2 });
const runtime = createDatabase({ url: runtimeUrl, poolMax: 2, applicationName: 'db-roles-test' });

let t: TestApi;
let tenant: TestTenant;
beforeAll(async () => {
  t = await startTestApi();
  tenant = await t.createTenant();
});
afterAll(async () => {
  await t?.stop();
  await runtime.destroy();
  await owner.destroy();
});

/** The SQLSTATE a statement fails with as the runtime role (undefined if it succeeds). */
async function failure(sql: string, bindings: readonly unknown[] = []): Promise<string | undefined> {
  try {
    await runtime.raw(sql, bindings as never);
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

const INSUFFICIENT_PRIVILEGE = '42501';

describe('database roles', () => {
  it('the roles differ and the runtime role has no attribute that allows DDL elsewhere', async () => {
    expect(runtimeRole).not.toBe(ownerRole);
    const { rows } = await owner.raw<{
      rows: Array<{ rolsuper: boolean; rolcreatedb: boolean; rolcreaterole: boolean; rolbypassrls: boolean }>;
    }>('select rolsuper, rolcreatedb, rolcreaterole, rolbypassrls from pg_roles where rolname = ?', [
      runtimeRole,
    ]);
    expect(rows[0]).toEqual({
      rolsuper: false,
      rolcreatedb: false,
      rolcreaterole: false,
      rolbypassrls: false,
    });
    const owns = await owner.raw<{ rows: unknown[] }>(
      `select 1 from pg_namespace where pg_get_userbyid(nspowner) = ?
       union all select 1 from pg_class where pg_get_userbyid(relowner) = ?`,
      [runtimeRole, runtimeRole],
    );
    expect(owns.rows).toHaveLength(0);
  });

  it('the API connects as the runtime role, the worker as the runtime role and, for provisioning, the owner', async () => {
    // The tenant was provisioned by the worker; its API key was created through the API.
    const { rows } = await owner.raw<{ rows: Array<{ application_name: string; usename: string }> }>(
      `select distinct application_name, usename from pg_stat_activity
        where datname = current_database() and application_name in ('api', 'worker', 'worker-owner')`,
    );
    const users = (app: string) =>
      new Set(rows.filter((r) => r.application_name === app).map((r) => r.usename));
    expect([...users('api')]).toEqual([runtimeRole]);
    expect([...users('worker')]).toEqual([runtimeRole]);
    expect([...users('worker-owner')]).toEqual([ownerRole]);
    expect(t.worker.ownerDb).not.toBe(t.worker.db);
  });

  it('cannot DROP, CREATE nor ALTER in the control schema', async () => {
    expect(await failure('drop table platform.tenants')).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await failure('create table platform.intruder (id int)')).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await failure('create view platform.intruder as select 1')).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await failure('alter table platform.api_keys add column intruder int')).toBe(
      INSUFFICIENT_PRIVILEGE,
    );
    expect(await failure('truncate platform.audit_log')).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await failure('drop schema platform cascade')).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await failure('create schema intruder')).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await failure('update partman.part_config set retention = null')).toBe(INSUFFICIENT_PRIVILEGE);
    // The one function it may call changes only a tenant's events retention.
    expect(await failure("select platform.set_partman_retention('platform.usage', '1 day')")).toBe('22023');
    const usage = await owner.raw<{ rows: Array<{ retention: string }> }>(
      "select retention from partman.part_config where parent_table = 'platform.usage'",
    );
    expect(usage.rows[0]?.retention).toBe('400 days');
    // Still there.
    const { rows } = await runtime.raw<{ rows: Array<{ n: number }> }>(
      'select count(*) as n from platform.tenants',
    );
    expect(rows[0]?.n).toBeGreaterThan(0);
  });

  it("cannot DROP, CREATE nor ALTER in a tenant's schema, and reads and writes its rows", async () => {
    const schema = schemaForSlug(tenant.slug);
    expect(await failure(`drop table ${schema}.events`)).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await failure(`create table ${schema}.intruder (id int)`)).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await failure(`alter table ${schema}.users add column intruder int`)).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await failure(`drop schema ${schema} cascade`)).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await failure(`truncate ${schema}.events`)).toBe(INSUFFICIENT_PRIVILEGE);
    const { rows } = await runtime.raw<{ rows: Array<{ n: number }> }>(
      `select count(*) as n from ${schema}.users`,
    );
    expect(rows[0]?.n).toBe(0);
  });

  it('has DML on the partitions pg_partman creates after provisioning, by maintenance as the owner', async () => {
    const schema = schemaForSlug(tenant.slug);
    const before = await listPartitions(owner, schema, 'events');
    // More partitions ahead, made whether or not the table has rows yet.
    await owner.raw(
      'update partman.part_config set premake = premake + 3, infinite_time_partitions = true where parent_table = ?',
      [`${schema}.events`],
    );
    await runPartmanMaintenance(owner, `${schema}.events`);
    const after = await listPartitions(owner, schema, 'events');
    const added = after.filter((p) => !before.includes(p));
    expect(added.length).toBeGreaterThan(0);
    for (const partition of after) {
      const { rows } = await owner.raw<{ rows: Array<{ ok: boolean }> }>(
        `select has_table_privilege(?, ?, 'SELECT,INSERT,UPDATE,DELETE') and not has_table_privilege(?, ?, 'TRUNCATE') as ok`,
        [runtimeRole, `${schema}.${partition}`, runtimeRole, `${schema}.${partition}`],
      );
      expect(rows[0]?.ok, partition).toBe(true);
    }
  });

  it('the API works as the runtime role: events, users, predictions, a plan change, deletion', async () => {
    const now = new Date().toISOString();
    const ingested = await tenant.client.post('/v1/events', {
      events: [{ type: 'signup', occurred_at: now }],
    });
    expect(ingested.status).toBe(201);
    const listed = await tenant.client.get<{ data: Array<{ type: string }> }>('/v1/events');
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((e) => e.type)).toContain('signup');

    const user = await tenant.client.post('/v1/users', { email: 'ada@example.com', name: 'Ada' });
    expect(user.status).toBe(201);

    const prediction = await tenant.client.post('/v1/predictions', {
      model: 'iris',
      inputs: [[5.1, 3.5, 1.4, 0.2]],
    });
    expect(prediction.status).toBe(202);
    await waitFor('the prediction to succeed', async () => {
      const res = await tenant.client.get(`/v1/predictions/${prediction.body.id}`);
      if (res.body.status === 'failed') throw new Error(`prediction failed: ${JSON.stringify(res.body)}`);
      return res.body.status === 'succeeded' ? res.body : undefined;
    });

    // The plan's retention is written in the same transaction, through the owner's function.
    const patched = await t.admin.patch(`/v1/tenants/${tenant.id}`, { plan: 'enterprise' });
    expect(patched.status).toBe(200);
    const config = await owner.raw<{ rows: Array<{ retention: string }> }>(
      'select retention from partman.part_config where parent_table = ?',
      [`${schemaForSlug(tenant.slug)}.events`],
    );
    expect(config.rows[0]?.retention).toBe(`${PLANS.enterprise.eventRetentionDays} days`);

    const other = await t.createTenant();
    expect((await t.admin.delete(`/v1/tenants/${other.id}`)).status).toBe(202);
    await t.waitForStatus(other.id, 'deleted');
    const schemas = await owner.raw<{ rows: unknown[] }>('select 1 from pg_namespace where nspname = ?', [
      schemaForSlug(other.slug),
    ]);
    expect(schemas.rows).toHaveLength(0);
  });
});
