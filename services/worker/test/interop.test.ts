import { randomUUID } from 'node:crypto';
import { findPrediction } from '@platform/core';
import { runPython } from '@platform/core/testing';
import celery from 'celery-node';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningWorker, startWorker } from '../src/app.js';
import { IRIS_SETOSA, queuePrediction, readyTenant, testDb, workerConfig } from './fixtures.js';
import { newRedis, TEST_REDIS_URL, uniqueQueue } from './helpers.js';

/** Python Celery 5 (from the ml-gateway's virtualenv) sending a task and waiting with AsyncResult.get(). */
const SEND_AND_GET = `
import json, os, time
from celery import Celery
app = Celery(broker=os.environ["REDIS_URL"], backend=os.environ["REDIS_URL"])
app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])
countdown = float(os.environ.get("COUNTDOWN", "0")) or None
sent = time.time()
result = app.send_task("ml.predict", kwargs=json.loads(os.environ["KWARGS"]), queue=os.environ["QUEUE"], countdown=countdown)
state_before = result.state
try:
    value = result.get(timeout=60)
    print(json.dumps({"ok": True, "result": value, "sent": sent, "state_before": state_before, "date_done": result.date_done.timestamp()}))
except Exception as exc:
    print(json.dumps({"ok": False, "type": type(exc).__name__, "module": type(exc).__module__, "message": str(exc)}))
`;

interface PythonReply {
  ok: boolean;
  result?: Record<string, unknown>;
  sent?: number;
  state_before?: string;
  date_done?: number;
  type?: string;
  message?: string;
}

const db = testDb();
let redis: Redis;
let worker: RunningWorker;
const queue = uniqueQueue('interop');

beforeAll(async () => {
  redis = newRedis();
  worker = await startWorker(workerConfig({ ml: queue, platform: uniqueQueue('platform') }), {
    scheduler: false,
  });
});
afterAll(async () => {
  await worker.stop();
  await redis.quit();
  await db.destroy();
});

async function pythonSend(kwargs: Record<string, unknown>, countdown = 0): Promise<PythonReply> {
  const out = await runPython(SEND_AND_GET, {
    REDIS_URL: TEST_REDIS_URL,
    QUEUE: queue,
    KWARGS: JSON.stringify(kwargs),
    COUNTDOWN: String(countdown),
  });
  return JSON.parse(out.trim().split('\n').pop() as string) as PythonReply;
}

describe('interop with Python Celery 5 on the same Redis', () => {
  it('runs a task sent with Python send_task, and Python AsyncResult.get() returns its result', async () => {
    const tenant = await readyTenant(db);
    // The row exists; Python publishes the task the way any Celery client would.
    const { predictionId } = await queuePrediction(db, redis, tenant, uniqueQueue('unused'), 'iris', [
      IRIS_SETOSA,
    ]);
    const reply = await pythonSend({
      tenant_id: tenant.id,
      prediction_id: predictionId,
    });
    expect(reply.ok).toBe(true);
    expect(reply.result).toMatchObject({
      prediction_id: predictionId,
      model: 'iris',
      predictions: ['setosa'],
    });
    expect((await findPrediction(db, tenant, predictionId))?.status).toBe('succeeded');
  });

  it('re-raises in Python, with its message, a failure raised in the TypeScript worker', async () => {
    const tenant = await readyTenant(db);
    const { predictionId } = await queuePrediction(db, redis, tenant, uniqueQueue('unused'), 'iris', [
      [1, 2, 3],
    ]);
    const reply = await pythonSend({
      tenant_id: tenant.id,
      prediction_id: predictionId,
    });
    expect(reply.ok).toBe(false);
    expect(reply.type).toBe('PermanentError');
    expect(reply.message).toMatch(/3 features.*expects 4|expects 4/);
  });

  it('does not run a task sent with a countdown before it is due', async () => {
    const tenant = await readyTenant(db);
    const { predictionId } = await queuePrediction(db, redis, tenant, uniqueQueue('unused'), 'iris', [
      IRIS_SETOSA,
    ]);
    const reply = await pythonSend(
      {
        tenant_id: tenant.id,
        prediction_id: predictionId,
      },
      2,
    );
    expect(reply.ok).toBe(true);
    expect(reply.state_before).toBe('PENDING');
    expect((reply.date_done as number) - (reply.sent as number)).toBeGreaterThanOrEqual(2);
  });

  it('runs a task sent by celery-node (a plain Node Celery client), whose AsyncResult reads the result', async () => {
    const tenant = await readyTenant(db);
    const { predictionId } = await queuePrediction(db, redis, tenant, uniqueQueue('unused'), 'iris', [
      IRIS_SETOSA,
    ]);
    const client = celery.createClient(TEST_REDIS_URL, TEST_REDIS_URL, queue);
    try {
      const result = client.sendTask('ml.predict', [], {
        tenant_id: tenant.id,
        prediction_id: predictionId,
      });
      expect(await result.get(30_000)).toMatchObject({
        prediction_id: predictionId,
        predictions: ['setosa'],
      });
    } finally {
      await client.disconnect();
    }
  });

  it('answers a task id Python never sent with PENDING (nothing invented)', async () => {
    const out = await runPython(
      `import os\nfrom celery import Celery\napp = Celery(backend=os.environ["REDIS_URL"])\nprint(app.AsyncResult("${randomUUID()}").state)`,
      { REDIS_URL: TEST_REDIS_URL },
    );
    expect(out.trim()).toBe('PENDING');
  });
});
