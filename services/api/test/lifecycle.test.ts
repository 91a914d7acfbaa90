import { startRedisServer } from '@platform/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { startApi } from '../src/server.js';
import { startTestApi, type TestApi, testConfig, waitFor } from './helpers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

describe('rollouts: draining on shutdown', () => {
  it('fails /readyz and keeps serving every request for the drain delay, then closes', async () => {
    const drainDelayMs = 3000;
    const t: TestApi = await startTestApi({ DRAIN_DELAY_MS: String(drainDelayMs) });
    cleanups.push(() => t.worker.stop());
    const tenant = await t.createTenant();
    expect((await fetch(`${t.api.opsUrl}/readyz`)).status).toBe(200);

    const started = Date.now();
    const stopped = t.api.stop();
    let closedAfterMs: number | undefined;
    void stopped.then(() => {
      closedAfterMs = Date.now() - started;
    });

    const readyz = await fetch(`${t.api.opsUrl}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.json()).toMatchObject({ ready: false, draining: true });

    // Requests keep coming (the load balancer has not caught up yet): every one succeeds until the
    // listener closes; after that, connections are refused, never answered with an error.
    const statuses: number[] = [];
    let refused = false;
    while (!refused) {
      const batch = await Promise.allSettled(
        Array.from({ length: 5 }, () =>
          fetch(`${t.api.url}/v1/users?limit=1`, { headers: { authorization: `Bearer ${tenant.key}` } }),
        ),
      );
      for (const result of batch) {
        if (result.status === 'fulfilled') {
          statuses.push(result.value.status);
          await result.value.arrayBuffer();
        } else {
          // Once the listener closes: refused, or reset for a connection the kernel had accepted
          // in the very moment of the close; never before the drain delay is over.
          const code = (result.reason as { cause?: { code?: string } }).cause?.code;
          expect(['ECONNREFUSED', 'ECONNRESET'], String(result.reason)).toContain(code);
          expect(Date.now() - started).toBeGreaterThanOrEqual(drainDelayMs);
          refused = true;
        }
      }
    }
    await stopped;
    expect(statuses.length).toBeGreaterThanOrEqual(10);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // The listener stayed open for the whole drain delay.
    expect(closedAfterMs).toBeGreaterThanOrEqual(drainDelayMs);
  });

  it('skips the drain delay when asked to (SIGINT)', async () => {
    const t = await startTestApi({ DRAIN_DELAY_MS: '600000' });
    cleanups.push(() => t.worker.stop());
    await t.api.stop({ drain: false });
    await expect(fetch(`${t.api.url}/healthz`)).rejects.toThrow();
  });
});

describe('health that does not wait for Redis', () => {
  it('starts with Redis unreachable, reports it in /readyz only, and recovers when Redis comes back', async () => {
    const redis = await startRedisServer({ started: false });
    cleanups.push(() => redis.destroy());
    const api = await startApi(testConfig({ REDIS_URL: redis.url }));
    cleanups.push(() => api.stop());

    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    const down = await fetch(`${api.opsUrl}/readyz`);
    expect(down.status).toBe(503);
    const body = (await down.json()) as { checks: Record<string, { ok: boolean; error?: string }> };
    expect(body.checks.postgres).toEqual({ ok: true });
    expect(body.checks.redis?.ok).toBe(false);
    expect(body.checks.redis?.error).toMatch(/not connected/);

    await redis.start();
    await waitFor(
      'readiness once Redis is up',
      async () => ((await fetch(`${api.opsUrl}/readyz`)).status === 200 ? true : undefined),
      30_000,
      100,
    );
    // The revocation subscription went through once connected.
    await waitFor(
      'the key-revocation subscriber',
      async () => {
        const [, count] = (await api.platform.redis.pubsub('NUMSUB', 'platform:api-keys:revoked')) as [
          string,
          number,
        ];
        return count >= 1 ? true : undefined;
      },
      10_000,
      100,
    );
  });
});
