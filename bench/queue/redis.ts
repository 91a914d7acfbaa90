import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import { round } from '../lib/stats.js';

/** Commands the benchmark itself sends while it watches a worker: left out of the per-task counts. */
const OWN_COMMANDS = new Set(['info', 'llen', 'hlen', 'ping', 'select', 'client|setinfo', 'client|setname']);

export interface RedisStats {
  /** Calls per command, server-wide. */
  calls: Map<string, number>;
  /** CPU seconds of redis-server (user + sys, all threads). */
  cpuS: number;
}

/** `INFO commandstats` and `INFO cpu`. Both are server-wide: other clients of the server count too. */
export async function redisStats(redis: Redis): Promise<RedisStats> {
  const [commands, cpu] = await Promise.all([redis.info('commandstats'), redis.info('cpu')]);
  const calls = new Map<string, number>();
  for (const match of commands.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    calls.set((match[1] as string).toLowerCase(), Number(match[2]));
  }
  const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(cpu)?.[1] ?? 0);
  return { calls, cpuS: field('used_cpu_user') + field('used_cpu_sys') };
}

export interface RedisUse {
  /** Commands per task by name (the benchmark's own INFO/LLEN/HLEN polling left out), largest first. */
  commands_per_task: Record<string, number>;
  commands_per_task_total: number;
  /** CPU of redis-server per task, in microseconds. */
  redis_cpu_us_per_task: number;
}

export function redisUse(before: RedisStats, after: RedisStats, tasks: number): RedisUse {
  const perTask: Array<[string, number]> = [];
  let total = 0;
  for (const [name, calls] of after.calls) {
    if (OWN_COMMANDS.has(name)) continue;
    const n = calls - (before.calls.get(name) ?? 0);
    if (n <= 0) continue;
    perTask.push([name, round(n / tasks, 3)]);
    total += n;
  }
  perTask.sort((a, b) => b[1] - a[1]);
  return {
    commands_per_task: Object.fromEntries(perTask),
    commands_per_task_total: round(total / tasks, 2),
    redis_cpu_us_per_task: round(((after.cpuS - before.cpuS) * 1e6) / tasks, 1),
  };
}

export interface RedisBenchmarkResult {
  command: string;
  /** requests/s by test name (LPUSH, RPOP), as redis-benchmark prints them. */
  rps: Record<string, number>;
  p50_latency_ms: Record<string, number>;
}

/** Runs redis-benchmark (bounded by `-n` and a timeout) and parses its `--csv` output. */
export async function runRedisBenchmark(args: string[], timeoutMs = 180_000): Promise<RedisBenchmarkResult> {
  const { stdout } = await promisify(execFile)('redis-benchmark', args, { timeout: timeoutMs });
  const lines = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => l.split(',').map((cell) => cell.replace(/^"|"$/g, '')));
  const header = lines[0] ?? [];
  const rpsAt = header.indexOf('rps');
  const p50At = header.indexOf('p50_latency_ms');
  if (rpsAt < 0) throw new Error(`unexpected redis-benchmark output:\n${stdout}`);
  const rps: Record<string, number> = {};
  const p50: Record<string, number> = {};
  for (const row of lines.slice(1)) {
    const test = row[0] as string;
    rps[test] = Number(row[rpsAt]);
    if (p50At >= 0) p50[test] = Number(row[p50At]);
  }
  return { command: `redis-benchmark ${args.join(' ')}`, rps, p50_latency_ms: p50 };
}
