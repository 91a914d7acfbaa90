import { resolve } from 'node:path';
import { buildEnvelope, CeleryPublisher, KombuRedisTransport, RedisResultBackend } from '@platform/celery';
import type { TenantRef } from '@platform/core';
import {
  type ManagedProcess,
  spawnManaged,
  startPythonCeleryWorker,
  startRedisServer,
  stopAllManaged,
  testDatabaseEnv,
  testRuntimeDatabaseUrl,
} from '@platform/core/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type RunningWorker, startWorker } from '../src/app.js';
import { defineTask } from '../src/engine/catalog.js';
import { Worker } from '../src/engine/worker.js';
import { IRIS_SETOSA, queuePrediction, readyTenant, testDb, workerConfig } from './fixtures.js';
import { newRedis, silentLog, TEST_ML_GATEWAY_URL, TEST_REDIS_URL, uniqueQueue, waitFor } from './helpers.js';

const db = testDb();
afterEach(stopAllManaged);
afterAll(() => db.destroy());

const WORKER_MAIN = resolve(import.meta.dirname, '../dist/main.js');
const POISON_WORKER = resolve(import.meta.dirname, 'support/poison-worker.mjs');

async function statusCounts(tenant: TenantRef): Promise<Record<string, number>> {
  const rows = await db
    .withSchema(tenant.schema)
    .table('predictions')
    .select('status')
    .count({ n: '*' })
    .groupBy('status');
  return Object.fromEntries(rows.map((r) => [r.status as string, Number(r.n)]));
}

const succeeded = async (tenant: TenantRef) => (await statusCounts(tenant)).succeeded ?? 0;

/** The worker as its own process. Heartbeats expire after 2 s; kombu's visibility timeout is an hour. */
function childWorkerEnv(queue: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    ...testDatabaseEnv(),
    REDIS_URL: TEST_REDIS_URL,
    ML_GATEWAY_URL: TEST_ML_GATEWAY_URL,
    QUEUE_ML: queue,
    QUEUE_PLATFORM: uniqueQueue('platform'),
    VISIBILITY_TIMEOUT_S: '3600',
    HEARTBEAT_TTL_MS: '2000',
    REAP_INTERVAL_MS: '250',
    WORKER_CONCURRENCY: '8',
    OUTBOX_RELAY: 'off',
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
    ...env,
  };
}

async function queueMany(redis: Redis, tenant: TenantRef, queue: string, n: number) {
  const ids = [];
  for (let i = 0; i < n; i++)
    ids.push(await queuePrediction(db, redis, tenant, queue, 'iris', [IRIS_SETOSA]));
  return ids;
}

/** Row locks on some predictions, held by a transaction of the test (see `holdRows`). */
interface HeldRows {
  /** Claims (of a worker's batch holding a locked row) waiting for the locks now. */
  claimsWaiting(): Promise<number>;
  release(): Promise<void>;
}

const holds: HeldRows[] = [];
afterEach(async () => {
  for (const hold of holds.splice(0)) await hold.release();
});

/**
 * Locks the rows of predictions `ids` (SELECT ... FOR UPDATE in a transaction of the test): a
 * worker runs the others, while its claim of a batch holding a locked row waits, with its
 * deliveries held, until `release`. A fault can then strike a worker that holds work, however
 * fast it is.
 */
async function holdRows(tenant: TenantRef, ids: string[]): Promise<HeldRows> {
  const trx = await db.transaction();
  let pid: number;
  try {
    const { rows } = await trx.raw<{ rows: Array<{ pid: number }> }>('select pg_backend_pid() as pid');
    pid = rows[0]?.pid as number;
    await trx.withSchema(tenant.schema).table('predictions').whereIn('id', ids).forUpdate().select('id');
  } catch (err) {
    await trx.rollback();
    throw err;
  }
  const hold: HeldRows = {
    async claimsWaiting() {
      const { rows } = await db.raw<{ rows: Array<{ n: number }> }>(
        'select count(*)::int as n from pg_stat_activity where ? = any(pg_blocking_pids(pid))',
        [pid],
      );
      return rows[0]?.n ?? 0;
    },
    async release() {
      if (!trx.isCompleted()) await trx.commit();
    },
  };
  holds.push(hold);
  return hold;
}

/** Delivery tags recorded in kombu's unacked hash for `queue`. */
async function unackedOf(redis: Redis, queue: string): Promise<string[]> {
  const all = await redis.hgetall('unacked');
  return Object.entries(all)
    .filter(([, v]) => v.includes(`"routing_key":"${queue}"`))
    .map(([tag]) => tag);
}

