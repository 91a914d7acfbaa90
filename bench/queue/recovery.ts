/**
 * The pipeline's recovery and outbox figures:
 * - outbox pick-up: a transaction that writes a row and an outbox entry, the entry published by the
 *   real relay (woken by LISTEN/NOTIFY) and started by the engine; beside the same transaction that
 *   LPUSHes the task itself before its commit (the path before the outbox), alternating, at a fixed
 *   rate. Pick-up = CLOCK_MONOTONIC when the no-op ran - when the sender's transaction began.
 * - redelivery after SIGKILL: a worker process holding running tasks is SIGKILLed; another worker
 *   (the engine's default heartbeat settings, kombu's visibility timeout of an hour) runs them.
 *   Seconds from the kill to each task's start elsewhere, over several kills.
 */
import { randomUUID } from 'node:crypto';
import { buildEnvelope, CeleryPublisher } from '@platform/celery';
import { type Database, insertOutboxEntry, OutboxRelay } from '@platform/core';
import { DEFAULT_WORKER_OPTIONS, defineTask, Worker } from '@platform/worker';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { z } from 'zod';
import { percentile, round } from '../lib/stats.js';
import { note } from '../lib/table.js';
import type { Child } from './processes.js';
import { monotonicMs, NOOP_TASK } from './shared.js';

export interface PickupResult {
  samples: number;
  rate_per_s: number;
  direct_pickup_p50_ms: number;
  direct_pickup_p99_ms: number;
  outbox_pickup_p50_ms: number;
  outbox_pickup_p99_ms: number;
}

export interface RedeliveryResult {
  kills: number;
  tasks_per_kill: number;
  heartbeat_ttl_ms: number;
  reap_interval_ms: number;
  visibility_timeout_s: number;
  redelivery_after_sigkill_s: number[];
  redelivery_after_sigkill_s_p50: number;
  redelivery_after_sigkill_s_max: number;
}

const log = pino({ level: 'silent' });

/** A no-op whose result is when it started (CLOCK_MONOTONIC ms), recorded per task id too. */
function noopRecording(started: Map<string, number>) {
  return defineTask({
    name: NOOP_TASK,
    payload: z.object({}).passthrough(),
    retry: { maxRetries: 0, baseDelayMs: 10, maxDelayMs: 10 },
    timeoutMs: 10_000,
    handler: async (_p, ctx) => {
      const at = monotonicMs();
      if (!started.has(ctx.taskId)) started.set(ctx.taskId, at);
      return at;
    },
  });
}

