import { buildEnvelope, CeleryPublisher, KombuRedisTransport, RedisResultBackend } from '@platform/celery';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, PermanentError, type TaskDefinition } from '../src/engine/catalog.js';
import { Worker, type WorkerOptions } from '../src/engine/worker.js';
import { newRedis, silentLog, uniqueQueue, waitFor, waitForState } from './helpers.js';

let redis: Redis;
let results: RedisResultBackend;
const workers: Worker[] = [];

beforeAll(() => {
  redis = newRedis();
  results = new RedisResultBackend(redis);
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
});
afterAll(() => redis.quit());

const fast = { maxRetries: 2, baseDelayMs: 20, maxDelayMs: 50 };

function startWorker(queue: string, tasks: TaskDefinition[], options: Partial<WorkerOptions> = {}): Worker {
  const worker = new Worker(newRedis(), tasks, { queues: [queue], concurrency: 2, ...options }, silentLog);
  workers.push(worker);
  void worker.start();
  return worker;
}

const add = defineTask({
  name: 'test.add',
  payload: z.object({ a: z.number(), b: z.number() }),
  retry: fast,
  timeoutMs: 5000,
  handler: async ({ a, b }) => a + b,
});

describe('worker engine', () => {
  it('runs a task and writes SUCCESS in the result backend, then acknowledges it', async () => {
    const queue = uniqueQueue();
    startWorker(queue, [add]);
    const id = await new CeleryPublisher(redis, () => queue).publish('test.add', { a: 2, b: 3 });
    const meta = await waitForState(results, id, ['SUCCESS']);
    expect(meta).toMatchObject({ status: 'SUCCESS', result: 5, task_id: id, name: 'test.add', retries: 0 });
    expect(meta.date_done).toMatch(/^\d{4}-/);
    await waitFor('ack', async () => ((await redis.hlen('unacked')) === 0 ? true : undefined));
  });

  it('wakes for a message pushed onto a priority sub-queue while it waits, not after its poll', async () => {
    const queue = uniqueQueue();
    // A blocking wait lasts 30 s here: only being woken runs the second task within the deadline.
    startWorker(queue, [add], { pollSeconds: 30 });
    const first = await new CeleryPublisher(redis, () => queue).publish('test.add', { a: 1, b: 1 });
    await waitForState(results, first, ['SUCCESS']);
    // The queue is empty now and the worker waits on it. A fair relay publishes a tenant's backlog
    // at priority 3, onto the queue's first priority sub-queue.
    const backlog = buildEnvelope({ task: 'test.add', kwargs: { a: 2, b: 2 }, queue, priority: 3 });
    await new KombuRedisTransport(redis).publish(backlog);
    const meta = await waitForState(results, backlog.headers.id, ['SUCCESS'], 10_000);
    expect(meta.result).toBe(4);
  });

  it('retries with backoff (RETRY state) and succeeds', async () => {
    const queue = uniqueQueue();
    const seen: number[] = [];
    const flaky = defineTask({
      name: 'test.flaky',
      payload: z.object({}),
      retry: fast,
      timeoutMs: 5000,
      async handler(_p, ctx) {
        seen.push(ctx.retries);
        if (ctx.retries < 2) throw new Error(`boom ${ctx.retries}`);
        return 'ok';
      },
    });
    const states: string[] = [];
    startWorker(queue, [flaky]);
    const id = await new CeleryPublisher(redis, () => queue).publish('test.flaky', {});
    const sub = redis.duplicate();
    await sub.subscribe(`celery-task-meta-${id}`);
    sub.on('message', (_c, m: string) => states.push(JSON.parse(m).status));
    const meta = await waitForState(results, id, ['SUCCESS']);
    expect(meta.result).toBe('ok');
    expect(seen).toEqual([0, 1, 2]);
    await waitFor('published states', async () => (states.includes('SUCCESS') ? true : undefined));
    expect(states.filter((s) => s === 'RETRY').length).toBeGreaterThanOrEqual(1);
    await sub.quit();
  });

  it('writes STARTED before running when configured to track it', async () => {
    const queue = uniqueQueue();
    let seenState: string | undefined;
    const peek = defineTask({
      name: 'test.peek',
      payload: z.object({ id: z.string() }),
      retry: fast,
      timeoutMs: 5000,
      handler: async ({ id }) => {
        seenState = (await results.get(id))?.status;
        return 'seen';
      },
    });
    startWorker(queue, [peek], { trackStarted: true });
    const publisher = new CeleryPublisher(redis, () => queue);
    const id = crypto.randomUUID();
    await publisher.publish('test.peek', { id }, { id });
    await waitForState(results, id, ['SUCCESS']);
    expect(seenState).toBe('STARTED');
  });

  it('dead-letters a task that exhausts its retries, with FAILURE exc_type/exc_message/exc_module', async () => {
    const queue = uniqueQueue();
    const failing = defineTask({
      name: 'test.always_fails',
      payload: z.object({}),
      retry: fast,
      timeoutMs: 5000,
      handler: async () => {
        throw new TypeError('never works');
      },
    });
    startWorker(queue, [failing]);
    const id = await new CeleryPublisher(redis, () => queue).publish('test.always_fails', {});
    const meta = await waitForState(results, id, ['FAILURE']);
    expect(meta.result).toEqual({
      exc_type: 'TypeError',
      exc_message: ['never works'],
      exc_module: 'builtins',
    });
    expect(meta.traceback).toContain('never works');
    const dead = await waitFor('dead letter', async () => (await redis.lrange(`${queue}.dead`, 0, -1))[0]);
    const envelope = JSON.parse(dead);
    expect(envelope.headers).toMatchObject({
      id,
      retries: 2,
      'x-dead-letter': { reason: 'retries_exhausted' },
    });
  });

  it('fails at once, without dead-lettering, on a permanent error or an invalid payload', async () => {
    const queue = uniqueQueue();
    let calls = 0;
    const strict = defineTask({
      name: 'test.strict',
      payload: z.object({ n: z.number() }),
      retry: fast,
      timeoutMs: 5000,
      handler: async () => {
        calls++;
        throw new PermanentError('bad request');
      },
    });
    startWorker(queue, [strict]);
    const publisher = new CeleryPublisher(redis, () => queue);
    const invalid = await publisher.publish('test.strict', { n: 'x' });
    expect((await waitForState(results, invalid, ['FAILURE'])).result).toMatchObject({
      exc_type: 'PermanentError',
      exc_message: [expect.stringContaining('invalid payload: n:')],
    });
    const permanent = await publisher.publish('test.strict', { n: 1 });
    expect((await waitForState(results, permanent, ['FAILURE'])).retries).toBe(0);
    expect(calls).toBe(1);
    expect(await redis.llen(`${queue}.dead`)).toBe(0);
  });

  it('dead-letters unknown task names and malformed messages instead of dropping them', async () => {
    const queue = uniqueQueue();
    startWorker(queue, [add]);
    const id = await new CeleryPublisher(redis, () => queue).publish('test.nobody_knows', {});
    expect((await waitForState(results, id, ['FAILURE'])).result).toMatchObject({
      exc_type: 'NotRegistered',
    });
    await redis.lpush(queue, 'not json at all');
    const dead = await waitFor('two dead letters', async () => {
      const items = await redis.lrange(`${queue}.dead`, 0, -1);
      return items.length === 2 ? items : undefined;
    });
    expect(dead).toContain('not json at all');
    expect(dead.some((d) => d.includes('"unknown_task"'))).toBe(true);
  });

  it('does not run a task before its eta (countdown)', async () => {
    const queue = uniqueQueue();
    let ranAt = 0;
    const stamp = defineTask({
      name: 'test.stamp',
      payload: z.object({}),
      retry: fast,
      timeoutMs: 5000,
      handler: async () => {
        ranAt = Date.now();
        return ranAt;
      },
    });
    startWorker(queue, [stamp]);
    const eta = new Date(Date.now() + 1500);
    const id = await new CeleryPublisher(redis, () => queue).publish('test.stamp', {}, { eta });
    await waitForState(results, id, ['SUCCESS']);
    expect(ranAt).toBeGreaterThanOrEqual(eta.getTime());
  });

  it('revokes an expired task without running it', async () => {
    const queue = uniqueQueue();
    let ran = false;
    const never = defineTask({
      name: 'test.never',
      payload: z.object({}),
      retry: fast,
      timeoutMs: 5000,
      handler: async () => {
        ran = true;
      },
    });
    const id = await new CeleryPublisher(redis, () => queue).publish(
      'test.never',
      {},
      { expires: new Date(Date.now() - 1000) },
    );
    startWorker(queue, [never]);
    expect((await waitForState(results, id, ['REVOKED'])).result).toMatchObject({
      exc_type: 'TaskRevokedError',
    });
    expect(ran).toBe(false);
  });

  it('never runs more tasks at once than its concurrency', async () => {
    const queue = uniqueQueue();
    let active = 0;
    let peak = 0;
    const slow = defineTask({
      name: 'test.slow',
      payload: z.object({}),
      retry: fast,
      timeoutMs: 5000,
      async handler() {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 100));
        active--;
      },
    });
    startWorker(queue, [slow], { concurrency: 3 });
    const publisher = new CeleryPublisher(redis, () => queue);
    const ids = await Promise.all(Array.from({ length: 12 }, () => publisher.publish('test.slow', {})));
    for (const id of ids) await waitForState(results, id, ['SUCCESS']);
    expect(peak).toBe(3);
  });

  it('runs deliveries of a task with a batch handler together, each succeeding, retrying or failing on its own', async () => {
    const queue = uniqueQueue();
    const batches: number[][] = [];
    const seen = new Map<number, number>();
    const square = defineTask({
      name: 'test.square',
      payload: z.object({ n: z.number() }),
      retry: fast,
      timeoutMs: 5000,
      handler: async ({ n }) => n * n,
      async batchHandler(payloads) {
        batches.push(payloads.map((p) => p.n));
        return payloads.map(({ n }) => {
          seen.set(n, (seen.get(n) ?? 0) + 1);
          // 3 fails once (transient: retried), 4 is refused for good, the rest succeed.
          if (n === 3 && seen.get(n) === 1) return { ok: false, error: new Error('flaky') };
          if (n === 4) return { ok: false, error: new PermanentError('refused') };
          return { ok: true, value: n * n };
        });
      },
    });
    const publisher = new CeleryPublisher(redis, () => queue);
    const ids = [];
    for (let n = 1; n <= 5; n++) ids.push(await publisher.publish('test.square', { n }));
    ids.push(await publisher.publish('test.square', { n: 'six' }));
    // The batch closes when full: the six queued deliveries run as one (the wait is far longer).
    startWorker(queue, [square], { concurrency: 1, batchSize: 6, batchWaitMs: 5000 });
    const outcomes = await Promise.all(
      ids.map((id) => waitForState(results, id, ['SUCCESS', 'FAILURE'], 10_000)),
    );
    expect(outcomes.map((m) => m.status)).toEqual([
      'SUCCESS',
      'SUCCESS',
      'SUCCESS',
      'FAILURE',
      'SUCCESS',
      'FAILURE',
    ]);
    expect(outcomes.map((m) => m.result).slice(0, 3)).toEqual([1, 4, 9]);
    expect(outcomes[2]?.retries).toBe(1);
    expect(outcomes[3]?.result).toMatchObject({ exc_message: ['refused'] });
    expect(outcomes[5]?.result).toMatchObject({
      exc_message: [expect.stringMatching(/^invalid payload: n:/)],
    });
    // The first batch held the five valid payloads (the invalid one failed before it); the retry of
    // 3 ran later, alone or with nothing else queued.
    expect(batches[0]).toEqual([1, 2, 3, 4, 5]);
    expect(batches.slice(1).flat()).toEqual([3]);
    await waitFor('acks', async () => ((await redis.hlen('unacked')) === 0 ? true : undefined));
  });

  it('fails a task that exceeds its timeout', async () => {
    const queue = uniqueQueue();
    const hang = defineTask({
      name: 'test.hang',
      payload: z.object({}),
      retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1 },
      timeoutMs: 100,
      handler: () => new Promise(() => undefined),
    });
    startWorker(queue, [hang]);
    const id = await new CeleryPublisher(redis, () => queue).publish('test.hang', {});
    expect((await waitForState(results, id, ['FAILURE'])).result).toMatchObject({
      exc_message: [expect.stringContaining('timed out after 100 ms')],
    });
  });

  it('on stop, finishes running tasks and requeues the ones waiting for their eta', async () => {
    const queue = uniqueQueue();
    let release: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      release = resolve;
    });
    let finished = false;
    const work = defineTask({
      name: 'test.work',
      payload: z.object({}),
      retry: fast,
      timeoutMs: 5000,
      async handler() {
        release();
        await new Promise((r) => setTimeout(r, 200));
        finished = true;
        return 'done';
      },
    });
    const worker = startWorker(queue, [work]);
    const publisher = new CeleryPublisher(redis, () => queue);
    const running = await publisher.publish('test.work', {});
    const later = await publisher.publish('test.work', {}, { eta: new Date(Date.now() + 60_000) });
    await started;
    await waitFor('the eta task to be held', async () =>
      (await redis.llen(queue)) === 0 ? true : undefined,
    );
    await worker.stop();
    expect(finished).toBe(true);
    expect((await results.get(running))?.status).toBe('SUCCESS');
    const requeued = (await redis.lrange(queue, 0, -1)).map((m) => JSON.parse(m).headers.id);
    expect(requeued).toEqual([later]);
  });

  it('restores deliveries a dead consumer left unacknowledged once the visibility timeout passes', async () => {
    const queue = uniqueQueue();
    const transport = new KombuRedisTransport(redis);
    const envelope = buildEnvelope({ task: 'test.add', kwargs: { a: 40, b: 2 }, queue });
    await transport.publish(envelope);
    // A consumer takes it and dies: the delivery stays in `unacked`.
    expect(await transport.reserve(queue, `${queue}.dead`)).toMatchObject({ kind: 'ok' });
    expect(await redis.hexists('unacked', envelope.properties.delivery_tag)).toBe(1);
    expect(await redis.llen(queue)).toBe(0);

    startWorker(queue, [add], { visibilityTimeoutSeconds: 1, restoreIntervalMs: 200 });
    const meta = await waitForState(results, envelope.headers.id, ['SUCCESS']);
    expect(meta.result).toBe(42);
    await transport.close();
  });
});
