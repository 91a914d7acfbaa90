/**
 * The no-op measurement, the same for both workers: throughput on a pre-filled queue, then
 * pick-up latency at a fixed publishing rate with the worker idle.
 */
import { randomUUID } from 'node:crypto';
import { buildEnvelope, KombuRedisTransport, RESULT_KEY_PREFIX, type ResultMeta } from '@platform/celery';
import type { Redis } from 'ioredis';
import { machineBusyMs, snapshot, spent } from '../lib/cpu.js';
import { type Quiet } from '../lib/quiet.js';
import { pollUntil } from '../lib/server-process.js';
import { median, percentile, round } from '../lib/stats.js';
import { note } from '../lib/table.js';
import type { Child } from './processes.js';
import { type RedisUse, redisStats, redisUse } from './redis.js';
import { monotonicMs, NOOP_TASK } from './shared.js';

export interface NoopParams {
  queue: string;
  /** Messages pre-filled for the throughput run. */
  tasks: number;
  /** Messages published at `latencyRate` per second for the latency run. */
  latencyTasks: number;
  latencyRate: number;
  /** How often the queue is looked at while the worker drains it. */
  pollMs: number;
  /** Deadline of the throughput run, start-up included. */
  throughputTimeoutMs: number;
  /** Waits until the machine is quiet (lib/quiet.ts); called right before a worker starts. */
  waitForQuiet: () => Promise<Quiet>;
}

export interface Throughput {
  tasks_per_s: number;
  /** Tasks done between the first acknowledgement seen and the last one. */
  tasks_measured: number;
  measured_s: number;
  /** From spawning the worker to its first acknowledgement (left out of tasks/s). */
  startup_s: number;
  tasks_prefilled: number;
  /** Result-backend entries in state SUCCESS, checked after the run (must equal tasks_prefilled). */
  results_success: number;
  dead_letters: number;
  worker_cpu_us_per_task: number;
  /** CPU of the worker process over the measured wall time (1.0 = one core). */
  worker_cores_busy: number;
  /** CPU of redis-server over the measured wall time. */
  redis_cores_busy: number;
  /**
   * CPU of every other process on the machine (not the worker, redis-server or the benchmark
   * process) over the measured wall time: other work competing with the run; null without /proc.
   */
  other_processes_cores: number | null;
  /** Redis commands and CPU per task over the whole run (server-wide: other clients would count too). */
  redis: RedisUse;
  polls: number;
}

export interface LatencyStats {
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  mean_ms: number;
  max_ms: number;
}

export interface Latency {
  tasks: number;
  rate_per_s: number;
  /** Publishing rate achieved. */
  published_per_s: number;
  /**
   * sent_at (CLOCK_MONOTONIC, just before the LPUSH) to the moment the no-op ran (the value it
   * returns, CLOCK_MONOTONIC in the worker): queueing, pick-up, decoding and dispatch.
   */
  pickup: LatencyStats;
  /**
   * sent_at (wall clock, Date.now(): whole ms) to `date_done` in the result backend (wall clock,
   * stamped when the result is written; ms resolution on the TypeScript side, us on Celery's).
   */
  completion: LatencyStats;
}

export interface NoopResult {
  worker: string;
  pid: number;
  throughput: Throughput;
  latency: Latency;
  machine_before: Quiet;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function stats(values: number[]): LatencyStats {
  return {
    p50_ms: round(percentile(values, 50), 3),
    p90_ms: round(percentile(values, 90), 3),
    p99_ms: round(percentile(values, 99), 3),
    mean_ms: round(values.reduce((s, v) => s + v, 0) / Math.max(1, values.length), 3),
    max_ms: round(
      values.reduce((m, v) => Math.max(m, v), Number.NEGATIVE_INFINITY),
      3,
    ),
  };
}

/** ISO date to epoch ms keeping sub-ms digits (Celery writes microseconds; JS Date parses only ms). */
export function isoToMs(iso: string): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$/.exec(iso);
  if (!m) return Date.parse(iso);
  const whole = Date.parse(`${m[1]}${m[3] ?? 'Z'}`);
  return whole + (m[2] ? Number(`0.${m[2]}`) * 1000 : 0);
}

/** LPUSHes `n` no-op messages (built with buildEnvelope) through a pipeline, 1000 per round trip. */
export async function prefill(redis: Redis, queue: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < n; start += 1000) {
    const pipeline = redis.pipeline();
    for (let i = start; i < Math.min(n, start + 1000); i++) {
      const envelope = buildEnvelope({ task: NOOP_TASK, kwargs: {}, queue });
      ids.push(envelope.headers.id);
      pipeline.lpush(queue, JSON.stringify(envelope));
    }
    for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
  }
  return ids;
}

