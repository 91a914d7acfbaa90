import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RedisResultBackend } from '@platform/celery';
import { type TenantRef } from '@platform/core';
import {
  type ManagedProcess,
  spawnManaged,
  startPythonCeleryWorker,
  testDatabaseUrl,
} from '@platform/core/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startWorker } from '../src/app.js';
import { IRIS_SETOSA, queuePrediction, readyTenant, testDb, workerConfig } from './fixtures.js';
import { newRedis, TEST_ML_GATEWAY_URL, TEST_REDIS_URL, uniqueQueue, waitFor } from './helpers.js';

const db = testDb();
afterAll(() => db.destroy());

const WORKER_MAIN = resolve(import.meta.dirname, '../dist/main.js');

async function statusCounts(tenant: TenantRef): Promise<Record<string, number>> {
  const rows = await db
    .withSchema(tenant.schema)
    .table('predictions')
    .select('status')
    .count({ n: '*' })
    .groupBy('status');
  return Object.fromEntries(rows.map((r) => [r.status as string, Number(r.n)]));
}

/** The worker as its own process, with a 2 s visibility timeout so restores happen in the test. */
function childWorkerEnv(queue: string): Record<string, string> {
  return {
    DATABASE_URL: testDatabaseUrl(),
    REDIS_URL: TEST_REDIS_URL,
    ML_GATEWAY_URL: TEST_ML_GATEWAY_URL,
    QUEUE_ML: queue,
    QUEUE_PLATFORM: uniqueQueue('platform'),
    VISIBILITY_TIMEOUT_S: '2',
    WORKER_CONCURRENCY: '8',
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
  };
}

async function queueMany(redis: Redis, tenant: TenantRef, queue: string, n: number) {
  const ids = [];
  for (let i = 0; i < n; i++)
    ids.push(await queuePrediction(db, redis, tenant, queue, 'iris', [IRIS_SETOSA]));
  return ids;
}

describe('faults', () => {
  it('loses nothing when the worker is killed with SIGKILL mid-run: a restarted worker completes every task once', async () => {
    const redis = newRedis();
    const tenant = await readyTenant(db);
    const queue = uniqueQueue('kill');
    const tasks = await queueMany(redis, tenant, queue, 150);
    const env = childWorkerEnv(queue);
    let worker: ManagedProcess = spawnManaged(process.execPath, [WORKER_MAIN], env);
    try {
      await waitFor('some predictions to succeed', async () =>
        ((await statusCounts(tenant)).succeeded ?? 0) >= 10 ? true : undefined,
      );
      await worker.stop('SIGKILL');
      const held = Object.values(await redis.hgetall('unacked')).filter((v) =>
        v.includes(`"routing_key":"${queue}"`),
      );
      expect(held.length, 'deliveries in flight when the worker was killed').toBeGreaterThan(0);
      const done = (await statusCounts(tenant)).succeeded ?? 0;
      expect(done).toBeLessThan(150);

      worker = spawnManaged(process.execPath, [WORKER_MAIN], env);
      await waitFor(
        'every prediction to succeed after the restart',
        async () => (((await statusCounts(tenant)).succeeded ?? 0) === 150 ? true : undefined),
        60_000,
      );
      const results = new RedisResultBackend(redis);
      for (const { taskId } of tasks) expect((await results.get(taskId))?.status).toBe('SUCCESS');
      const rows = await db
        .withSchema(tenant.schema)
        .table('predictions')
        .select('id', 'status', 'completed_at');
      expect(rows).toHaveLength(150);
      expect(new Set(rows.map((r) => r.id)).size).toBe(150);
      expect(rows.every((r) => r.status === 'succeeded' && r.completed_at !== null)).toBe(true);
      await waitFor('acknowledgements', async () => {
        const left = Object.values(await redis.hgetall('unacked')).filter((v) =>
          v.includes(`"routing_key":"${queue}"`),
        );
        return left.length === 0 && (await redis.llen(queue)) === 0 ? true : undefined;
      });
    } finally {
      await worker.stop('SIGKILL');
      await redis.quit();
    }
  });

  it('leaves what a killed TypeScript worker held to a Python Celery worker, which restores and runs it', async () => {
    const redis = newRedis();
    const tenant = await readyTenant(db);
    const queue = uniqueQueue('handover');
    await queueMany(redis, tenant, queue, 60);
    const env = childWorkerEnv(queue);
    const worker = spawnManaged(process.execPath, [WORKER_MAIN], env);
    let python: ManagedProcess | undefined;
    try {
      await waitFor('some predictions to succeed', async () =>
        ((await statusCounts(tenant)).succeeded ?? 0) >= 5 ? true : undefined,
      );
      await worker.stop('SIGKILL');
      const held = Object.keys(await redis.hgetall('unacked')).length;
      expect(held).toBeGreaterThan(0);
      python = startPythonCeleryWorker(queue, {
        REDIS_URL: TEST_REDIS_URL,
        DATABASE_URL: testDatabaseUrl(),
        CELERY_VISIBILITY_TIMEOUT_S: '2',
      });
      await waitFor(
        'the Python worker to finish every prediction, restored ones included',
        async () => {
          if (python?.child.exitCode !== null) throw new Error(`python worker exited:\n${python?.output()}`);
          return ((await statusCounts(tenant)).succeeded ?? 0) === 60 ? true : undefined;
        },
        90_000,
      );
      await waitFor('acknowledgements', async () => {
        const left = Object.values(await redis.hgetall('unacked')).filter((v) =>
          v.includes(`"routing_key":"${queue}"`),
        );
        return left.length === 0 ? true : undefined;
      });
    } finally {
      await worker.stop('SIGKILL');
      await python?.stop();
      await redis.quit();
    }
  });

  it('reconnects when Redis restarts mid-run and finishes the queue', async () => {
    const port = 6391;
    const dir = await mkdtemp(join(tmpdir(), 'redis-fault-'));
    const startRedis = () =>
      spawnManaged(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          dir,
          '--appendonly',
          'yes',
          '--appendfsync',
          'always',
          '--save',
          '',
        ],
        {},
      );
    let server = startRedis();
    const url = `redis://127.0.0.1:${port}/0`;
    const redis = new Redis(url, { maxRetriesPerRequest: null });
    redis.on('error', () => undefined); // expected while the server restarts
    const tenant = await readyTenant(db);
    const queue = uniqueQueue('restart');
    const worker = await startWorker(
      workerConfig(
        { ml: queue, platform: uniqueQueue('platform') },
        { REDIS_URL: url, WORKER_CONCURRENCY: '2' },
      ),
      { scheduler: false },
    );
    try {
      await queueMany(redis, tenant, queue, 120);
      await waitFor('some predictions to succeed', async () =>
        ((await statusCounts(tenant)).succeeded ?? 0) >= 10 ? true : undefined,
      );
      await server.stop('SIGTERM'); // Redis saves its append-only file and exits
      expect((await statusCounts(tenant)).succeeded ?? 0).toBeLessThan(120);
      server = startRedis();
      await waitFor(
        'every prediction to succeed after Redis came back',
        async () => (((await statusCounts(tenant)).succeeded ?? 0) === 120 ? true : undefined),
        60_000,
      );
      await waitFor('the queue to drain', async () =>
        (await redis.llen(queue)) === 0 && (await redis.hlen('unacked')) === 0 ? true : undefined,
      );
    } finally {
      await worker.stop();
      await redis.quit().catch(() => undefined);
      await server.stop('SIGKILL');
    }
  });
});
