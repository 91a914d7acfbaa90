import { RedisResultBackend } from '@platform/celery';
import { findPrediction } from '@platform/core';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningWorker, startWorker } from '../src/app.js';
import {
  IRIS_SETOSA,
  IRIS_VIRGINICA,
  queuePrediction,
  readyTenant,
  testDb,
  workerConfig,
} from './fixtures.js';
import { newRedis, uniqueQueue, waitFor, waitForState } from './helpers.js';

const db = testDb();
let redis: Redis;
let results: RedisResultBackend;
beforeAll(() => {
  redis = newRedis();
  results = new RedisResultBackend(redis);
});
afterAll(async () => {
  await redis.quit();
  await db.destroy();
});

async function withWorker<T>(
  env: Record<string, string>,
  fn: (queue: string, w: RunningWorker) => Promise<T>,
) {
  const queue = uniqueQueue('ml');
  const worker = await startWorker(workerConfig({ ml: queue, platform: uniqueQueue('platform') }, env), {
    scheduler: false,
  });
  try {
    return await fn(queue, worker);
  } finally {
    await worker.stop();
  }
}

describe('ml.predict against the real ml-gateway', () => {
  it('predicts and records the output in the tenant row and the result backend', async () => {
    const tenant = await readyTenant(db);
    await withWorker({}, async (queue, worker) => {
      const { predictionId, taskId } = await queuePrediction(db, redis, tenant, queue, 'iris', [
        IRIS_SETOSA,
        IRIS_VIRGINICA,
      ]);
      const meta = await waitForState(results, taskId, ['SUCCESS']);
      expect(meta.result).toMatchObject({
        prediction_id: predictionId,
        model: 'iris',
        predictions: ['setosa', 'virginica'],
      });
      const row = await findPrediction(db, tenant, predictionId);
      expect(row).toMatchObject({ status: 'succeeded', attempts: 1, error: null });
      expect(row?.output?.predictions).toEqual(['setosa', 'virginica']);
      const probabilities = row?.output?.probabilities as number[][];
      for (const p of probabilities) expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
      expect(row?.model_version).toBeTruthy();

      // The ops endpoints report it.
      expect((await fetch(`${worker.url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${worker.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({
        ready: true,
        checks: {
          postgres: { ok: true },
          redis: { ok: true },
          outbox: { ok: true, pending: expect.any(Number), oldest_seconds: expect.any(Number) },
        },
      });
      const metrics = await (await fetch(`${worker.url}/metrics`)).text();
      expect(metrics).toContain('worker_tasks_total{task="ml.predict",state="SUCCESS"} 1');
      expect(metrics).toContain(`worker_queue_depth{queue="${queue}"} 0`);
      expect(metrics).toMatch(/worker_task_duration_seconds_count\{task="ml.predict"\} 1/);
    });
  });

  it('fails the prediction at once with the gateway message when the model refuses the input', async () => {
    const tenant = await readyTenant(db);
    await withWorker({}, async (queue) => {
      const { predictionId, taskId } = await queuePrediction(db, redis, tenant, queue, 'iris', [[1, 2]]);
      const meta = await waitForState(results, taskId, ['FAILURE']);
      expect(meta.retries).toBe(0);
      const row = await findPrediction(db, tenant, predictionId);
      expect(row?.status).toBe('failed');
      expect(row?.error).toMatch(/4/);
      expect(await redis.llen(`${queue}.dead`)).toBe(0);
    });
  });

  it('retries while ml-gateway is down, then fails the prediction with a clear error and keeps the task', async () => {
    const tenant = await readyTenant(db);
    // Nothing listens on this port: every call is refused, for real.
    await withWorker({ ML_GATEWAY_URL: 'http://127.0.0.1:9' }, async (queue) => {
      const { predictionId, taskId } = await queuePrediction(db, redis, tenant, queue, 'iris', [IRIS_SETOSA]);
      const meta = await waitForState(results, taskId, ['FAILURE'], 40_000);
      expect(meta.retries).toBe(4);
      expect(meta.result).toMatchObject({ exc_type: 'MlGatewayUnavailable' });
      const row = await findPrediction(db, tenant, predictionId);
      expect(row?.status).toBe('failed');
      expect(row?.attempts).toBe(5);
      expect(row?.error).toMatch(/^gave up after 5 attempts: ml-gateway unreachable/);
      const dead = await waitFor('dead letter', async () => (await redis.lrange(`${queue}.dead`, 0, -1))[0]);
      expect(JSON.parse(dead).headers).toMatchObject({
        id: taskId,
        'x-dead-letter': { reason: 'retries_exhausted' },
      });
    });
  });
});
