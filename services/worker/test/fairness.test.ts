import { randomUUID } from 'node:crypto';
import { CeleryPublisher, PRIORITY_SEPARATOR } from '@platform/celery';
import {
  FAIR_BACKLOG_PRIORITY,
  FAIR_SLOTS_PREFIX,
  insertPrediction,
  OutboxRelay,
  RedisFairSlots,
  schemaForSlug,
  TaskOutbox,
  type TenantRef,
} from '@platform/core';
import { startPythonCeleryWorker, testDatabaseUrl } from '@platform/core/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker } from '../src/app.js';
import { IRIS_SETOSA, readyTenant, testDb, workerConfig } from './fixtures.js';
import { newRedis, silentLog, TEST_REDIS_URL, uniqueQueue, waitFor } from './helpers.js';

const db = testDb();
let redis: Redis;

beforeAll(() => {
  redis = newRedis();
});
afterAll(async () => {
  await redis.quit();
  await db.destroy();
});

/** Writes `n` predictions of `tenant` and their tasks to the outbox in one transaction, as the API does. */
async function queueThroughOutbox(outbox: TaskOutbox, tenant: TenantRef, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => randomUUID());
  await db.transaction(async (trx) => {
    for (const id of ids) {
      const taskId = randomUUID();
      await insertPrediction(trx, tenant, { id, model: 'iris', input: [IRIS_SETOSA], task_id: taskId });
      await outbox.enqueue(trx, 'ml.predict', { tenant_id: tenant.id, prediction_id: id }, { id: taskId });
    }
  });
  return ids;
}

async function countByStatus(tenant: TenantRef, status: string): Promise<number> {
  const rows = await db
    .withSchema(schemaForSlug(tenant.slug))
    .table('predictions')
    .where({ status })
    .count({ n: '*' });
  return Number(rows[0]?.n ?? 0);
}

/** Outbox entries of `queue` the relay has published. */
async function publishedCount(queue: string): Promise<number> {
  const rows = await db
    .withSchema('platform')
    .table('outbox')
    .where({ queue })
    .whereNotNull('published_at')
    .count({ n: '*' });
  return Number(rows[0]?.n ?? 0);
}

const slotKey = (queue: string, tenant: TenantRef) => `${FAIR_SLOTS_PREFIX}:${queue}:${tenant.id}`;

/** A relay of the test's own, publishing fairly on `queue` (the worker's relay does the same). */
function fairRelay(queue: string, options: { perKey: number; staleSeconds?: number; pollMs?: number }) {
  const publisher = new CeleryPublisher(redis, () => queue);
  return new OutboxRelay(db, (entries) => publisher.publishMany(entries), {
    listenUrl: testDatabaseUrl(),
    pollIntervalMs: options.pollMs ?? 200,
    batchSize: 500,
    retentionSeconds: 3600,
    fairness: {
      admission: new RedisFairSlots(redis, {
        perKey: options.perKey,
        staleSeconds: options.staleSeconds ?? 300,
      }),
      maxGroupsPerPass: 1000,
      heldBackPollMs: options.pollMs ?? 50,
    },
    log: silentLog,
  });
}