/** Result-backend entries of `ids` (null where there is none yet), 1000 keys per MGET. */
async function results(redis: Redis, ids: string[]): Promise<Array<ResultMeta | null>> {
  const out: Array<ResultMeta | null> = [];
  for (let i = 0; i < ids.length; i += 1000) {
    const values = await redis.mget(ids.slice(i, i + 1000).map((id) => `${RESULT_KEY_PREFIX}${id}`));
    for (const v of values) out.push(v ? (JSON.parse(v) as ResultMeta) : null);
  }
  return out;
}

/** Waiting + delivered-not-acknowledged messages of the no-op queue (this Redis database holds nothing else). */
async function remaining(redis: Redis, queue: string, unacked: string): Promise<number> {
  const res = (await redis.pipeline().llen(queue).hlen(unacked).exec()) ?? [];
  for (const [err] of res) if (err) throw err;
  return Number(res[0]?.[1] ?? 0) + Number(res[1]?.[1] ?? 0);
}

/**
 * Throughput: the queue is pre-filled, then the worker started; the clock starts at the first poll
 * that sees a task acknowledged (the worker is up: start-up is left out) and stops at the first
 * poll that sees the queue empty and `unacked` empty (every task acknowledged).
 */
async function throughput(
  redis: Redis,
  child: Child,
  params: NoopParams,
  ids: string[],
  spawnedAt: number,
  before: Awaited<ReturnType<typeof redisStats>>,
): Promise<Throughput> {
  const unacked = new KombuRedisTransport(redis).keys.unacked;
  const n = ids.length;
  const deadline = Date.now() + params.throughputTimeoutMs;
  let start:
    | {
        at: number;
        remaining: number;
        cpu: ReturnType<typeof snapshot>;
        machineMs: number | undefined;
        own: NodeJS.CpuUsage;
        redisCpuS: number;
      }
    | undefined;
  let polls = 0;
  let lastRemaining = n;
  for (;;) {
    const exit = child.exited();
    if (exit) {
      throw new Error(
        `${child.name} exited (code ${exit.code}, signal ${exit.signal}) with ${lastRemaining} tasks left; its output:\n${child.output()}`,
      );
    }
    const left = await remaining(redis, params.queue, unacked);
    const now = performance.now();
    polls++;
    lastRemaining = left;
    if (!start && left < n) {
      start = {
        at: now,
        remaining: left,
        cpu: snapshot([child.pid]),
        machineMs: machineBusyMs(),
        own: process.cpuUsage(),
        redisCpuS: (await redisStats(redis)).cpuS,
      };
      note(`${child.name}: first acknowledgement after ${round((now - spawnedAt) / 1000, 2)} s; measuring`);
    }
    if (start && left === 0) {
      const cpuMs = spent(start.cpu, snapshot([child.pid]));
      const machineMs = machineBusyMs();
      const own = process.cpuUsage(start.own);
      const after = await redisStats(redis);
      const measuredS = (now - start.at) / 1000;
      const redisMs = (after.cpuS - start.redisCpuS) * 1000;
      const otherMs =
        machineMs === undefined || start.machineMs === undefined
          ? null
          : Math.max(0, machineMs - start.machineMs - cpuMs - redisMs - (own.user + own.system) / 1000);
      const done = await results(redis, ids);
      const deadLetters = await redis.llen(`${params.queue}.dead`);
      const succeeded = done.filter((m) => m?.status === 'SUCCESS').length;
      if (succeeded !== n || deadLetters > 0) {
        throw new Error(
          `${child.name}: ${succeeded} of ${n} results are SUCCESS, ${deadLetters} dead letters`,
        );
      }
      return {
        tasks_per_s: round(start.remaining / measuredS, 1),
        tasks_measured: start.remaining,
        measured_s: round(measuredS, 3),
        startup_s: round((start.at - spawnedAt) / 1000, 3),
        tasks_prefilled: n,
        results_success: succeeded,
        dead_letters: deadLetters,
        worker_cpu_us_per_task: round((cpuMs * 1000) / start.remaining, 1),
        worker_cores_busy: round(cpuMs / 1000 / measuredS, 2),
        redis_cores_busy: round(redisMs / 1000 / measuredS, 2),
        other_processes_cores: otherMs === null ? null : round(otherMs / 1000 / measuredS, 2),
        redis: redisUse(before, after, n),
        polls,
      };
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${child.name}: ${left} of ${n} tasks still waiting or unacknowledged after ${params.throughputTimeoutMs} ms`,
      );
    }
    await delay(params.pollMs);
  }
}

/** Latency: the worker idle and warm; `latencyTasks` messages at a fixed rate, each carrying sent_at. */
async function latency(redis: Redis, child: Child, params: NoopParams): Promise<Latency> {
  const interval = 1000 / params.latencyRate;
  const sent = new Map<string, { mono: number; wall: number }>();
  const ids: string[] = [];
  const begin = performance.now() + 20;
  for (let i = 0; i < params.latencyTasks; i++) {
    const wait = begin + i * interval - performance.now();
    if (wait > 0) await delay(wait);
    const id = randomUUID();
    const mono = monotonicMs();
    const wall = Date.now();
    const envelope = buildEnvelope({
      task: NOOP_TASK,
      kwargs: { sent_mono_ms: mono, sent_wall_ms: wall },
      queue: params.queue,
      id,
    });
    await redis.lpush(params.queue, JSON.stringify(envelope));
    sent.set(id, { mono, wall });
    ids.push(id);
  }
  const publishedPerS = params.latencyTasks / ((performance.now() - begin) / 1000);
  const metas = await pollUntil(
    `${child.name}: all ${params.latencyTasks} latency tasks done`,
    async () => {
      if (child.exited()) throw new Error(`${child.name} exited during the latency run:\n${child.output()}`);
      const all = await results(redis, ids);
      const failed = all.find((m) => m && m.status !== 'SUCCESS');
      if (failed) throw new Error(`${child.name}: task ${failed.task_id} ended ${failed.status}`);
      return all.every((m) => m?.status === 'SUCCESS') ? (all as ResultMeta[]) : undefined;
    },
    60_000,
  );
  const pickup: number[] = [];
  const completion: number[] = [];
  metas.forEach((meta, i) => {
    const s = sent.get(ids[i] as string);
    if (!s) return;
    pickup.push(Number(meta.result) - s.mono);
    if (meta.date_done) completion.push(isoToMs(meta.date_done) - s.wall);
  });
  return {
    tasks: params.latencyTasks,
    rate_per_s: params.latencyRate,
    published_per_s: round(publishedPerS, 1),
    pickup: stats(pickup),
    completion: stats(completion),
  };
}

/**
 * Flushes the benchmark's Redis database, pre-fills the queue, starts the worker (`start`), measures
 * throughput and then latency, and stops the worker.
 */
export async function runNoopWorker(
  label: string,
  redis: Redis,
  params: NoopParams,
  start: () => Child,
  stop: (child: Child) => Promise<void>,
): Promise<NoopResult> {
  await redis.flushdb();
  note(`${label}: pre-filling ${params.tasks} messages (pipelined LPUSH, not measured)`);
  const ids = await prefill(redis, params.queue, params.tasks);
  const machineBefore = await params.waitForQuiet();
  const before = await redisStats(redis);
  const spawnedAt = performance.now();
  const child = start();
  try {
    const tp = await throughput(redis, child, params, ids, spawnedAt, before);
    note(
      `${label}: ${tp.tasks_per_s} tasks/s; latency run: ${params.latencyTasks} tasks at ${params.latencyRate}/s`,
    );
    const lat = await latency(redis, child, params);
    note(`${label}: pick-up p50 ${lat.pickup.p50_ms} ms, p99 ${lat.pickup.p99_ms} ms`);
    return { worker: label, pid: child.pid, throughput: tp, latency: lat, machine_before: machineBefore };
  } finally {
    await stop(child);
  }
}

/** One worker's rounds: medians of the per-round figures, and every round in full. */
export interface NoopSummary {
  worker: string;
  rounds: number;
  tasks_per_s: number;
  tasks_per_s_by_round: number[];
  worker_cpu_us_per_task: number;
  worker_cores_busy: number;
  redis_cpu_us_per_task: number;
  redis_commands_per_task: number;
  /** Commands per task by name, from the first round (they do not vary). */
  commands_per_task: Record<string, number>;
  other_processes_cores_by_round: Array<number | null>;
  pickup_p50_ms: number;
  pickup_p99_ms: number;
  done_p50_ms: number;
  done_p99_ms: number;
  runs: NoopResult[];
}

export function summarizeNoop(worker: string, runs: NoopResult[]): NoopSummary {
  const m = (f: (r: NoopResult) => number, digits: number) => round(median(runs.map(f)), digits);
  return {
    worker,
    rounds: runs.length,
    tasks_per_s: m((r) => r.throughput.tasks_per_s, 1),
    tasks_per_s_by_round: runs.map((r) => r.throughput.tasks_per_s),
    worker_cpu_us_per_task: m((r) => r.throughput.worker_cpu_us_per_task, 1),
    worker_cores_busy: m((r) => r.throughput.worker_cores_busy, 2),
    redis_cpu_us_per_task: m((r) => r.throughput.redis.redis_cpu_us_per_task, 1),
    redis_commands_per_task: m((r) => r.throughput.redis.commands_per_task_total, 2),
    commands_per_task: runs[0]?.throughput.redis.commands_per_task ?? {},
    other_processes_cores_by_round: runs.map((r) => r.throughput.other_processes_cores),
    pickup_p50_ms: m((r) => r.latency.pickup.p50_ms, 3),
    pickup_p99_ms: m((r) => r.latency.pickup.p99_ms, 3),
    done_p50_ms: m((r) => r.latency.completion.p50_ms, 3),
    done_p99_ms: m((r) => r.latency.completion.p99_ms, 3),
    runs,
  };
}
