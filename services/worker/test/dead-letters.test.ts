import { randomUUID } from 'node:crypto';
import {
  buildEnvelope,
  CeleryPublisher,
  DEAD_LETTERS_DROPPED_KEY,
  DeadLetters,
  deadLetterList,
  decodeMessage,
  KombuRedisTransport,
  parseDeadLetter,
  RedisResultBackend,
  TenantTaskData,
} from '@platform/celery';
import { deprovisionTenant, TASKS, updateTenant } from '@platform/core';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startWorker as startWorkerApp } from '../src/app.js';
import { defineTask, type TaskDefinition } from '../src/engine/catalog.js';
import { createWorkerMetrics } from '../src/engine/metrics.js';
import { Worker, type WorkerOptions } from '../src/engine/worker.js';
import { queuePrediction, readyTenant, testDb, workerConfig } from './fixtures.js';
import { newRedis, silentLog, uniqueQueue, waitFor } from './helpers.js';

const db = testDb();
let redis: Redis;
const workers: Worker[] = [];
beforeAll(() => {
  redis = newRedis();
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
});
afterAll(async () => {
  await redis.quit();
  await db.destroy();
});

function startEngine(queue: string, tasks: TaskDefinition[], options: Partial<WorkerOptions> = {}): Worker {
  const worker = new Worker(newRedis(), tasks, { queues: [queue], concurrency: 2, ...options }, silentLog);
  workers.push(worker);
  void worker.start();
  return worker;
}

const failing = defineTask({
  name: 'test.always_fails',
  payload: z.object({ n: z.number(), tenant_id: z.string().optional() }),
  retry: { maxRetries: 0, baseDelayMs: 10, maxDelayMs: 10 },
  timeoutMs: 5000,
  handler: async () => {
    throw new Error('no');
  },
});

describe('dead-letter lists are bounded', () => {
  it('keeps the newest DEAD_LETTER_MAX_LENGTH entries, drops the oldest and counts them (metric)', async () => {
    const queue = uniqueQueue('dl');
    startEngine(queue, [failing], { deadLetterMaxLength: 3 });
    const letters = new DeadLetters(redis);
    // One at a time, so the order is known.
    const publisher = new CeleryPublisher(redis, () => queue);
    for (let n = 0; n < 5; n++) {
      await publisher.publish(failing.name, { n });
      await waitFor(`dead letter ${n}`, async () => {
        const newest = (await letters.read(queue, 0, 1))[0];
        return newest?.message?.kwargs.n === n ? true : undefined;
      });
    }
    const kept = await letters.read(queue);
    expect(kept.map((l) => l.message?.kwargs.n)).toEqual([4, 3, 2]);
    expect(kept.every((l) => l.reason?.reason === 'retries_exhausted')).toBe(true);
    expect(await letters.dropped(queue)).toBe(2);
    const text = await createWorkerMetrics(redis, [queue]).registry.metrics();
    expect(text).toContain(`worker_dead_letters_dropped_total{queue="${queue}"} 2`);
    expect(text).toContain(`worker_dead_letters{queue="${queue}"} 3`);
    expect(await redis.hget(DEAD_LETTERS_DROPPED_KEY, deadLetterList(queue))).toBe('2');
  });

  it('bounds every path: unparseable on reserve, malformed, unknown task, and a killed consumer', async () => {
    const queue = uniqueQueue('dl');
    const dead = deadLetterList(queue);
    const transport = new KombuRedisTransport(redis, undefined, undefined, { deadLetters: { maxLength: 2 } });
    // Unparseable (no delivery tag): the reserve script dead-letters it.
    for (const raw of ['a', 'b', 'c']) await redis.lpush(queue, raw);
    for (let i = 0; i < 3; i++) expect(await transport.reserve(queue, dead)).toMatchObject({ kind: 'dead' });
    expect(await redis.lrange(dead, 0, -1)).toEqual(['c', 'b']);
    expect(await new DeadLetters(redis).dropped(queue)).toBe(1);

    // The reaper's path: a message running each time its consumer died goes to the list, bounded.
    const reaperQueue = uniqueQueue('dl');
    const prefix = `test:consumers:${randomUUID()}`;
    for (let i = 0; i < 3; i++) {
      const victim = new KombuRedisTransport(redis, undefined, { id: `victim-${i}`, prefix }, {});
      await victim.heartbeat(60_000);
      await victim.publish(buildEnvelope({ task: 'test.x', kwargs: { i }, queue: reaperQueue }));
      const reserved = await victim.reserve(reaperQueue, deadLetterList(reaperQueue));
      const tag = JSON.parse(reserved?.raw ?? '{}').properties.delivery_tag as string;
      await victim.markRunning(tag);
      await redis.del(`${prefix}:victim-${i}:alive`);
    }
    const reaper = new KombuRedisTransport(
      redis,
      undefined,
      { id: 'reaper', prefix },
      { deadLetters: { maxLength: 2 } },
    );
    const reaped = await reaper.reapDeadConsumers(1, deadLetterList);
    expect(reaped.deadLettered).toBe(3);
    expect(await redis.llen(deadLetterList(reaperQueue))).toBe(2);
    expect(await new DeadLetters(redis).dropped(reaperQueue)).toBe(1);
    await reaper.close();

    // The worker's malformed and unknown-task paths share the bounded push.
    const workerQueue = uniqueQueue('dl');
    startEngine(workerQueue, [failing], { deadLetterMaxLength: 2 });
    const letters = new DeadLetters(redis);
    await redis.lpush(workerQueue, JSON.stringify({ headers: {}, properties: { delivery_tag: 't1' } }));
    await waitFor('the malformed dead letter', async () =>
      (await letters.length(workerQueue)) === 1 ? true : undefined,
    );
    expect((await letters.read(workerQueue))[0]?.reason?.reason).toBe('malformed');
    await new CeleryPublisher(redis, () => workerQueue).publish('test.nobody_knows', {});
    await new CeleryPublisher(redis, () => workerQueue).publish('test.nobody_knows', {});
    await waitFor('three dead letters pushed', async () =>
      (await letters.dropped(workerQueue)) === 1 ? true : undefined,
    );
    const kept = await letters.read(workerQueue);
    expect(kept).toHaveLength(2);
    expect(kept.map((l) => l.reason?.reason)).toEqual(['unknown_task', 'unknown_task']);
  });

  it('keeps the message format: the Celery message as delivered with an x-dead-letter header', async () => {
    const queue = uniqueQueue('dl');
    startEngine(queue, [failing]);
    const id = await new CeleryPublisher(redis, () => queue).publish(failing.name, { n: 7 });
    const raw = await waitFor(
      'dead letter',
      async () => (await redis.lrange(deadLetterList(queue), 0, -1))[0],
    );
    const envelope = JSON.parse(raw);
    expect(envelope.headers).toMatchObject({
      id,
      task: failing.name,
      'x-dead-letter': { reason: 'retries_exhausted' },
    });
    expect(parseDeadLetter(raw)).toMatchObject({
      message: { id, kwargs: { n: 7 } },
      reason: { error: 'no' },
    });
  });
});

