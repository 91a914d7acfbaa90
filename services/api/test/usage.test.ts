import { resolve } from 'node:path';
import { createDatabase, listAudit, PLANS, schemaForSlug, utcDay } from '@platform/core';
import { spawnManaged, testDatabaseUrl, waitFor, waitForHttp } from '@platform/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi } from '../src/server.js';
import {
  ADMIN_TOKEN,
  startTestApi,
  type TestApi,
  TestClient,
  type TestTenant,
  testConfig,
} from './helpers.js';

const API_MAIN = resolve(import.meta.dirname, '../dist/main.js');

interface QuotaStatus {
  quota: string;
  limit: number;
  used: number;
  remaining: number;
  resets_at: string | null;
}
interface UsageDay {
  day: string;
  api_requests: number;
  events: number;
  predictions: number;
  prediction_instances: number;
}
interface UsageReport {
  tenant_id: string;
  plan: string;
  from: string;
  to: string;
  daily: UsageDay[];
  current: { day: string; quotas: QuotaStatus[] };
}

let t: TestApi;
const db = createDatabase({ url: testDatabaseUrl(), poolMax: 4 });
beforeAll(async () => {
  // A long key cache: only the invalidation published on a plan change can refresh a plan.
  t = await startTestApi({ API_KEY_CACHE_TTL_MS: '60000' });
});
afterAll(async () => {
  await t?.stop();
  await db.destroy();
});

const nextMidnight = () => new Date(Date.parse(`${utcDay(new Date())}T00:00:00Z`) + 86_400_000).toISOString();

function events(n: number) {
  const at = new Date().toISOString();
  return {
    events: Array.from({ length: n }, (_, i) => ({ type: 'quota.test', occurred_at: at, payload: { i } })),
  };
}

async function countEvents(tenant: TestTenant): Promise<number> {
  const [row] = await db
    .withSchema(schemaForSlug(tenant.slug))
    .table('events')
    .count<Array<{ count: number }>>('*');
  return Number(row?.count);
}

async function countUsers(tenant: TestTenant): Promise<number> {
  const [row] = await db
    .withSchema(schemaForSlug(tenant.slug))
    .table('users')
    .count<Array<{ count: number }>>('*');
  return Number(row?.count);
}

/** The flushed rows of a tenant's day, by metric. */
async function flushedUsage(tenantId: string): Promise<Record<string, number>> {
  const rows = await db
    .withSchema('platform')
    .table('usage')
    .where({ tenant_id: tenantId, day: utcDay(new Date()) })
    .select('metric', 'count');
  return Object.fromEntries(rows.map((r) => [r.metric, Number(r.count)]));
}

async function createUsers(client: TestClient, n: number, tag: string) {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      client.post('/v1/users', { email: `${tag}-${i}@example.com`, name: tag }),
    ),
  );
}

/** Creates `n` users, five at a time (a wave waits on the tenant's user-creation lock only briefly). */
async function fillUsers(client: TestClient, n: number, tag: string): Promise<void> {
  for (let made = 0; made < n; made += 5) {
    const wave = await createUsers(client, Math.min(5, n - made), `${tag}${made}`);
    expect(wave.map((r) => r.status)).toEqual(wave.map(() => 201));
  }
}

