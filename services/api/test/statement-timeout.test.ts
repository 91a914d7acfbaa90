import { createDatabase, PLANS, schemaForSlug } from '@platform/core';
import { testDatabaseUrl, testRuntimeDatabaseUrl, waitFor } from '@platform/core/testing';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './helpers.js';

let t: TestApi;
const db = createDatabase({ url: testDatabaseUrl(), poolMax: 4 });
// pg_stat_activity shows a session's wait and query start only to its own role (the API's).
const asApiRole = createDatabase({ url: testRuntimeDatabaseUrl(), poolMax: 1 });
beforeAll(async () => {
  // One pooled connection: every request after the timeout runs on the connection it hit.
  t = await startTestApi({ DATABASE_POOL_MAX: '1' });
});
afterAll(async () => {
  await t?.stop();
  await db.destroy();
  await asApiRole.destroy();
});

/** Opens a transaction that holds whatever `lock` takes until `release` is called. */
async function holdLock(lock: (trx: Knex.Transaction) => Promise<unknown>) {
  const trx = await db.transaction();
  await lock(trx);
  return { release: () => trx.rollback() };
}

describe('statement timeout by plan', () => {
  it('answers 503 query_timeout for a write blocked past the timeout, and the connection stays healthy', async () => {
    const tenant = await t.createTenant({ plan: 'free' });
    const created = await tenant.client.post('/v1/users', { email: 'slow@example.com', name: 'Slow' });
    expect(created.status).toBe(201);
    const userId = created.body.id as string;
    const schema = schemaForSlug(tenant.slug);

    // The test holds the user's row lock: the tenant's update waits on it until its timeout fires.
    const held = await holdLock((trx) =>
      trx.withSchema(schema).table('users').where({ id: userId }).forUpdate(),
    );
    let blocked: Awaited<ReturnType<typeof tenant.client.patch>>;
    const started = Date.now();
    try {
      blocked = await tenant.client.patch(`/v1/users/${userId}`, { name: 'Changed' });
    } finally {
      await held.release();
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(PLANS.free.limits.statementTimeoutMs - 50);
    expect(blocked.status).toBe(503);
    expect(blocked.headers.get('content-type')).toContain('application/problem+json');
    expect(blocked.headers.get('retry-after')).toBe('1');
    expect(blocked.body).toMatchObject({ status: 503, code: 'query_timeout' });
    // Rolled back: the change did not happen.
    const row = await db.withSchema(schema).table('users').where({ id: userId }).first();
    expect(row.name).toBe('Slow');

    // The same (only) pooled connection serves the next request at once...
    const patched = await tenant.client.patch(`/v1/users/${userId}`, { name: 'Changed' });
    expect(patched.status).toBe(200);
    expect(patched.body.name).toBe('Changed');

    // ...and carries no timeout outside a tenant transaction: an admin request on it may wait on a
    // lock for longer than the tenant's timeout, then succeeds.
    const tenantRow = await holdLock((trx) =>
      trx.withSchema('platform').table('tenants').where({ id: tenant.id }).forUpdate(),
    );
    let rename: ReturnType<typeof t.admin.patch> | undefined;
    try {
      rename = t.admin.patch(`/v1/tenants/${tenant.id}`, { name: 'Renamed' });
      await waitFor(
        'the admin request to wait on the lock past the tenant timeout',
        async () => {
          const res = await asApiRole.raw<{ rows: unknown[] }>(
            `select 1 from pg_stat_activity
              where application_name = 'api' and wait_event_type = 'Lock'
                and clock_timestamp() - query_start > make_interval(secs => ?)`,
            [(PLANS.free.limits.statementTimeoutMs * 2) / 1000],
          );
          return res.rows.length > 0 ? true : undefined;
        },
        20_000,
        50,
      );
    } finally {
      await tenantRow.release();
    }
    const renamed = await rename;
    expect(renamed.status).toBe(200);
    expect((renamed.body as { name: string }).name).toBe('Renamed');
  });

  it('answers 503 query_timeout for a read blocked past the timeout, and the next read is served', async () => {
    const tenant = await t.createTenant({ plan: 'free' });
    const created = await tenant.client.post('/v1/users', { email: 'read@example.com', name: 'Read' });
    expect(created.status).toBe(201);
    const userId = created.body.id as string;
    const schema = schemaForSlug(tenant.slug);
    expect((await tenant.client.get(`/v1/users/${userId}`)).status).toBe(200);

    // The test holds an exclusive lock on the users table: the read waits on it until its timeout fires.
    const held = await holdLock((trx) => trx.raw('lock table ??.users in access exclusive mode', [schema]));
    let blocked: Awaited<ReturnType<typeof tenant.client.get>>;
    const started = Date.now();
    try {
      blocked = await tenant.client.get(`/v1/users/${userId}`);
    } finally {
      await held.release();
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(PLANS.free.limits.statementTimeoutMs - 50);
    expect(blocked.status).toBe(503);
    expect(blocked.headers.get('content-type')).toContain('application/problem+json');
    expect(blocked.headers.get('retry-after')).toBe('1');
    expect(blocked.body).toMatchObject({ status: 503, code: 'query_timeout' });

    const read = await tenant.client.get(`/v1/users/${userId}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: userId, name: 'Read' });
  });
});
