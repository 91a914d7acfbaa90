import { randomBytes, randomUUID } from 'node:crypto';
import { CeleryPublisher } from '@platform/celery';
import {
  createDatabase,
  type Database,
  insertPrediction,
  insertTenant,
  namespaceForSlug,
  provisionTenant,
  schemaForSlug,
  TASKS,
  type TaskPayload,
  type TenantRef,
} from '@platform/core';
import { testDatabaseEnv, testDatabaseUrl } from '@platform/core/testing';
import type { Redis } from 'ioredis';
import { loadWorkerConfig, type WorkerConfig } from '../src/config.js';
import { TEST_ML_GATEWAY_URL, TEST_REDIS_URL } from './helpers.js';

export const IRIS_SETOSA = [5.1, 3.5, 1.4, 0.2];
export const IRIS_VIRGINICA = [6.7, 3.0, 5.2, 2.3];

export function testDb(): Database {
  return createDatabase({ url: testDatabaseUrl(), poolMax: 4, applicationName: 'worker-tests' });
}

export async function readyTenant(db: Database): Promise<TenantRef> {
  const slug = `w-${randomBytes(5).toString('hex')}`;
  const row = await insertTenant(db, {
    slug,
    name: slug,
    plan: 'standard',
    schema_name: schemaForSlug(slug),
    namespace: namespaceForSlug(slug),
  });
  await provisionTenant(db, row.id);
  return { id: row.id, slug, schema: schemaForSlug(slug), plan: 'standard' };
}

export function workerConfig(
  queues: { ml: string; platform: string },
  env: Record<string, string> = {},
): WorkerConfig {
  return loadWorkerConfig({
    ...testDatabaseEnv(),
    REDIS_URL: TEST_REDIS_URL,
    ML_GATEWAY_URL: TEST_ML_GATEWAY_URL,
    QUEUE_ML: queues.ml,
    QUEUE_PLATFORM: queues.platform,
    HTTP_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
}

/** Inserts a queued prediction row, then publishes its `ml.predict` task (as the outbox relay does). */
export async function queuePrediction(
  db: Database,
  redis: Redis,
  tenant: TenantRef,
  queue: string,
  model: string,
  inputs: number[][],
): Promise<{ predictionId: string; taskId: string }> {
  const predictionId = randomUUID();
  const taskId = randomUUID();
  await insertPrediction(db, tenant, { id: predictionId, model, input: inputs, task_id: taskId });
  const kwargs: TaskPayload<'ml.predict'> = { tenant_id: tenant.id, prediction_id: predictionId };
  await new CeleryPublisher(redis, () => queue).publish(TASKS.predict, kwargs, { id: taskId });
  return { predictionId, taskId };
}