describe('daily quotas', () => {
  it('rejects a batch that would cross the events quota whole, and stores the one that fits', async () => {
    const tenant = await t.createTenant({ plan: 'free' });
    const limit = PLANS.free.limits.eventsPerDay;
    for (let sent = 0; sent < limit - 5; ) {
      const n = Math.min(1000, limit - 5 - sent);
      const res = await tenant.client.post('/v1/events', events(n));
      expect(res.status).toBe(201);
      sent += n;
    }

    const crossing = await tenant.client.post('/v1/events', events(10));
    expect(crossing.status).toBe(429);
    expect(crossing.headers.get('content-type')).toContain('application/problem+json');
    expect(crossing.body).toMatchObject({
      status: 429,
      code: 'quota_exceeded',
      quota: 'events_per_day',
      limit,
      used: limit - 5,
      requested: 10,
      resets_at: nextMidnight(),
    });
    const retryAfter = Number(crossing.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    expect(await countEvents(tenant)).toBe(limit - 5);

    expect((await tenant.client.post('/v1/events', events(5))).status).toBe(201);
    expect((await tenant.client.post('/v1/events', events(1))).status).toBe(429);
    expect(await countEvents(tenant)).toBe(limit);
  });

  it('lets concurrent batches share the rest of the quota without crossing it', async () => {
    const tenant = await t.createTenant({ plan: 'free' });
    const limit = PLANS.free.limits.eventsPerDay;
    for (let i = 0; i < 9; i++)
      expect((await tenant.client.post('/v1/events', events(1000))).status).toBe(201);
    // 1,000 left; 8 concurrent batches of 300: three fit.
    const replies = await Promise.all(
      Array.from({ length: 8 }, () => tenant.client.post('/v1/events', events(300))),
    );
    expect(replies.filter((r) => r.status === 201)).toHaveLength(3);
    expect(replies.filter((r) => r.status === 429)).toHaveLength(5);
    expect(await countEvents(tenant)).toBe(limit - 100);
  });

  it('holds the users quota under concurrent creation', async () => {
    const tenant = await t.createTenant({ plan: 'free' });
    const limit = PLANS.free.limits.users;
    await fillUsers(tenant.client, limit - 3, 'w');
    // Three places left, eight at once.
    const replies = await createUsers(tenant.client, 8, 'last');
    expect(replies.map((r) => r.status).filter((s) => s !== 201 && s !== 429)).toEqual([]);
    expect(replies.filter((r) => r.status === 201)).toHaveLength(3);
    const rejected = replies.filter((r) => r.status === 429);
    expect(rejected).toHaveLength(5);
    expect(rejected[0]?.body).toMatchObject({
      code: 'quota_exceeded',
      quota: 'users',
      limit,
      resets_at: null,
    });
    expect(rejected[0]?.headers.get('retry-after')).toBeNull();
    expect(await countUsers(tenant)).toBe(limit);
  });
});

describe('usage reports', () => {
  it('reports daily usage and today against each quota, for the tenant and for the admin', async () => {
    const tenant = await t.createTenant({ plan: 'free' });
    expect((await tenant.client.post('/v1/events', events(7))).status).toBe(201);
    for (const inputs of [
      [[5.1, 3.5, 1.4, 0.2]],
      [
        [6.7, 3.0, 5.2, 2.3],
        [5.9, 3.0, 5.1, 1.8],
      ],
    ]) {
      expect((await tenant.client.post('/v1/predictions', { model: 'iris', inputs })).status).toBe(202);
    }
    await createUsers(tenant.client, 3, 'r');
    // 1 + 2 + 3 requests, and the report's own: every count goes to Redis on the API's one
    // connection before the request is handled, so the report's read comes after all of them.
    const today = utcDay(new Date());
    const res = await tenant.client.get<UsageReport>('/v1/usage');
    expect(res.status).toBe(200);
    const report = res.body;
    expect(report).toMatchObject({ tenant_id: tenant.id, plan: 'free', to: today });
    expect(report.daily).toHaveLength(30);
    expect(report.daily.at(-1)).toEqual({
      day: today,
      api_requests: 7,
      events: 7,
      predictions: 2,
      prediction_instances: 3,
    });
    expect(report.daily.slice(0, -1).every((d) => d.events === 0 && d.api_requests === 0)).toBe(true);
    expect(report.current).toEqual({
      day: today,
      quotas: [
        { quota: 'events_per_day', limit: 10_000, used: 7, remaining: 9_993, resets_at: nextMidnight() },
        { quota: 'predictions_per_day', limit: 500, used: 2, remaining: 498, resets_at: nextMidnight() },
        { quota: 'users', limit: 100, used: 3, remaining: 97, resets_at: null },
      ],
    });

    // Flushed to PostgreSQL, the report is the same; the admin sees it too (admin requests are not metered).
    await t.api.platform.usage.flush();
    expect(await flushedUsage(tenant.id)).toEqual({
      api_requests: 7,
      events: 7,
      predictions: 2,
      prediction_instances: 3,
    });
    const admin = await t.admin.get<UsageReport>(`/v1/tenants/${tenant.id}/usage?from=${today}&to=${today}`);
    expect(admin.status).toBe(200);
    expect(admin.body.daily).toEqual([report.daily.at(-1)]);
    expect(admin.body.current).toEqual(report.current);
  });

  it('rejects bad days with 422 and unknown tenants with 404; empty and long ranges', async () => {
    const tenant = await t.createTenant();
    for (const [query, field] of [
      ['from=yesterday', 'query.from'],
      ['to=2026-02-30', 'query.to'],
    ]) {
      const res = await tenant.client.get(`/v1/usage?${query}`);
      expect(res.status, query).toBe(422);
      expect(res.body).toMatchObject({ code: 'validation_failed', errors: [{ field }] });
    }
    // A `from` after `to` is an empty range; a longer range than 400 days keeps its last 400.
    const empty = await tenant.client.get<{ from: string; to: string; daily: unknown[] }>(
      '/v1/usage?from=2026-03-02&to=2026-03-01',
    );
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({ from: '2026-03-02', to: '2026-03-01', daily: [] });
    const long = await tenant.client.get<{ from: string; to: string; daily: unknown[] }>(
      '/v1/usage?from=2020-01-01&to=2026-01-01',
    );
    expect(long.status).toBe(200);
    expect(long.body.daily).toHaveLength(400);
    expect(long.body).toMatchObject({ from: '2024-11-28', to: '2026-01-01' });
    expect((await t.admin.get('/v1/tenants/00000000-0000-0000-0000-000000000000/usage')).status).toBe(404);
    expect((await t.admin.get('/v1/tenants/not-a-uuid/usage')).status).toBe(404);
    expect((await tenant.client.get(`/v1/tenants/${tenant.id}/usage`)).status).toBe(401);
  });

  it('flushes through the worker task platform.usage_flush', async () => {
    const tenant = await t.createTenant();
    expect((await tenant.client.post('/v1/events', events(4))).status).toBe(201);
    await t.api.platform.outbox.enqueue(t.api.platform.db, 'platform.usage_flush', {});
    const flushed = await waitFor('the flush task', async () => {
      const rows = await flushedUsage(tenant.id);
      return rows.events === 4 ? rows : undefined;
    });
    expect(flushed).toEqual({ api_requests: 1, events: 4 });
  });
});

describe('metering across process death', () => {
  it('keeps usage exact when an API process is SIGKILLed between counting and flushing', async () => {
    const tenant = await t.createTenant();
    const config = t.api.platform.config;
    const child = spawnManaged(process.execPath, [API_MAIN], {
      NODE_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: config.databaseUrl,
      REDIS_URL: config.redisUrl,
      ADMIN_TOKEN,
      ML_GATEWAY_URL: config.mlGatewayUrl,
      QUEUE_ML: config.queues.ml,
      QUEUE_PLATFORM: config.queues.platform,
      KUBERNETES: 'off',
      LOG_LEVEL: 'info',
    });
    try {
      const url = await waitFor('the API process to listen', async () => {
        const match = /API listening on (http:\/\/[^\s"]+)/.exec(child.output());
        if (child.child.exitCode !== null) throw new Error(`API exited: ${child.output()}`);
        return match?.[1];
      });
      await waitForHttp(`${url}/healthz`, 10_000, child.child);
      const client = new TestClient({ url } as never, tenant.key);
      for (let i = 0; i < 5; i++) expect((await client.post('/v1/events', events(3 + i))).status).toBe(201);
      for (let i = 0; i < 11; i++) expect((await client.get('/v1/users')).status).toBe(200);
      expect((await client.post('/v1/predictions', { model: 'iris', inputs: [[1, 2, 3, 4]] })).status).toBe(
        202,
      );
      await child.stop('SIGKILL');
      expect(child.child.signalCode).toBe('SIGKILL');
    } finally {
      await child.stop('SIGKILL');
    }

    const expected = { api_requests: 17, events: 3 + 4 + 5 + 6 + 7, predictions: 1, prediction_instances: 1 };
    const usage = t.api.platform.usage;
    // Flushed twice, and twice at once: each count lands exactly once.
    await usage.flush();
    expect(await flushedUsage(tenant.id)).toEqual(expected);
    await Promise.all([usage.flush(), usage.flush()]);
    await usage.flush();
    expect(await flushedUsage(tenant.id)).toEqual(expected);

    // Counting goes on after the flush; the next flush adds only what is new.
    expect((await tenant.client.post('/v1/events', events(2))).status).toBe(201);
    await waitFor('the request to be counted', async () => {
      const day = (await usage.reportForTenant(tenant.id, {})).daily.at(-1);
      return day?.api_requests === 18 ? day : undefined;
    });
    await usage.flush();
    expect(await flushedUsage(tenant.id)).toEqual({
      ...expected,
      api_requests: 18,
      events: expected.events + 2,
    });
  });
});

describe('plan changes', () => {
  it('applies a new plan on every API instance at once, with retention and an audit entry', async () => {
    const other = await startApi(testConfig({ API_KEY_CACHE_TTL_MS: '60000' }));
    try {
      const tenant = await t.createTenant({ plan: 'free' });
      const onOther = new TestClient(other, tenant.key);
      const limit = PLANS.free.limits.users;
      await fillUsers(tenant.client, limit, 'p');
      // Both instances now hold the key (and its plan) in their cache.
      expect((await tenant.client.post('/v1/users', { email: 'a@example.com', name: 'a' })).status).toBe(429);
      expect((await onOther.post('/v1/users', { email: 'b@example.com', name: 'b' })).status).toBe(429);

      const patched = await t.admin.patch(`/v1/tenants/${tenant.id}`, { plan: 'standard', name: 'Upgraded' });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ id: tenant.id, plan: 'standard', name: 'Upgraded' });

      for (const [client, email] of [
        [onOther, 'c@example.com'],
        [tenant.client, 'd@example.com'],
      ] as const) {
        const created = await waitFor(
          'the new plan on the instance',
          async () => {
            const res = await client.post('/v1/users', { email, name: 'x' });
            return res.status === 201 ? res : undefined;
          },
          5_000,
          50,
        );
        expect(created.status).toBe(201);
      }
      const usage = await onOther.get<UsageReport>('/v1/usage');
      expect(usage.body.plan).toBe('standard');
      expect(usage.body.current.quotas[2]).toMatchObject({
        quota: 'users',
        limit: PLANS.standard.limits.users,
      });

      const config = await db.raw<{ rows: Array<{ retention: string }> }>(
        'select retention from partman.part_config where parent_table = ?',
        [`${schemaForSlug(tenant.slug)}.events`],
      );
      expect(config.rows[0]?.retention).toBe(`${PLANS.standard.eventRetentionDays} days`);
      const audit = (await listAudit(db, tenant.id)).filter((a) => a.action === 'tenant.updated');
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({
        actor: 'admin',
        details: { plan: { from: 'free', to: 'standard' }, name: { to: 'Upgraded' } },
      });
    } finally {
      await other.stop();
    }
  });

  it('validates the patch: unknown plan 422, unknown tenant 404, nothing changed', async () => {
    const tenant = await t.createTenant({ plan: 'free' });
    const bad = await t.admin.patch(`/v1/tenants/${tenant.id}`, { plan: 'platinum' });
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe('validation_failed');
    expect((await t.admin.patch(`/v1/tenants/${tenant.id}`, { name: '' })).status).toBe(422);
    expect((await t.admin.patch(`/v1/tenants/${tenant.id}`, { slug: 'other' })).status).toBe(422);
    expect(
      (await t.admin.patch('/v1/tenants/00000000-0000-0000-0000-000000000000', { name: 'x' })).status,
    ).toBe(404);
    expect((await t.admin.get(`/v1/tenants/${tenant.id}`)).body).toMatchObject({ plan: 'free' });
    const same = await t.admin.patch(`/v1/tenants/${tenant.id}`, { plan: 'free' });
    expect(same.status).toBe(200);
    expect((await listAudit(db, tenant.id)).filter((a) => a.action === 'tenant.updated')).toHaveLength(0);
  });
});

describe('MAX_TENANTS', () => {
  it('caps live tenants platform-wide: one more answers 409 tenant_limit_reached', async () => {
    const [row] = await db
      .withSchema('platform')
      .table('tenants')
      .whereNot('status', 'deleted')
      .count('* as n');
    const max = Number(row?.n) + 3;
    const queues = t.api.platform.config.queues;
    const capped = await startApi(
      testConfig({ MAX_TENANTS: String(max), QUEUE_ML: queues.ml, QUEUE_PLATFORM: queues.platform }),
    );
    try {
      const admin = new TestClient(capped, ADMIN_TOKEN);
      const replies = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          admin.post('/v1/tenants', { slug: `cap-${Date.now()}-${i}`, name: 'Cap' }),
        ),
      );
      const accepted = replies.filter((r) => r.status === 202);
      const refused = replies.filter((r) => r.status === 409);
      // Three places were free (fewer if another test created tenants meanwhile), never more.
      expect(accepted.length).toBeLessThanOrEqual(3);
      expect(accepted.length + refused.length).toBe(10);
      for (const r of refused) expect(r.body).toMatchObject({ status: 409, code: 'tenant_limit_reached' });
      const again = await admin.post('/v1/tenants', { slug: `cap-${Date.now()}-x`, name: 'Cap' });
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('tenant_limit_reached');
      for (const r of accepted) await t.waitForStatus(r.body.id as string, 'ready');
    } finally {
      await capped.stop();
    }
  });
});
