import { createDatabase, schemaForSlug } from '@platform/core';
import { testDatabaseUrl, testRuntimeDatabaseUrl, waitFor } from '@platform/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenantConcurrency } from '../src/tenant-concurrency.js';
import { startTestApi, type TestApi } from './helpers.js';

describe('TenantConcurrency', () => {
  it("runs at most `limit` of a tenant's requests at once, the rest in arrival order, other tenants apart", async () => {
    const c = new TenantConcurrency(2);
    const order: string[] = [];
    const a1 = await c.acquire('a');
    const a2 = await c.acquire('a');
    const a3 = c.acquire('a').then((release) => {
      order.push('a3');
      return release;
    });
    const a4 = c.acquire('a').then((release) => {
      order.push('a4');
      return release;
    });
    // Tenant b is not behind a's waiting requests.
    const b1 = await c.acquire('b');
    expect(c.state('a')).toEqual({ running: 2, waiting: 2 });
    expect(c.state('b')).toEqual({ running: 1, waiting: 0 });
    expect(order).toEqual([]);
    a1();
    a1(); // a second release of the same place frees nothing more
    const r3 = await a3;
    expect(order).toEqual(['a3']);
    expect(c.state('a')).toEqual({ running: 2, waiting: 1 });
    a2();
    const r4 = await a4;
    expect(order).toEqual(['a3', 'a4']);
    r3();
    r4();
    b1();
    expect(c.state('a')).toEqual({ running: 0, waiting: 0 });
    expect(c.state('b')).toEqual({ running: 0, waiting: 0 });
  });

  it('0 switches it off: every request runs at once', async () => {
    const c = new TenantConcurrency(0);
    const releases = await Promise.all(Array.from({ length: 100 }, () => c.acquire('a')));
    expect(releases).toHaveLength(100);
    expect(c.state('a')).toEqual({ running: 0, waiting: 0 });
  });
});

describe('TENANT_CONCURRENCY in the API', () => {
  let t: TestApi;
  const db = createDatabase({ url: testDatabaseUrl(), poolMax: 2 });
  // pg_stat_activity shows a session's wait only to its own role (the API's).
  const asApiRole = createDatabase({ url: testRuntimeDatabaseUrl(), poolMax: 1 });
  beforeAll(async () => {
    t = await startTestApi({ TENANT_CONCURRENCY: '1' });
  });
  afterAll(async () => {
    await t?.stop();
    await db.destroy();
    await asApiRole.destroy();
  });

  it("makes a tenant's next request wait for its running one, while another tenant's is served", async () => {
    const a = await t.createTenant({ plan: 'enterprise' });
    const b = await t.createTenant({ plan: 'enterprise' });
    const created = await a.client.post('/v1/users', { email: 'busy@example.com', name: 'Busy' });
    expect(created.status).toBe(201);
    const userId = created.body.id as string;
    const bUser = await b.client.post('/v1/users', { email: 'calm@example.com', name: 'Calm' });
    expect(bUser.status).toBe(201);

    // The test holds A's user row: A's update runs, and waits on the lock.
    const trx = await db.transaction();
    const settled: string[] = [];
    try {
      await trx.withSchema(schemaForSlug(a.slug)).table('users').where({ id: userId }).forUpdate();
      const update = a.client.patch(`/v1/users/${userId}`, { name: 'Changed' }).then((res) => {
        settled.push('a-update');
        return res;
      });
      await waitFor("A's update to wait on the lock", async () => {
        const { rows } = await asApiRole.raw<{ rows: unknown[] }>(
          "select 1 from pg_stat_activity where wait_event_type = 'Lock' and query ilike 'update%'",
        );
        return rows.length > 0 ? true : undefined;
      });
      // A's read waits for A's one place; B's read does not wait for it.
      const aRead = a.client.get(`/v1/users/${userId}`).then((res) => {
        settled.push('a-read');
        return res;
      });
      const bRead = await b.client.get(`/v1/users/${bUser.body.id as string}`);
      expect(bRead.status).toBe(200);
      expect(settled).toEqual([]);
      await trx.rollback();
      const [updated, read] = await Promise.all([update, aRead]);
      expect(updated.status).toBe(200);
      expect(read.status).toBe(200);
      expect(settled).toEqual(['a-update', 'a-read']);
      expect(read.body.name).toBe('Changed');
    } finally {
      if (!trx.isCompleted()) await trx.rollback();
    }
  });
});
