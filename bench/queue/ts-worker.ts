/**
 * The TypeScript side of the no-op comparison: the real worker engine (`Worker` of
 * @platform/worker, as `services/worker` runs it) with a catalog of just `bench.noop`, in a process
 * of its own. queue.ts starts it with `node --conditions=source --import tsx`; it stops on SIGTERM
 * (graceful: `worker.stop()`, then the Redis connection). With BENCH_CPU_PROFILE set, it records
 * a CPU profile of the running worker (module loading left out) and writes it there on stop.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { Socket } from 'node:net';
import { defineTask, Worker } from '@platform/worker';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { z } from 'zod';
import { monotonicMs, NOOP_TASK, type NoopWorkerEnv } from './shared.js';

function env(name: keyof NoopWorkerEnv): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const level = env('BENCH_WORKER_LOG_LEVEL');
const log = pino({ level, base: { service: 'bench-ts-worker' } });
// As services/worker/src/app.ts makes it. BENCH_TS_AUTOPIPELINING=1 (an experiment, off by default)
// adds ioredis's enableAutoPipelining: commands issued in the same event-loop tick share one write.
const redis = new Redis(env('BENCH_QUEUE_REDIS_URL'), {
  maxRetriesPerRequest: null,
  ...(process.env.BENCH_TS_AUTOPIPELINING === '1' ? { enableAutoPipelining: true } : {}),
});
redis.on('error', (err) => log.warn({ err: err.message }, 'redis error'));

let tasksRun = 0;
const holdMs = Number(process.env.BENCH_NOOP_HOLD_MS ?? 0);

/** Does nothing; returns when it ran (CLOCK_MONOTONIC ms) so the benchmark can compute pick-up latency. */
const noop = defineTask({
  name: NOOP_TASK,
  payload: z.object({ sent_mono_ms: z.number().optional(), sent_wall_ms: z.number().optional() }),
  retry: { maxRetries: 0, baseDelayMs: 100, maxDelayMs: 100 },
  timeoutMs: 10_000,
  handler: async () => {
    tasksRun++;
    const started = monotonicMs();
    // The recovery section's victim holds what it runs (it is SIGKILLed while running them).
    if (holdMs > 0) await new Promise((r) => setTimeout(r, holdMs));
    return started;
  },
});

// The engine's defaults otherwise, which are also what startWorker() gives it with the default
// visibility timeout (touch every 30 s, restore every 10 s).
const worker = new Worker(
  redis,
  [noop],
  { queues: [env('BENCH_QUEUE')], concurrency: Number(env('BENCH_CONCURRENCY')) },
  log,
);

// BENCH_CPU_PROFILE=<file>: a V8 CPU profile from here (modules loaded) to the stop, written on SIGTERM.
const profileFile = process.env.BENCH_CPU_PROFILE;
const session = profileFile ? new Session() : undefined;
// With the profile, socket writes are counted too: ioredis writes each command, or each pipeline
// or MULTI ... EXEC, in one write and then waits for the reply, so writes per task are the
// worker's Redis round trips per task.
let socketWrites = 0;
if (session) {
  const write = Socket.prototype.write;
  Socket.prototype.write = function (this: Socket, ...args: unknown[]) {
    socketWrites++;
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof write;
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 250 });
  await session.post('Profiler.start');
}

await worker.start();

async function writeProfile(): Promise<void> {
  if (!session || !profileFile) return;
  const { profile } = await session.post('Profiler.stop');
  await writeFile(profileFile, JSON.stringify(profile));
  await writeFile(
    `${profileFile}.writes.json`,
    JSON.stringify({ socket_writes: socketWrites, tasks: tasksRun }),
  );
  session.disconnect();
}

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    worker
      .stop()
      .then(() => writeProfile())
      .then(() => redis.quit())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          console.error(err);
          process.exit(1);
        },
      );
  });
}
