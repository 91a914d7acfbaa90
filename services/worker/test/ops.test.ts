import { freePort, startRedisServer, testDatabaseEnv } from '@platform/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningWorker, startWorker } from '../src/app.js';
import { loadWorkerConfig } from '../src/config.js';
import { silentLog, TEST_ML_GATEWAY_URL, uniqueQueue, waitFor } from './helpers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function readyz(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('ops endpoints with Redis down at start', () => {
  it('listens at once, reports Redis in /readyz only, and starts consuming when Redis comes back', async () => {
    const redis = await startRedisServer({ started: false });
    cleanups.push(() => redis.destroy());
    const httpPort = await freePort();
    const starting = startWorker(
      loadWorkerConfig({
        ...testDatabaseEnv(),
        REDIS_URL: redis.url,
        ML_GATEWAY_URL: TEST_ML_GATEWAY_URL,
        QUEUE_ML: uniqueQueue('ml'),
        QUEUE_PLATFORM: uniqueQueue('platform'),
        KUBERNETES: 'off',
        HTTP_PORT: String(httpPort),
      }),
      { log: silentLog, scheduler: false },
    );
    let running: RunningWorker | undefined;
    cleanups.push(async () => (running ?? (await starting)).stop());
    void starting.then((r) => {
      running = r;
    });
    const url = `http://127.0.0.1:${httpPort}`;

    // The ops server answers while the worker still waits for Redis.
    await waitFor(
      'the ops server',
      async () =>
        (await fetch(`${url}/healthz`)
          .then((r) => r.status)
          .catch(() => 0)) === 200 || undefined,
      20_000,
      50,
    );
    const down = await readyz(url);
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({
      ready: false,
      checks: {
        postgres: { ok: true },
        redis: { ok: false, error: expect.stringMatching(/not connected/) },
        // The outbox backlog is detail: it grows while Redis is down and is not a readiness condition.
        outbox: { ok: true, pending: expect.any(Number), oldest_seconds: expect.any(Number) },
      },
    });
    expect(running).toBeUndefined();

    await redis.start();
    await starting;
    await waitFor(
      'readiness',
      async () => ((await readyz(url)).status === 200 ? true : undefined),
      20_000,
      100,
    );
    expect((await readyz(url)).body).toEqual({
      ready: true,
      checks: {
        postgres: { ok: true },
        redis: { ok: true },
        outbox: { ok: true, pending: expect.any(Number), oldest_seconds: expect.any(Number) },
      },
    });
  });
});
