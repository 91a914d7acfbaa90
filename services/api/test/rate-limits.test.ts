import { randomBytes } from 'node:crypto';
import { PLAN_RATE_LIMITS } from '@platform/core';
import { startRedisServer } from '@platform/core/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gcraResult, RateLimits } from '../src/rate-limits.js';
import { type RunningApi, startApi } from '../src/server.js';
import { startTestApi, type TestApi, TestClient, testConfig, waitFor } from './helpers.js';

// A long window, so that no budget below gets a request back while the test spends it, however
// slow the machine (GCRA returns one request per window / quota: 90 s for the free tenant's
// reads): the test counts requests, never time.
const WINDOW_S = 3600;
const FREE = PLAN_RATE_LIMITS.free;
const prefix = `test:rate-limit:${randomBytes(4).toString('hex')}`;
// 429s answered at once (their hold is tested on its own below): the test counts requests.
const limitsOn = {
  RATE_LIMITS: 'on',
  RATE_LIMIT_WINDOW_S: String(WINDOW_S),
  RATE_LIMIT_KEY_PREFIX: prefix,
  RATE_LIMIT_HOLD_MS: '0',
};

let t: TestApi;
/** A second API instance on the same Redis and database: another replica. */
let replica: RunningApi;
const extra: RunningApi[] = [];
beforeAll(async () => {
  t = await startTestApi(limitsOn);
  replica = await startApi(testConfig(limitsOn));
});
afterAll(async () => {
  await Promise.allSettled(extra.map((api) => api.stop()));
  await replica?.stop();
  await t?.stop();
});

async function newKey(tenantId: string, scopes = ['read', 'write']): Promise<string> {
  const res = await t.admin.post(`/v1/tenants/${tenantId}/api-keys`, { name: 'rl', scopes });
  expect(res.status).toBe(201);
  return res.body.key as string;
}

/** RateLimit / RateLimit-Policy as { name: { q, w } } and { name: { r, t } }. */
function parseItems(header: string | null): Record<string, Record<string, number>> {
  const items: Record<string, Record<string, number>> = {};
  for (const item of (header ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name, ...params] = item.split(';');
    items[JSON.parse(name as string) as string] = Object.fromEntries(
      params.map((p) => {
        const [k, v] = p.split('=');
        return [k, Number(v)];
      }),
    );
  }
  return items;
}