export async function outboxPickup(o: {
  db: Database;
  redis: Redis;
  databaseUrl: string;
  samples: number;
  ratePerS: number;
}): Promise<PickupResult> {
  const queue = `bench.pickup.${randomUUID().slice(0, 8)}`;
  const started = new Map<string, number>();
  const connection = o.redis.duplicate();
  const worker = new Worker(connection, [noopRecording(started)], { queues: [queue], concurrency: 8 }, log);
  const publisher = new CeleryPublisher(o.redis, () => queue);
  const relay = new OutboxRelay(o.db, (entries) => publisher.publishMany(entries), {
    listenUrl: o.databaseUrl,
    pollIntervalMs: 1000,
    batchSize: 500,
    retentionSeconds: 60,
    log,
  });
  await worker.start();
  await relay.start();
  const sent = { direct: new Map<string, number>(), outbox: new Map<string, number>() };
  try {
    const interval = 1000 / o.ratePerS;
    const begin = performance.now() + 50;
    for (let i = 0; i < o.samples * 2; i++) {
      const wait = begin + i * interval - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const id = randomUUID();
      // Both paths as the API's create runs them: one transaction that writes the prediction row;
      // today's path published inside it, the outbox path writes its entry instead.
      if (i % 2 === 0) {
        const at = monotonicMs();
        await o.db.transaction(async (trx) => {
          await trx.raw('select 1');
          await o.redis.lpush(
            queue,
            JSON.stringify(buildEnvelope({ task: NOOP_TASK, kwargs: {}, queue, id })),
          );
        });
        sent.direct.set(id, at);
      } else {
        const at = monotonicMs();
        await o.db.transaction(async (trx) => {
          await trx.raw('select 1');
          await insertOutboxEntry(trx, { id, task: NOOP_TASK, queue, kwargs: {} });
        });
        sent.outbox.set(id, at);
      }
    }
    const deadline = Date.now() + 60_000;
    while (started.size < o.samples * 2) {
      if (Date.now() > deadline) throw new Error(`pick-up: ${started.size} of ${o.samples * 2} tasks ran`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await relay.stop();
    await worker.stop();
    connection.disconnect();
  }
  const lat = (m: Map<string, number>) => [...m].map(([id, at]) => (started.get(id) as number) - at);
  const direct = lat(sent.direct);
  const outbox = lat(sent.outbox);
  return {
    samples: o.samples,
    rate_per_s: o.ratePerS,
    direct_pickup_p50_ms: round(percentile(direct, 50), 3),
    direct_pickup_p99_ms: round(percentile(direct, 99), 3),
    outbox_pickup_p50_ms: round(percentile(outbox, 50), 3),
    outbox_pickup_p99_ms: round(percentile(outbox, 99), 3),
  };
}

export async function redeliveryAfterSigkill(o: {
  redis: Redis;
  kills: number;
  tasksPerKill: number;
  /** Starts a worker process on `queue` whose no-op holds each task (it is killed holding them). */
  startVictim: (queue: string) => Child;
}): Promise<RedeliveryResult> {
  const samples: number[] = [];
  for (let k = 1; k <= o.kills; k++) {
    const queue = `bench.redelivery.${randomUUID().slice(0, 8)}`;
    const ids = Array.from({ length: o.tasksPerKill }, () => randomUUID());
    const victim = o.startVictim(queue);
    for (const id of ids)
      await o.redis.lpush(queue, JSON.stringify(buildEnvelope({ task: NOOP_TASK, kwargs: {}, queue, id })));
    const deadline = Date.now() + 60_000;
    // Every task taken and running in the victim.
    for (;;) {
      if (victim.exited()) throw new Error(`the victim exited:\n${victim.output()}`);
      const held = Object.values(await o.redis.hgetall('unacked')).filter((v) => v.includes(queue)).length;
      if (held === o.tasksPerKill && (await o.redis.llen(queue)) === 0) break;
      if (Date.now() > deadline) throw new Error('the victim did not take its tasks');
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 200));
    const started = new Map<string, number>();
    // The survivor runs from before the kill, with the engine's defaults (as services/worker runs it).
    const connection = o.redis.duplicate();
    const survivor = new Worker(
      connection,
      [noopRecording(started)],
      { queues: [queue], concurrency: 8 },
      log,
    );
    await survivor.start();
    const killedAt = monotonicMs();
    await victim.kill();
    try {
      while (started.size < o.tasksPerKill) {
        if (Date.now() > deadline + 60_000)
          throw new Error(`redelivery: ${started.size} of ${o.tasksPerKill} ran`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await survivor.stop();
      connection.disconnect();
    }
    const seconds = [...started.values()].map((at) => (at - killedAt) / 1000);
    note(`redelivery, kill ${k}/${o.kills}: ${seconds.map((s) => round(s, 2)).join(', ')} s`);
    samples.push(...seconds);
  }
  return {
    kills: o.kills,
    tasks_per_kill: o.tasksPerKill,
    heartbeat_ttl_ms: DEFAULT_WORKER_OPTIONS.heartbeatTtlMs,
    reap_interval_ms: DEFAULT_WORKER_OPTIONS.reapIntervalMs,
    visibility_timeout_s: DEFAULT_WORKER_OPTIONS.visibilityTimeoutSeconds,
    redelivery_after_sigkill_s: samples.map((s) => round(s, 3)),
    redelivery_after_sigkill_s_p50: round(percentile(samples, 50), 2),
    redelivery_after_sigkill_s_max: round(Math.max(...samples), 2),
  };
}