describe('finding and requeueing a dead letter', () => {
  it('finds it by its id and requeues it once, as a fresh delivery on the list of its priority', async () => {
    const queue = uniqueQueue('platform');
    const letters = new DeadLetters(redis);
    const dead = buildEnvelope({ task: 'platform.x', queue, kwargs: { tenant_id: 't-1' }, retries: 3 });
    dead.properties.priority = 6;
    dead.headers['x-dead-letter'] = {
      reason: 'retries_exhausted',
      error: 'boom',
      at: '2026-01-01T00:00:00Z',
    };
    dead.headers['x-consumer-deaths'] = 2;
    // Admitted under a fairness slot, released when it was dead-lettered.
    dead.headers['x-fair-slot'] = { key: `platform:fair:${queue}:t-1`, member: dead.headers.id };
    await letters.push(queue, dead);
    await letters.push(queue, 'not json at all');

    const { letters: listed, total } = await letters.page(queue, 10);
    expect(total).toBe(2);
    const [unparseable, letter] = listed;
    expect(unparseable).toMatchObject({ requeueable: false, retries: 0 });
    expect(unparseable?.reason).toBeUndefined();
    expect(letter).toMatchObject({
      task: 'platform.x',
      taskId: dead.headers.id,
      tenantId: 't-1',
      retries: 3,
      requeueable: true,
      reason: { reason: 'retries_exhausted', error: 'boom' },
    });
    expect(await letters.find(queue, letter?.id ?? '')).toEqual(letter);
    expect(await letters.find(queue, '0'.repeat(32))).toBeUndefined();

    expect(await letters.requeue(queue, letter?.raw ?? '')).toBe(true);
    expect(await letters.requeue(queue, letter?.raw ?? '')).toBe(false);
    expect(await letters.length(queue)).toBe(1);
    // Priority 6: the `\x06\x166` list of the queue, as kombu (and the transport) would put it.
    expect(await redis.llen(queue)).toBe(0);
    const [raw] = await redis.lrange(`${queue}\x06\x166`, 0, -1);
    const revived = JSON.parse(raw ?? '{}');
    expect(revived.headers).toMatchObject({ id: dead.headers.id, retries: 0, redelivered: false });
    expect(revived.headers['x-dead-letter']).toBeUndefined();
    expect(revived.headers['x-consumer-deaths']).toBeUndefined();
    expect(revived.headers['x-fair-slot']).toBeUndefined();
    expect(revived.properties.delivery_tag).not.toBe(dead.properties.delivery_tag);
    expect(revived.body).toBe(dead.body);
    // It decodes as the same task call.
    expect(decodeMessage(raw ?? '')).toMatchObject({
      task: 'platform.x',
      kwargs: { tenant_id: 't-1' },
      retries: 0,
    });
    await redis.del(deadLetterList(queue), `${queue}\x06\x166`);
  });
});