describe('rate limits', () => {
  it('are shared by two API instances, with RateLimit headers on every response and a 429 past the budget', async () => {
    const tenant = await t.createTenant({ plan: 'free' });
    const clients = [tenant.client, new TestClient(replica, tenant.key)];
    const budget = FREE.key.read;
    for (let i = 0; i < budget; i++) {
      const res = await (clients[i % 2] as TestClient).get('/v1/users?limit=1');
      expect(res.status).toBe(200);
      expect(parseItems(res.headers.get('ratelimit-policy'))).toEqual({
        'key-read': { q: FREE.key.read, w: WINDOW_S },
        'tenant-read': { q: FREE.tenant.read, w: WINDOW_S },
      });
      const state = parseItems(res.headers.get('ratelimit'));
      expect(state['key-read']?.r).toBe(budget - i - 1);
      expect(state['tenant-read']?.r).toBe(FREE.tenant.read - i - 1);
      expect(state['key-read']?.t).toBeGreaterThan(0);
      expect(state['key-read']?.t).toBeLessThanOrEqual(WINDOW_S);
    }
    for (const client of clients) {
      const limited = await client.get('/v1/users?limit=1');
      expect(limited.status).toBe(429);
      expect(limited.headers.get('content-type')).toContain('application/problem+json');
      expect(limited.body).toMatchObject({
        type: 'urn:platform:problem:rate_limited',
        title: 'Too Many Requests',
        status: 429,
        code: 'rate_limited',
      });
      expect(limited.body.detail).toContain('key-read');
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(WINDOW_S);
      expect(parseItems(limited.headers.get('ratelimit'))['key-read']?.r).toBe(0);
    }
    // Writes have their own budget.
    const write = await tenant.client.post('/v1/users', { email: `rl-${Date.now()}@example.com`, name: 'W' });
    expect(write.status).toBe(201);
    expect(parseItems(write.headers.get('ratelimit-policy'))).toEqual({
      'key-write': { q: FREE.key.write, w: WINDOW_S },
      'tenant-write': { q: FREE.tenant.write, w: WINDOW_S },
    });
    // Another tenant is not affected.
    const other = await t.createTenant({ plan: 'free' });
    expect((await other.client.get('/v1/users?limit=1')).status).toBe(200);
  });

  it('count concurrent requests one by one: each gets its own remaining count, and one past the budget gets 429', async () => {
    const tenant = await t.createTenant({ plan: 'free' });
    const budget = FREE.key.read;
    // All at once: the API counts many of them in the same Redis call.
    const responses = await Promise.all(
      Array.from({ length: budget + 1 }, () => tenant.client.get('/v1/users?limit=1')),
    );
    const ok = responses.filter((r) => r.status === 200);
    const limited = responses.filter((r) => r.status === 429);
    expect(ok).toHaveLength(budget);
    expect(limited).toHaveLength(1);
    const remaining = ok
      .map((r) => parseItems(r.headers.get('ratelimit'))['key-read']?.r)
      .sort((a, b) => (a ?? 0) - (b ?? 0));
    expect(remaining).toEqual(Array.from({ length: budget }, (_, i) => i));
    const tenantRemaining = ok
      .map((r) => parseItems(r.headers.get('ratelimit'))['tenant-read']?.r)
      .sort((a, b) => (a ?? 0) - (b ?? 0));
    expect(tenantRemaining).toEqual(Array.from({ length: budget }, (_, i) => FREE.tenant.read - budget + i));
    expect(parseItems(limited[0]?.headers.get('ratelimit') ?? null)['key-read']?.r).toBe(0);
  });

  it('limit the tenant as a whole: its keys share the tenant budget', async () => {
    const tenant = await t.createTenant({ plan: 'free' });
    const keys = [tenant.key, await newKey(tenant.id), await newKey(tenant.id)];
    const [a, b, c] = keys.map((k) => tenant.client.as(k));
    const perKey = FREE.key.read;
    expect(FREE.tenant.read).toBe(2 * perKey);
    for (let i = 0; i < perKey; i++) {
      expect((await (a as TestClient).get('/v1/users?limit=1')).status).toBe(200);
      expect((await (b as TestClient).get('/v1/users?limit=1')).status).toBe(200);
    }
    // The third key has its whole key budget, but the tenant's is spent.
    const limited = await (c as TestClient).get('/v1/users?limit=1');
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('rate_limited');
    const state = parseItems(limited.headers.get('ratelimit'));
    expect(state['tenant-read']?.r).toBe(0);
    expect(state['key-read']?.r).toBe(perKey - 1);
    expect(limited.body.detail).toContain('tenant-read');
    expect(limited.body.detail).not.toContain('key-read');
  });

  it('give a spent budget back one request at a time (GCRA), not all at once when a window ends', async () => {
    const tenant = await t.createTenant({ plan: 'free' });
    const interval = WINDOW_S / FREE.key.read; // 180 s
    const started = Date.now();
    for (let i = 0; i < FREE.key.read; i++)
      expect((await tenant.client.get('/v1/users?limit=1')).status).toBe(200);
    const limited = await tenant.client.get('/v1/users?limit=1');
    expect(limited.status).toBe(429);
    // The next request is admitted one interval after the first, not when the hour is over.
    const elapsedS = Math.ceil((Date.now() - started) / 1000);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeLessThanOrEqual(interval);
    expect(retryAfter).toBeGreaterThanOrEqual(interval - elapsedS);
    const state = parseItems(limited.headers.get('ratelimit'));
    expect(state['key-read']).toEqual({ r: 0, t: retryAfter });
    // The tenant's budget counted all 21 (the key refused the last one, the tenant did not).
    expect(state['tenant-read']?.r).toBe(FREE.tenant.read - FREE.key.read - 1);
  });

  it('refuse an address that failed to authenticate too often, on every replica', async () => {
    // Its own counters: the block covers this client address.
    const own = { ...limitsOn, RATE_LIMIT_KEY_PREFIX: `${prefix}:auth` };
    const [one, two] = await Promise.all([startApi(testConfig(own)), startApi(testConfig(own))]);
    extra.push(one, two);
    const tenant = await t.createTenant();
    const wrong = `plk_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;
    const attempts = 10;
    for (let i = 0; i < attempts; i++) {
      const res = await new TestClient(i % 2 === 0 ? one : two, wrong).get('/v1/users');
      expect(res.status).toBe(401);
    }
    for (const api of [one, two]) {
      const limited = await new TestClient(api, 'wrong-admin-token').get('/v1/tenants');
      expect(limited.status).toBe(429);
      expect(limited.body.code).toBe('rate_limited');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      // Now refused before its credentials are checked, right or wrong.
      const right = await new TestClient(api, tenant.key).get('/v1/users');
      expect(right.status).toBe(429);
    }
    // The other API (its own counters) still serves this address.
    expect((await tenant.client.get('/v1/users')).status).toBe(200);
  });

  it('switched off by RATE_LIMITS=off: no headers, no 429', async () => {
    const off = await startApi(testConfig({ RATE_LIMITS: 'off' }));
    extra.push(off);
    const tenant = await t.createTenant({ plan: 'free' });
    const client = new TestClient(off, tenant.key);
    for (let i = 0; i < FREE.key.read + 5; i++) {
      const res = await client.get('/v1/users?limit=1');
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit')).toBeNull();
      expect(res.headers.get('ratelimit-policy')).toBeNull();
    }
  });
});

describe('GCRA results of one batch', () => {
  it('admit the first requests while the budget lasts, each with its own remaining count', () => {
    // 10 per 1,000 ms: one every 100 ms; the TAT was 750 ms ahead, so 2 of a batch of 4 fit.
    const results = [1, 2, 3, 4].map((seen) => gcraResult(1000, 100, 750, 2, seen));
    expect(results.map((r) => r.exceeded)).toEqual([false, false, true, true]);
    expect(results.map((r) => r.remaining)).toEqual([1, 0, 0, 0]);
    expect(results[0]).toMatchObject({ resetMs: 850, drainMs: 850 });
    // A refused request may come back once one interval has passed: 950 + 100 - 1000.
    expect(results[2]).toMatchObject({ resetMs: 50, drainMs: 950 });
    // An idle budget (TAT in the past) starts whole.
    expect(gcraResult(1000, 100, -5000, 1, 1)).toMatchObject({ remaining: 9, resetMs: 100, exceeded: false });
  });
});

describe('held 429s', () => {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0', { lazyConnect: true });
  afterAll(() => redis.disconnect());
  const limitsWith = (holdMaxMs: number) =>
    new RateLimits(redis, { enabled: true, windowSeconds: WINDOW_S, keyPrefix: prefix, holdMaxMs });

  it('wait between half and all of the time until the budget is whole again, at most RATE_LIMIT_HOLD_MS; 0 answers at once', async () => {
    // The 150 ms cap (the window has 60 s left): between 75 and 150 ms, a timer never fires early.
    const capped = limitsWith(150);
    const helds = await Promise.all(Array.from({ length: 20 }, () => capped.hold(60_000)));
    for (const held of helds) expect(held).toBeGreaterThanOrEqual(70);
    // Rejections that arrived together do not all come back together.
    expect(new Set(helds).size).toBeGreaterThan(1);
    // Never past the time the budget is whole again: 40 ms caps it, whatever the setting.
    const short = await limitsWith(10_000).hold(40);
    expect(short).toBeGreaterThanOrEqual(15);
    expect(short).toBeLessThan(5_000);
    // Off, or nothing left of the window: no wait at all.
    expect(await limitsWith(0).hold(60_000)).toBe(0);
    expect(await limitsWith(300).hold(0)).toBe(0);
  });

  it('a held 429 still says in Retry-After and RateLimit how long until the next request is admitted', async () => {
    const held = await startApi(testConfig({ ...limitsOn, RATE_LIMIT_HOLD_MS: '300' }));
    extra.push(held);
    const tenant = await t.createTenant({ plan: 'free' });
    const client = new TestClient(held, tenant.key);
    for (let i = 0; i < FREE.key.read; i++) expect((await client.get('/v1/users?limit=1')).status).toBe(200);
    const limited = await client.get('/v1/users?limit=1');
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ code: 'rate_limited', status: 429 });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_S);
    const state = parseItems(limited.headers.get('ratelimit'))['key-read'];
    expect(state?.r).toBe(0);
    expect(state?.t).toBe(retryAfter);
  });
});

describe('leases of a busy budget', () => {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
  const clients: Redis[] = [];
  const limits: RateLimits[] = [];
  afterAll(() => {
    for (const l of limits) l.close();
    for (const c of clients) c.disconnect();
  });
  // Enterprise key reads: 500 per 100 s, one back every 200 ms; a 1 s lease holds at most 5.
  const window = 100;
  const quota = PLAN_RATE_LIMITS.enterprise.key.read;
  const interval = (window * 1000) / quota;
  const earned = Math.floor((quota * 1000) / (window * 1000));
  /** A replica's limiter, with its own Redis connection whose Lua calls are counted. */
  async function replica(keyPrefix: string, leaseMs: number) {
    const redis = new Redis(url);
    clients.push(redis);
    await redis.ping();
    let calls = 0;
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = (command) => {
      if (/^eval/i.test(command.name)) calls++;
      return send(command);
    };
    const l = new RateLimits(redis, { enabled: true, windowSeconds: window, keyPrefix, leaseMs });
    limits.push(l);
    return { l, redis, calls: () => calls };
  }
  const read = (l: RateLimits) => l.request('key-1', 'tenant-1', 'enterprise', 'read');

  it('hands a busy key its next requests without a round trip each, and gives back what it did not use', async () => {
    const keyPrefix = `${prefix}:lease-${randomBytes(3).toString('hex')}`;
    const { l, redis, calls } = await replica(keyPrefix, 1000);
    const remaining: number[] = [];
    for (let i = 0; i < 100; i++) {
      const [key] = await read(l);
      expect(key?.exceeded).toBe(false);
      remaining.push(key?.remaining as number);
    }
    // Each asks for its own request and up to 5 more: far fewer calls than requests.
    expect(calls()).toBeLessThanOrEqual(100 / 3);
    // The counts still fall by one per request (time gives one back every 200 ms).
    for (let i = 1; i < remaining.length; i++) {
      expect((remaining[i - 1] as number) - (remaining[i] as number)).toBeLessThanOrEqual(1);
    }
    const redisKey = `${keyPrefix}:{tenant-1}:gcra-key-read:key-1`;
    const before = Number(await redis.get(redisKey));
    // The lease expires unused: its requests go back (TAT moves back by whole intervals).
    const after = await waitFor('the unused lease to be given back', async () => {
      const tat = Number(await redis.get(redisKey));
      return tat < before ? tat : undefined;
    });
    const given = (before - after) / interval;
    expect(Math.abs(given - Math.round(given))).toBeLessThan(0.01);
    expect(Math.round(given)).toBeGreaterThanOrEqual(1);
    expect(Math.round(given)).toBeLessThanOrEqual(earned);
  });

  it('never admits more than the budget across replicas, each leasing', async () => {
    const keyPrefix = `${prefix}:lease-${randomBytes(3).toString('hex')}`;
    const replicas = [await replica(keyPrefix, 1000), await replica(keyPrefix, 1000)];
    const started = Date.now();
    let admitted = 0;
    let refusedBoth = false;
    for (let round = 0; round < 100 && !refusedBoth; round++) {
      const results = await Promise.all(replicas.flatMap((r) => Array.from({ length: 10 }, () => read(r.l))));
      const ok = results.filter(([key, tenant]) => !key?.exceeded && !tenant?.exceeded).length;
      admitted += ok;
      refusedBoth = ok === 0;
    }
    expect(refusedBoth).toBe(true);
    // At most the budget, plus what time gave back while the test ran (one per 200 ms).
    const earnedBack = Math.ceil((Date.now() - started) / interval) + 1;
    expect(admitted).toBeLessThanOrEqual(quota + earnedBack);
    // And not far below it: at most a lease per replica held back.
    expect(admitted).toBeGreaterThanOrEqual(quota - 2 * earned);
  });
});

describe('rate limits without Redis', () => {
  it('fall back to in-process counters when Redis is unreachable: still limited, never a 500', async () => {
    // Without persistence: it comes back empty.
    const redis = await startRedisServer({ persist: false });
    let api: RunningApi | undefined;
    try {
      api = await startApi(testConfig({ ...limitsOn, REDIS_URL: redis.url }));
      const tenant = await t.createTenant({ plan: 'free' });
      const client = new TestClient(api, tenant.key);
      const before = await client.get('/v1/users?limit=1');
      expect(before.status).toBe(200);
      expect(parseItems(before.headers.get('ratelimit'))['key-read']?.r).toBe(FREE.key.read - 1);

      await redis.stop();
      const platformRedis = api.platform.redis;
      await waitFor('the API to see Redis gone', async () => platformRedis.status !== 'ready' || undefined);

      // The in-process limiter counts from zero, with the same budget.
      const statuses: number[] = [];
      for (let i = 0; i < FREE.key.read + 1; i++) {
        const res = await client.get('/v1/users?limit=1');
        statuses.push(res.status);
        if (res.status === 200) {
          expect(parseItems(res.headers.get('ratelimit'))['key-read']?.r).toBe(FREE.key.read - i - 1);
        } else {
          expect(res.body.code).toBe('rate_limited');
          expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        }
      }
      expect(statuses.slice(0, FREE.key.read).every((s) => s === 200)).toBe(true);
      expect(statuses[FREE.key.read]).toBe(429);
      // Wrong credentials are still counted (in process) and answered 401, not 500.
      const wrong = await new TestClient(api, 'plk_0000000000000000_x').get('/v1/users');
      expect(wrong.status).toBe(401);

      // Redis back (empty): counting goes back to it.
      await redis.start();
      await waitFor('the API to reconnect', async () => platformRedis.status === 'ready' || undefined);
      const after = await client.get('/v1/users?limit=1');
      expect(after.status).toBe(200);
      expect(parseItems(after.headers.get('ratelimit'))['key-read']?.r).toBe(FREE.key.read - 1);
    } finally {
      await api?.stop();
      await redis.destroy();
    }
  });
});
