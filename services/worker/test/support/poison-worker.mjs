// A worker process whose one task kills the process running it (SIGKILL), as an out-of-memory kill
// would: for the dead-letter test. Runs the built engine (dist/) against REDIS_URL, queue QUEUE.
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { z } from 'zod';
import { defineTask } from '../../dist/engine/catalog.js';
import { Worker } from '../../dist/engine/worker.js';

const poison = defineTask({
  name: 'test.poison',
  payload: z.object({}).passthrough(),
  retry: { maxRetries: 0, baseDelayMs: 10, maxDelayMs: 10 },
  timeoutMs: 10_000,
  async handler() {
    process.kill(process.pid, 'SIGKILL');
    await new Promise(() => undefined);
  },
});

const worker = new Worker(
  new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: null }),
  [poison],
  {
    queues: [process.env.QUEUE],
    concurrency: 1,
    heartbeatTtlMs: Number(process.env.HEARTBEAT_TTL_MS ?? 1000),
    reapIntervalMs: 200,
    maxConsumerDeaths: Number(process.env.MAX_CONSUMER_DEATHS ?? 3),
  },
  pino({ level: 'silent' }),
);
await worker.start();