// Each test's waits add up to well under this.
describe('faults', { timeout: 150_000 }, () => {
  it('runs what a SIGKILLed worker held on a live worker within seconds (heartbeat), not after the visibility timeout', async () => {
    const redis = newRedis();
    const tenant = await readyTenant(db);
    const queue = uniqueQueue('kill');
    const tasks = await queueMany(redis, tenant, queue, 150);
    // The worker runs the first half; its claim of a batch with a row of the second waits.
    const rows = await holdRows(
      tenant,
      tasks.slice(75).map((t) => t.predictionId),
    );
    const env = childWorkerEnv(queue);
    const victim: ManagedProcess = spawnManaged(process.execPath, [WORKER_MAIN], env);
    try {
      await waitFor(
        'some predictions to succeed and a claim to wait for the locked rows',
        async () => {
          if (victim.child.exitCode !== null) throw new Error(`the worker exited:\n${victim.output()}`);
          return (await succeeded(tenant)) >= 10 && (await rows.claimsWaiting()) > 0 ? true : undefined;
        },
        40_000,
      );
      await victim.stop('SIGKILL');
      const held = await unackedOf(redis, queue);
      expect(held.length, 'deliveries in flight when the worker was killed').toBeGreaterThan(0);
      expect(await succeeded(tenant)).toBeLessThanOrEqual(75);
      await rows.release();

      // Another worker, already running or started now: the visibility timeout (an hour) plays no part.
      const survivor = spawnManaged(process.execPath, [WORKER_MAIN], env);
      await waitFor(
        "every prediction to succeed, the killed worker's included",
        async () => ((await succeeded(tenant)) === 150 ? true : undefined),
        40_000,
      );
      // A prediction whose outcome the killed worker recorded, but not its result, is done before
      // its redelivery stores the result again: wait for the results, not only the rows.
      const results = new RedisResultBackend(redis);
      await waitFor('every result', async () => {
        for (const { taskId } of tasks)
          if ((await results.get(taskId))?.status !== 'SUCCESS') return undefined;
        return true;
      });
      const ended = await db
        .withSchema(tenant.schema)
        .table('predictions')
        .select('id', 'status', 'attempts');
      expect(ended).toHaveLength(150);
      expect(ended.every((r) => r.status === 'succeeded')).toBe(true);
      // Only what the killed worker had started runs a second time.
      expect(ended.filter((r) => r.attempts > 1).length).toBeLessThanOrEqual(held.length);
      await waitFor('acknowledgements', async () =>
        (await unackedOf(redis, queue)).length === 0 && (await redis.llen(queue)) === 0 ? true : undefined,
      );
      await survivor.stop();
    } finally {
      await redis.quit();
    }
  });

  it('does not restore the deliveries of a live worker running a slow task', async () => {
    const redis = newRedis();
    const queue = uniqueQueue('slow');
    const runs: string[] = [];
    const slow = defineTask({
      name: 'test.slow',
      payload: z.object({}),
      retry: { maxRetries: 0, baseDelayMs: 10, maxDelayMs: 10 },
      timeoutMs: 20_000,
      async handler(_p, ctx) {
        runs.push(ctx.taskId);
        await new Promise((r) => setTimeout(r, 4000));
        return 'done';
      },
    });
    // Heartbeats of 600 ms and reapers every 100 ms: the task lasts many heartbeat periods.
    const options = { queues: [queue], concurrency: 1, heartbeatTtlMs: 600, reapIntervalMs: 100 };
    const a = new Worker(newRedis(), [slow], options, silentLog);
    const b = new Worker(newRedis(), [slow], options, silentLog);
    try {
      await a.start();
      const id = await new CeleryPublisher(redis, () => queue).publish('test.slow', {});
      await waitFor('the task to start', async () => (runs.length === 1 ? true : undefined));
      await b.start();
      const results = new RedisResultBackend(redis);
      const meta = await waitFor('the task to finish', async () => {
        const m = await results.get(id);
        return m?.status === 'SUCCESS' ? m : undefined;
      });
      expect(meta.result).toBe('done');
      expect(runs).toEqual([id]);
      expect(await redis.llen(queue)).toBe(0);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await redis.quit();
    }
  });

  it('dead-letters a message that killed its worker three times, with the reason, instead of killing a fourth', async () => {
    const redis = newRedis();
    const queue = uniqueQueue('poison');
    const envelope = buildEnvelope({ task: 'test.poison', kwargs: {}, queue });
    await new KombuRedisTransport(redis).publish(envelope);
    const env = {
      REDIS_URL: TEST_REDIS_URL,
      QUEUE: queue,
      HEARTBEAT_TTL_MS: '800',
      MAX_CONSUMER_DEATHS: '3',
    };
    try {
      // Each worker takes the message and dies; the next one restores it (counting the death) and dies too.
      for (let death = 1; death <= 3; death++) {
        const worker = spawnManaged(process.execPath, [POISON_WORKER], env);
        await waitFor(`worker ${death} to be killed by the message`, async () =>
          worker.child.signalCode === 'SIGKILL' ? true : worker.child.exitCode !== null ? true : undefined,
        );
        expect(worker.child.signalCode).toBe('SIGKILL');
      }
      // A fourth worker restores it to the dead-letter list and stays alive.
      const fourth = spawnManaged(process.execPath, [POISON_WORKER], env);
      const dead = await waitFor(
        'the dead letter',
        async () => (await redis.lrange(`${queue}.dead`, 0, -1))[0],
      );
      const parsed = JSON.parse(dead);
      expect(parsed.headers.id).toBe(envelope.headers.id);
      expect(parsed.headers['x-consumer-deaths']).toBe(3);
      expect(parsed.headers['x-dead-letter']).toMatchObject({ reason: 'killed_consumers' });
      expect(await redis.llen(queue)).toBe(0);
      expect(await unackedOf(redis, queue)).toEqual([]);
      expect(fourth.child.exitCode).toBeNull();
      expect(fourth.child.signalCode).toBeNull();
      await fourth.stop();
    } finally {
      await redis.quit();
    }
  });

  it('leaves what a killed TypeScript worker held to a Python Celery worker, which restores it after the visibility timeout and runs it', async () => {
    const redis = newRedis();
    const tenant = await readyTenant(db);
    const queue = uniqueQueue('handover');
    const tasks = await queueMany(redis, tenant, queue, 60);
    // A batch holds up to 32 deliveries: the first one runs, a later one waits for the lock.
    const rows = await holdRows(
      tenant,
      tasks.slice(45).map((t) => t.predictionId),
    );
    const worker = spawnManaged(
      process.execPath,
      [WORKER_MAIN],
      childWorkerEnv(queue, { VISIBILITY_TIMEOUT_S: '2', WORKER_CONCURRENCY: '4' }),
    );
    try {
      await waitFor('some predictions to succeed and a claim to wait for the locked rows', async () =>
        (await succeeded(tenant)) >= 5 && (await rows.claimsWaiting()) > 0 ? true : undefined,
      );
      await worker.stop('SIGKILL');
      const held = await unackedOf(redis, queue);
      expect(held.length).toBeGreaterThan(0);
      expect(await succeeded(tenant)).toBeLessThanOrEqual(45);
      await rows.release();
      // The Python consumer starts at once: its periodic sweep (every second here, kombu's
      // `unacked_restore_interval` with throttle 1) puts the held deliveries back once they are
      // older than its visibility timeout. The killed worker held no lock that could stop it.
      expect(await redis.exists('unacked_mutex')).toBe(0);
      const python = startPythonCeleryWorker(queue, {
        REDIS_URL: TEST_REDIS_URL,
        DATABASE_URL: testRuntimeDatabaseUrl(),
        CELERY_VISIBILITY_TIMEOUT_S: '2',
        CELERY_RESTORE_INTERVAL_S: '1',
      });
      await waitFor(
        'the Python worker to finish every prediction, restored ones included',
        async () => {
          if (python.child.exitCode !== null) throw new Error(`python worker exited:\n${python.output()}`);
          return (await succeeded(tenant)) === 60 ? true : undefined;
        },
        40_000,
      );
      await waitFor('acknowledgements', async () =>
        (await unackedOf(redis, queue)).length === 0 ? true : undefined,
      );
      await python.stop();
    } finally {
      await redis.quit();
    }
  });

  it('reconnects when Redis restarts mid-run and finishes the queue', async () => {
    const server = await startRedisServer();
    const redis = new Redis(server.url, { maxRetriesPerRequest: null });
    redis.on('error', () => undefined); // expected while the server restarts
    const tenant = await readyTenant(db);
    const queue = uniqueQueue('restart');
    const tasks = await queueMany(redis, tenant, queue, 120);
    const locked = tasks.slice(60);
    // The second half of the predictions is row-locked: the worker runs the first ones, then its
    // claim of a batch holding a locked row waits, and the rest of the queue waits in Redis, until
    // the lock goes (after Redis restarted).
    const rows = await holdRows(
      tenant,
      locked.map((t) => t.predictionId),
    );
    let worker: RunningWorker | undefined;
    try {
      worker = await startWorker(
        workerConfig(
          { ml: queue, platform: uniqueQueue('platform') },
          { REDIS_URL: server.url, WORKER_CONCURRENCY: '2', OUTBOX_RELAY: 'off' },
        ),
        { scheduler: false },
      );
      await waitFor('some predictions to succeed and a claim to wait for the locked rows', async () =>
        (await rows.claimsWaiting()) > 0 && (await succeeded(tenant)) >= 10 ? true : undefined,
      );
      await server.stop(); // Redis writes its append-only file and exits
      expect(await succeeded(tenant)).toBeLessThanOrEqual(60);
      await server.start();
      // What waits for the locked rows came through the restart: each of their messages is still
      // queued or held (recorded in kombu's unacked hash).
      const recorded = [...(await redis.lrange(queue, 0, -1)), ...(await redis.hvals('unacked'))].join('\n');
      for (const { taskId } of locked) expect(recorded).toContain(taskId);
      await rows.release();
      await waitFor(
        'every prediction to succeed after Redis came back',
        async () => ((await succeeded(tenant)) === 120 ? true : undefined),
        40_000,
      );
      const results = new RedisResultBackend(redis);
      await waitFor('every result', async () => {
        for (const { taskId } of tasks)
          if ((await results.get(taskId))?.status !== 'SUCCESS') return undefined;
        return true;
      });
      await waitFor('the queue to drain', async () =>
        (await redis.llen(queue)) === 0 && (await redis.hlen('unacked')) === 0 ? true : undefined,
      );
    } finally {
      await rows.release();
      await worker?.stop();
      await redis.quit().catch(() => undefined);
      await server.destroy();
    }
  });
});
