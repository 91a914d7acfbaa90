import { resolve } from 'node:path';
import { RedisResultBackend } from '@platform/celery';
import { findPrediction, type TenantRef } from '@platform/core';
import { type ManagedProcess, spawnManaged, stopAllManaged, testDatabaseUrl } from '@platform/core/testing';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startWorker } from '../src/app.js';
import {
  IRIS_SETOSA,
  IRIS_VIRGINICA,
  queuePrediction,
  readyTenant,
  testDb,
  workerConfig,
} from './fixtures.js';
import {
  newRedis,
  TEST_ML_GATEWAY_URL,
  TEST_REDIS_URL,
  uniqueQueue,
  waitFor,
  waitForState,
} from './helpers.js';

const db = testDb();
const WORKER_MAIN = resolve(import.meta.dirname, '../dist/main.js');
let redis: Redis;
let results: RedisResultBackend;
beforeAll(() => {
  redis = newRedis();
  results = new RedisResultBackend(redis);
});
afterEach(stopAllManaged);
afterAll(async () => {
  await redis.quit();
  await db.destroy();
});

/** Delivery tags of the messages waiting in `queue`, by task id. */
async function deliveryTags(queue: string): Promise<Map<string, string>> {
  const raw = await redis.lrange(queue, 0, -1);
  return new Map(
    raw.map((r) => {
      const m = JSON.parse(r) as { headers: { id: string }; properties: { delivery_tag: string } };
      return [m.headers.id, m.properties.delivery_tag];
    }),
  );
}

async function statusCounts(tenant: TenantRef): Promise<Record<string, number>> {
  const rows = await db
    .withSchema(tenant.schema)
    .table('predictions')
    .select('status')
    .count({ n: '*' })
    .groupBy('status');
  return Object.fromEntries(rows.map((r) => [r.status as string, Number(r.n)]));
}

