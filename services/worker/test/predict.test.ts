import { randomUUID } from 'node:crypto';
import {
  buildEnvelope,
  CeleryPublisher,
  DEATHS_HEADER,
  deadLetterList,
  KombuRedisTransport,
  RedisResultBackend,
} from '@platform/celery';
import {
  claimPredictions,
  findPrediction,
  insertPrediction,
  MlGatewayClient,
  PredictionRunner,
  quoteIdent,
  TASKS,
  updateTenant,
} from '@platform/core';
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
import { newRedis, TEST_ML_GATEWAY_URL, uniqueQueue, waitFor, waitForState } from './helpers.js';

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

  it('fails a prediction whose message is dead-lettered for killing its consumers, with why', async () => {
    const tenant = await readyTenant(db);
    await withWorker({ REAP_INTERVAL_MS: '100', MAX_CONSUMER_DEATHS: '3' }, async (queue) => {
      // A prediction whose task was already running on two consumers that died.
      const predictionId = randomUUID();
      const taskId = randomUUID();
      await insertPrediction(db, tenant, {
        id: predictionId,
        model: 'iris',
        input: [IRIS_SETOSA],
        task_id: taskId,
      });
      const envelope = buildEnvelope({
        task: TASKS.predict,
        kwargs: { tenant_id: tenant.id, prediction_id: predictionId },
        queue,
        id: taskId,
      });
      envelope.headers[DEATHS_HEADER] = 2;
      // A third consumer took it, claimed the prediction (running), and died without a word. It
      // reserves from a list of its own, so that the worker cannot take the message first; the
      // delivery still belongs to the worker's queue (its routing key).
      const victimId = `victim-${randomUUID()}`;
      const victim = new KombuRedisTransport(redis, undefined, { id: victimId });
      await victim.heartbeat(60_000);
      const side = `${queue}.victim`;
      await redis.lpush(side, JSON.stringify(envelope));
      const [reserved] = await victim.reserveMany(side, deadLetterList(side), 1);
      expect(reserved?.kind).toBe('ok');
      await victim.markRunning(envelope.properties.delivery_tag);
      const {
        claimed: [claimed],
      } = await claimPredictions(db, [{ tenant, ids: [predictionId] }]);
      expect(claimed).toMatchObject({ id: predictionId, attempts: 1 });
      await redis.del(`platform:consumers:${victimId}:alive`);

      // The worker's reaper dead-letters the message; the prediction ends failed with the reason.
      const row = await waitFor('the prediction to fail', async () => {
        const found = await findPrediction(db, tenant, predictionId);
        return found?.status === 'failed' ? found : undefined;
      });
      expect(row.error).toMatch(/^dead-lettered \(killed_consumers\): .*died 3 times/);
      expect(row.completed_at).not.toBeNull();
      expect(row.attempts).toBe(1);
      const dead = JSON.parse((await redis.lrange(deadLetterList(queue), 0, -1))[0] as string);
      expect(dead.headers).toMatchObject({ id: taskId, 'x-dead-letter': { reason: 'killed_consumers' } });
      expect(await results.get(taskId)).toMatchObject({
        status: 'FAILURE',
        result: { exc_type: 'WorkerLostError', exc_module: 'billiard.exceptions' },
      });
      await victim.close();
    });
  });

  it('stores the result of a prediction that had ended when its task comes again, without running it again', async () => {
    const tenant = await readyTenant(db);
    // A worker recorded both outcomes, then died before storing their results and acknowledging.
    const runner = new PredictionRunner(db, new MlGatewayClient(TEST_ML_GATEWAY_URL));
    const ended = [
      { id: randomUUID(), taskId: randomUUID(), input: [IRIS_VIRGINICA] },
      { id: randomUUID(), taskId: randomUUID(), input: [[1, 2]] },
    ];
    for (const p of ended)
      await insertPrediction(db, tenant, { id: p.id, model: 'iris', input: p.input, task_id: p.taskId });
    const first = await runner.runBatch(ended.map((p) => ({ tenant_id: tenant.id, prediction_id: p.id })));
    expect(first.map((o) => o.ok)).toEqual([true, false]);
    const [good, bad] = ended as [(typeof ended)[0], (typeof ended)[0]];
    const before = await findPrediction(db, tenant, good.id);

    // The claim of the redelivered batch reports both as they ended, and claims neither.
    const claim = await claimPredictions(db, [{ tenant, ids: [good.id, bad.id] }]);
    expect(claim.claimed).toEqual([]);
    expect(claim.finished).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: good.id, status: 'succeeded', output: before?.output }),
        expect.objectContaining({ id: bad.id, status: 'failed', error: expect.stringMatching(/4/) }),
      ]),
    );

    await withWorker({}, async (queue) => {
      const publisher = new CeleryPublisher(redis, () => queue);
      for (const p of ended)
        await publisher.publish(
          TASKS.predict,
          { tenant_id: tenant.id, prediction_id: p.id },
          { id: p.taskId },
        );
      const meta = await waitForState(results, good.taskId, ['SUCCESS']);
      expect(meta.result).toMatchObject({ prediction_id: good.id, predictions: ['virginica'] });
      expect((await waitForState(results, bad.taskId, ['FAILURE'])).result).toMatchObject({
        exc_message: [expect.stringMatching(/4/)],
      });
      await waitFor('the acknowledgements', async () =>
        (await redis.llen(queue)) === 0 &&
        !Object.values(await redis.hgetall('unacked')).some((v) => v.includes(queue))
          ? true
          : undefined,
      );
    });
    // Neither ran a second time: one attempt each, the recorded outcome untouched.
    expect(await findPrediction(db, tenant, good.id)).toEqual(before);
    expect(await findPrediction(db, tenant, bad.id)).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('leaves a prediction that already ended as it was when its message is dead-lettered later', async () => {
    const tenant = await readyTenant(db);
    await withWorker({}, async (queue, worker) => {
      const { predictionId, taskId } = await queuePrediction(db, redis, tenant, queue, 'iris', [IRIS_SETOSA]);
      await waitForState(results, taskId, ['SUCCESS']);
      const runner = new PredictionRunner(worker.db, new MlGatewayClient('http://127.0.0.1:9'));
      const why = { reason: 'killed_consumers', error: 'late' };
      expect(await runner.abandon({ tenant_id: tenant.id, prediction_id: predictionId }, why)).toBe(false);
      expect(await findPrediction(db, tenant, predictionId)).toMatchObject({
        status: 'succeeded',
        error: null,
      });
    });
  });

  it('fails the tasks of a tenant that stopped being ready, one it knew as ready included', async () => {
    const [leaving, gone, staying] = [await readyTenant(db), await readyTenant(db), await readyTenant(db)];
    const runner = new PredictionRunner(db, new MlGatewayClient(TEST_ML_GATEWAY_URL));
    const queue = uniqueQueue('ml.unconsumed');
    const queued = async (tenant: typeof leaving) =>
      (await queuePrediction(db, redis, tenant, queue, 'iris', [IRIS_SETOSA])).predictionId;
    const args = (tenant: typeof leaving, predictionId: string) => ({
      tenant_id: tenant.id,
      prediction_id: predictionId,
    });
    // A first batch: the runner now knows all three as ready.
    const first = await runner.runBatch([
      args(leaving, await queued(leaving)),
      args(gone, await queued(gone)),
      args(staying, await queued(staying)),
    ]);
    expect(first.map((o) => o.ok)).toEqual([true, true, true]);

    const [p1, p2, p3] = [await queued(leaving), await queued(gone), await queued(staying)];
    await updateTenant(db, leaving.id, { status: 'deleting' });
    await updateTenant(db, gone.id, { status: 'deleting' });
    await db.raw(`drop schema ${quoteIdent(gone.schema)} cascade`);
    const second = await runner.runBatch([args(leaving, p1), args(gone, p2), args(staying, p3)]);
    expect(second[0]).toMatchObject({ ok: false, error: { message: `tenant ${leaving.id} is not ready` } });
    expect(second[1]).toMatchObject({ ok: false, error: { message: `tenant ${gone.id} is not ready` } });
    expect(second[2]).toMatchObject({ ok: true, value: { status: 'succeeded', prediction_id: p3 } });
    expect(await findPrediction(db, leaving, p1)).toMatchObject({ status: 'queued', attempts: 0 });
  });
});