describe('fair queueing of ml.predict', () => {
  it("runs tenant B's prediction while most of tenant A's flood still waits, then drains A and frees every slot", async () => {
    const queues = { ml: uniqueQueue('fair'), platform: uniqueQueue('platform') };
    const worker = await startWorker(
      workerConfig(queues, { WORKER_CONCURRENCY: '2', FAIR_SLOTS_PER_TENANT: '2', FAIR_POLL_MS: '50' }),
      { scheduler: false },
    );
    try {
      const outbox = new TaskOutbox(queues);
      const [a, b] = [await readyTenant(db), await readyTenant(db)];
      const flood = 300;
      await queueThroughOutbox(outbox, a, flood);
      const [bPrediction] = await queueThroughOutbox(outbox, b, 1);
      await waitFor('B to succeed', async () =>
        (await countByStatus(b, 'succeeded')) === 1 ? true : undefined,
      );
      // FIFO would run B after all 300 of A; with two slots per tenant it runs within a few tasks.
      const aDone = await countByStatus(a, 'succeeded');
      expect(aDone).toBeLessThan(flood / 2);
      // What waits, waits in the outbox: the broker holds at most the slots of A.
      expect(await redis.zcard(slotKey(queues.ml, a))).toBeLessThanOrEqual(2);
      expect(await redis.llen(queues.ml)).toBeLessThanOrEqual(2);
      expect(bPrediction).toBeDefined();
      await waitFor(
        "A's flood to drain",
        async () => ((await countByStatus(a, 'succeeded')) === flood ? true : undefined),
        50_000,
      );
      await waitFor('every slot to be released', async () =>
        (await redis.zcard(slotKey(queues.ml, a))) + (await redis.zcard(slotKey(queues.ml, b))) === 0
          ? true
          : undefined,
      );
    } finally {
      await worker.stop();
    }
  });

  it('a Python Celery worker on the same queue runs fairly admitted predictions and releases their slots', async () => {
    const queue = uniqueQueue('fair-py');
    const outbox = new TaskOutbox({ ml: queue, platform: uniqueQueue('platform') });
    const relay = fairRelay(queue, { perKey: 2 });
    const python = startPythonCeleryWorker(queue, {
      REDIS_URL: TEST_REDIS_URL,
      DATABASE_URL: testDatabaseUrl(),
    });
    try {
      await relay.start();
      const [a, b] = [await readyTenant(db), await readyTenant(db)];
      const flood = 60;
      await queueThroughOutbox(outbox, a, flood);
      await queueThroughOutbox(outbox, b, 1);
      await waitFor(
        'B to succeed on the Python worker',
        async () => {
          if (python.child.exitCode !== null) throw new Error(`python worker exited:\n${python.output()}`);
          return (await countByStatus(b, 'succeeded')) === 1 ? true : undefined;
        },
        45_000,
      );
      expect(await countByStatus(a, 'succeeded')).toBeLessThan(flood / 2);
      await waitFor(
        "A's flood to drain on the Python worker",
        async () => ((await countByStatus(a, 'succeeded')) === flood ? true : undefined),
        50_000,
      );
      await waitFor('the Python worker to release every slot', async () =>
        (await redis.zcard(slotKey(queue, a))) + (await redis.zcard(slotKey(queue, b))) === 0
          ? true
          : undefined,
      );
    } finally {
      await relay.stop();
      await python.stop();
    }
  });

  it("puts each tenant's first message in the broker ahead of every tenant's backlog (kombu priorities)", async () => {
    const queue = uniqueQueue('fair-first');
    const backlog = `${queue}${PRIORITY_SEPARATOR}${FAIR_BACKLOG_PRIORITY}`;
    const outbox = new TaskOutbox({ ml: queue, platform: uniqueQueue('platform') });
    const relay = fairRelay(queue, { perKey: 3 });
    const [a, b] = [await readyTenant(db), await readyTenant(db)];
    try {
      await relay.start();
      await queueThroughOutbox(outbox, a, 5);
      await queueThroughOutbox(outbox, b, 1);
      // No consumer: A's three slots and B's one fill, and stay so.
      await waitFor('four messages in the broker', async () =>
        (await redis.zcard(slotKey(queue, a))) + (await redis.zcard(slotKey(queue, b))) === 4
          ? true
          : undefined,
      );
      // A's first and B's only on the queue itself, which consumers pop first; A's other two behind.
      expect(await redis.llen(queue)).toBe(2);
      expect(await redis.llen(backlog)).toBe(2);
      const tenants = (await redis.lrange(queue, 0, -1)).map((raw) => {
        const kwargs = JSON.parse(Buffer.from(JSON.parse(raw).body, 'base64').toString())[1];
        return kwargs.tenant_id as string;
      });
      expect(tenants.sort()).toEqual([a.id, b.id].sort());
    } finally {
      await relay.stop();
      await redis.del(queue, backlog, slotKey(queue, a), slotKey(queue, b));
    }
  });

  it('a lost release expires: the next message is admitted once the slot is older than its bound', async () => {
    const queue = uniqueQueue('fair-lost');
    const outbox = new TaskOutbox({ ml: queue, platform: uniqueQueue('platform') });
    const relay = fairRelay(queue, { perKey: 1, staleSeconds: 2 });
    const tenant = await readyTenant(db);
    const published = () => publishedCount(queue);
    try {
      await relay.start();
      await queueThroughOutbox(outbox, tenant, 2);
      // The pass that published the first one left the second waiting: one slot, taken.
      await waitFor('the first to be published', async () => ((await published()) === 1 ? true : undefined));
      expect(await redis.zcard(slotKey(queue, tenant))).toBe(1);
      // The message is lost without an acknowledgement (e.g. removed by hand): no release comes.
      await redis.del(queue);
      await waitFor('the second to be admitted after the slot expired', async () =>
        (await published()) === 2 ? true : undefined,
      );
      expect(await redis.llen(queue)).toBe(1);
      const [, score] = await redis.zrange(slotKey(queue, tenant), 0, -1, 'WITHSCORES');
      expect(await redis.zcard(slotKey(queue, tenant))).toBe(1);
      expect(Number(score)).toBeGreaterThan(Date.now() / 1000 - 10);
    } finally {
      await relay.stop();
      await redis.del(queue, slotKey(queue, tenant));
    }
  });

  it('a release admits what its group holds back at once, without polling', async () => {
    const queue = uniqueQueue('fair-release');
    const outbox = new TaskOutbox({ ml: queue, platform: uniqueQueue('platform') });
    // No polling to fall back on within the test: only notifications and releases make passes.
    const relay = fairRelay(queue, { perKey: 2, pollMs: 600_000 });
    const tenant = await readyTenant(db);
    const published = () => publishedCount(queue);
    try {
      await relay.start();
      await queueThroughOutbox(outbox, tenant, 3);
      await waitFor('two to be published', async () => ((await published()) === 2 ? true : undefined));
      // One acknowledgement's release (as a consumer's, with its announcement) admits the third.
      const [first] = await redis.zrange(slotKey(queue, tenant), 0, 0);
      await redis.zrem(slotKey(queue, tenant), first as string);
      relay.released();
      await waitFor('the third to be admitted on the release', async () =>
        (await published()) === 3 ? true : undefined,
      );
      // Nothing waits now: a release makes no pass, and a new entry is published on its notification.
      await redis.del(slotKey(queue, tenant));
      relay.released();
      await queueThroughOutbox(outbox, tenant, 1);
      await waitFor('the fourth to be published', async () => ((await published()) === 4 ? true : undefined));
      expect(await redis.zcard(slotKey(queue, tenant))).toBe(1);
    } finally {
      await relay.stop();
      await redis.del(queue, `${queue}${PRIORITY_SEPARATOR}${FAIR_BACKLOG_PRIORITY}`, slotKey(queue, tenant));
    }
  });
});
