import { randomBytes } from 'node:crypto';
import { RedisResultBackend, type ResultMeta } from '@platform/celery';
import { waitFor } from '@platform/core/testing';
import { Redis } from 'ioredis';
import { pino } from 'pino';

/** Worker tests use their own Redis database so their deliveries never meet other suites'. */
export const TEST_REDIS_URL = process.env.WORKER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/3';

export const silentLog = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export function uniqueQueue(prefix = 'q'): string {
  return `test.${prefix}.${randomBytes(4).toString('hex')}`;
}

export function newRedis(): Redis {
  return new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
}

export function waitForState(
  backend: RedisResultBackend,
  taskId: string,
  states: string[],
  timeoutMs?: number,
): Promise<ResultMeta> {
  return waitFor(
    `task ${taskId} to reach ${states.join('/')}`,
    async () => {
      const meta = await backend.get(taskId);
      return meta && states.includes(meta.status) ? meta : undefined;
    },
    timeoutMs,
  );
}

/** The real ml-gateway, started by the global setup. */
export const TEST_ML_GATEWAY_URL = process.env.ML_GATEWAY_URL ?? 'http://127.0.0.1:18000';

export { waitFor };