describe('ml.predict in batches', { timeout: 120_000 }, () => {
  it('runs queued predictions as one batch in which a bad input fails only its own prediction, each delivery acknowledged once', async () => {
    const tenant = await readyTenant(db);
    const queue = uniqueQueue('batch');
    const good = [];
    for (let i = 0; i < 6; i++) {
      const rows = i % 2 === 0 ? [IRIS_SETOSA] : [IRIS_VIRGINICA, IRIS_SETOSA];
      good.push({ rows, ...(await queuePrediction(db, redis, tenant, queue, 'iris', rows)) });
    }
    // Three features for a four-feature model: ml-gateway refuses this item alone.
    const bad = await queuePrediction(db, redis, tenant, queue, 'iris', [[1, 2, 3]]);
    const tags = await deliveryTags(queue);
    expect(tags.size).toBe(7);

    // Every acknowledgement (ZREM of the delivery from kombu's unacked index), as Redis runs it.
    const monitor = await redis.monitor();
    const acks = new Map<string, number>();
    const byTag = new Map([...tags].map(([taskId, tag]) => [tag, taskId]));
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() !== 'zrem' || args[1] !== 'unacked_index') return;
      for (const tag of args.slice(2)) {
        const taskId = byTag.get(tag);
        if (taskId) acks.set(taskId, (acks.get(taskId) ?? 0) + 1);
      }
    });

    // A batch closes when it holds WORKER_BATCH_SIZE deliveries (the wait is far longer): all seven
    // queued deliveries go to ml-gateway together.
    const worker = await startWorker(
      workerConfig(
        { ml: queue, platform: uniqueQueue('platform') },
        { WORKER_BATCH_SIZE: '7', WORKER_BATCH_WAIT_MS: '1000', WORKER_CONCURRENCY: '1' },
      ),
      { scheduler: false },
    );
    try {
      const failed = await waitForState(results, bad.taskId, ['FAILURE']);
      expect(failed.retries).toBe(0);
      expect(failed.result).toMatchObject({ exc_type: 'PermanentError' });
      const badRow = await findPrediction(db, tenant, bad.predictionId);
      expect(badRow).toMatchObject({ status: 'failed', attempts: 1 });
      expect(badRow?.error).toMatch(/instance 0 has 3 features; model iris expects 4/);

      for (const g of good) {
        const meta = await waitForState(results, g.taskId, ['SUCCESS']);
        const expected = g.rows.map((r) => (r === IRIS_SETOSA ? 'setosa' : 'virginica'));
        expect(meta.result).toMatchObject({ prediction_id: g.predictionId, predictions: expected });
        const row = await findPrediction(db, tenant, g.predictionId);
        expect(row).toMatchObject({ status: 'succeeded', attempts: 1, error: null });
        expect(row?.output?.predictions).toEqual(expected);
      }
      expect(await statusCounts(tenant)).toEqual({ succeeded: 6, failed: 1 });

      const metrics = await (await fetch(`${worker.url}/metrics`)).text();
      expect(metrics).toContain('worker_batch_size_count{task="ml.predict"} 1');
      expect(metrics).toContain('worker_batch_size_sum{task="ml.predict"} 7');
      expect(metrics).toContain('worker_tasks_total{task="ml.predict",state="SUCCESS"} 6');
      expect(metrics).toContain('worker_tasks_total{task="ml.predict",state="FAILURE"} 1');

      await waitFor('every acknowledgement', async () => (acks.size === 7 ? true : undefined));
      expect(Object.fromEntries(acks)).toEqual(Object.fromEntries([...tags.keys()].map((id) => [id, 1])));
      expect(await redis.hmget('unacked', ...tags.values())).toEqual([...tags.values()].map(() => null));
      expect(await redis.llen(queue)).toBe(0);
      expect(await redis.llen(`${queue}.dead`)).toBe(0);
    } finally {
      monitor.disconnect();
      await worker.stop();
    }
  });

  it('loses nothing when the worker is SIGKILLed while a batch runs: another worker finishes every prediction', async () => {
    const tenant = await readyTenant(db);
    const queue = uniqueQueue('batchkill');
    const total = 120;
    const tasks = [];
    for (let i = 0; i < total; i++)
      tasks.push(await queuePrediction(db, redis, tenant, queue, 'iris', [IRIS_SETOSA]));
    const env = {
      DATABASE_URL: testDatabaseUrl(),
      REDIS_URL: TEST_REDIS_URL,
      ML_GATEWAY_URL: TEST_ML_GATEWAY_URL,
      QUEUE_ML: queue,
      QUEUE_PLATFORM: uniqueQueue('platform'),
      HEARTBEAT_TTL_MS: '2000',
      REAP_INTERVAL_MS: '250',
      WORKER_CONCURRENCY: '2',
      WORKER_BATCH_SIZE: '16',
      OUTBOX_RELAY: 'off',
      HTTP_PORT: '0',
      LOG_LEVEL: 'warn',
    };
    const registered = new Set(await redis.smembers('platform:consumers'));
    const victim: ManagedProcess = spawnManaged(process.execPath, [WORKER_MAIN], env);
    // The victim's held deliveries: several marked running at once is a batch in ml-gateway.
    const held = await waitFor(
      'a batch of several predictions to be running',
      async () => {
        if (victim.child.exitCode !== null) throw new Error(`the worker exited:\n${victim.output()}`);
        for (const id of await redis.smembers('platform:consumers')) {
          if (registered.has(id)) continue;
          const key = `platform:consumers:${id}:held`;
          const running = Object.values(await redis.hgetall(key)).filter((s) => s === 'running').length;
          if (running >= 2) return key;
        }
        return undefined;
      },
      40_000,
      5,
    );
    await victim.stop('SIGKILL');
    const runningAtKill = Object.values(await redis.hgetall(held)).filter((s) => s === 'running').length;
    expect(runningAtKill, 'deliveries of a running batch when the worker was killed').toBeGreaterThanOrEqual(
      2,
    );
    expect((await statusCounts(tenant)).succeeded ?? 0).toBeLessThan(total);

    const survivor = spawnManaged(process.execPath, [WORKER_MAIN], env);
    await waitFor(
      "every prediction to succeed, the killed batch's included",
      async () => ((await statusCounts(tenant)).succeeded === total ? true : undefined),
      60_000,
    );
    for (const { taskId } of tasks) expect((await results.get(taskId))?.status).toBe('SUCCESS');
    const rows = await db.withSchema(tenant.schema).table('predictions').select('attempts');
    expect(rows).toHaveLength(total);
    // Only what was running when the worker died ran a second time.
    expect(rows.filter((r) => r.attempts > 1).length).toBeLessThanOrEqual(runningAtKill);
    expect(await redis.llen(`${queue}.dead`)).toBe(0);
    await waitFor('acknowledgements', async () =>
      (await redis.llen(queue)) === 0 && (await redis.hlen(held)) === 0 ? true : undefined,
    );
    await survivor.stop();
  });
});