describe('deprovisioning removes what Redis holds of the tenant', () => {
  it("removes the tenant's dead letters and task results, and no other tenant's", async () => {
    const [gone, kept] = [await readyTenant(db), await readyTenant(db)];
    const queue = uniqueQueue('ml');
    const results = new RedisResultBackend(redis);
    const letters = new DeadLetters(redis);
    const taskIds: Record<string, string> = {};
    for (const tenant of [gone, kept]) {
      // A prediction row with its task id and a stored result, as the worker leaves them.
      const { taskId } = await queuePrediction(db, redis, tenant, `${queue}.unconsumed`, 'iris', [
        [1, 2, 3, 4],
      ]);
      await results.store(taskId, 'FAILURE', {
        exc_type: 'RuntimeError',
        exc_message: ['x'],
        exc_module: null,
      });
      taskIds[tenant.id] = taskId;
      for (let i = 0; i < 3; i++) {
        await letters.push(
          queue,
          buildEnvelope({
            task: TASKS.predict,
            kwargs: { tenant_id: tenant.id, prediction_id: randomUUID() },
            queue,
          }),
        );
      }
    }
    await letters.push(queue, 'not a message');
    await updateTenant(db, gone.id, { status: 'deleting' });
    const outcome = await deprovisionTenant(db, gone.id, {
      taskData: new TenantTaskData(redis, [queue, uniqueQueue('platform')]),
    });
    expect(outcome).toBe('done');

    const left = await letters.read(queue);
    expect(left.filter((l) => l.tenantId === gone.id)).toHaveLength(0);
    expect(left.filter((l) => l.tenantId === kept.id)).toHaveLength(3);
    expect(left.map((l) => l.raw)).toContain('not a message');
    expect(await results.get(taskIds[gone.id] as string)).toBeNull();
    expect(await results.get(taskIds[kept.id] as string)).toMatchObject({ status: 'FAILURE' });
  });

  it("the worker's platform.deprovision_tenant task does it, on the worker's own queues", async () => {
    const tenant = await readyTenant(db);
    const queues = { ml: uniqueQueue('ml'), platform: uniqueQueue('platform') };
    const letters = new DeadLetters(redis);
    const results = new RedisResultBackend(redis);
    const { taskId } = await queuePrediction(db, redis, tenant, `${queues.ml}.unconsumed`, 'iris', [
      [1, 2, 3, 4],
    ]);
    await results.store(taskId, 'SUCCESS', { predictions: ['setosa'] });
    for (const queue of [queues.ml, queues.platform]) {
      await letters.push(
        queue,
        buildEnvelope({ task: TASKS.provisionTenant, kwargs: { tenant_id: tenant.id }, queue }),
      );
    }
    await updateTenant(db, tenant.id, { status: 'deleting' });
    const worker = await startWorkerApp(workerConfig(queues), { scheduler: false });
    try {
      const id = await new CeleryPublisher(redis, () => queues.platform).publish(TASKS.deprovisionTenant, {
        tenant_id: tenant.id,
      });
      await waitFor('the deprovisioning to succeed', async () => {
        const meta = await results.get(id);
        if (meta?.status === 'FAILURE') throw new Error(JSON.stringify(meta.result));
        return meta?.status === 'SUCCESS' ? meta : undefined;
      });
    } finally {
      await worker.stop();
    }
    expect(await letters.length(queues.ml)).toBe(0);
    expect(await letters.length(queues.platform)).toBe(0);
    expect(await results.get(taskId)).toBeNull();
  });
});
