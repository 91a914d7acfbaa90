import os from 'node:os';
import autocannon from 'autocannon';
import { machineBusyMs, snapshot, spent } from './cpu.js';
import { monotonicUs } from './cpu-profile.js';
import { intFromEnv } from './env.js';
import { type Quiet, waitForQuiet } from './quiet.js';
import { percentile, round } from './stats.js';
import { note } from './table.js';

export interface LoadOptions {
  /** Label for messages. */
  label: string;
  url: string;
  connections: number;
  durationS: number;
  /** Unmeasured run before the measured one (JIT, caches, pools); 0 to skip. */
  warmupS: number;
  /** Request path and headers, or a function giving them per request (e.g. round-robin over tenants). */
  request: RequestSpec | (() => RequestSpec);
  /** The server's pid, to report its CPU time per request. */
  serverPid?: number;
  /** The PostgreSQL backends serving the server (e.g. from pg_stat_activity), to report their CPU time too. */
  postgresPids?: () => Promise<number[]>;
}

export interface RequestSpec {
  path: string;
  headers?: Record<string, string>;
  method?: 'GET' | 'POST';
  body?: string;
}

/** CPU time during the measured run, from /proc (Linux), in total and per 2xx response. */
export interface CpuUse {
  server_ms: number;
  postgres_ms: number | null;
  load_generator_ms: number;
  server_us_per_request: number;
  postgres_us_per_request: number | null;
  load_generator_us_per_request: number;
  /** CPU time of the three over wall time: compare with the number of cores. */
  cores_busy: number;
  /** CPU time of every other process on the machine over wall time: other work disturbing the run. */
  other_processes_cores: number | null;
}

export interface LoadResult {
  requests_per_s: number;
  /** Latencies measured per response with sub-millisecond precision (autocannon rounds to 1 ms). */
  latency_p50_ms: number;
  latency_p90_ms: number;
  latency_p99_ms: number;
  latency_mean_ms: number;
  latency_max_ms: number;
  requests_total: number;
  responses_2xx: number;
  non_2xx: number;
  errors: number;
  timeouts: number;
  status_codes: Record<string, number>;
  connections: number;
  duration_s: number;
  warmup_s: number;
  /** 1-minute load average when the measured run started: other work on the machine shows here. */
  load_avg_1m_at_start: number;
  cpu?: CpuUse;
  /** How busy the machine was (other processes) just before this measurement, and whether it waited. */
  machine_before: Quiet;
  /** When the measured run started and ended, CLOCK_MONOTONIC µs (to cut a CPU profile to it). */
  window_monotonic_us: { fromUs: number; toUs: number };
}

async function run(
  options: LoadOptions,
  durationS: number,
): Promise<{ result: autocannon.Result; latencies: number[] }> {
  const latencies: number[] = [];
  const next = options.request;
  const requests: autocannon.Request[] =
    typeof next === 'function'
      ? [
          {
            method: 'GET',
            setupRequest: (req) => {
              const r = next();
              return {
                ...req,
                method: r.method ?? 'GET',
                path: r.path,
                headers: { ...req.headers, ...r.headers },
                ...(r.body === undefined ? {} : { body: r.body }),
              };
            },
          },
        ]
      : [{ method: next.method ?? 'GET', path: next.path, headers: next.headers ?? {}, body: next.body }];
  let instance: autocannon.Instance | undefined;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: durationS,
        pipelining: 1,
        requests,
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    // Per-response latency in fractional milliseconds (process.hrtime in autocannon's client).
    instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
      latencies.push(ms);
    });
  });
  return { result, latencies };
}

/** A short warm-up run, then the measured run. Fails when any response was not 2xx or a connection failed. */
export async function measure(options: LoadOptions): Promise<LoadResult> {
  const quiet = await waitForQuiet({
    maxBusy: intFromEnv('BENCH_QUIET_MAX_BUSY_PCT', 15) / 100,
    timeoutMs: intFromEnv('BENCH_QUIET_TIMEOUT_S', 120) * 1000,
  });
  if (options.warmupS > 0) {
    note(`${options.label}: warm-up ${options.warmupS} s`);
    const warm = await run(options, options.warmupS);
    assertAll2xx(`${options.label} (warm-up)`, warm.result);
  }
  note(`${options.label}: measuring ${options.durationS} s at ${options.connections} connections`);
  const loadAvg = os.loadavg()[0] ?? 0;
  const pids = options.serverPid === undefined ? [] : [options.serverPid];
  const pgPids = options.postgresPids;
  const pgBefore = pgPids ? snapshot(await pgPids()) : undefined;
  const serverBefore = snapshot(pids);
  const ownBefore = process.cpuUsage();
  const machineBefore = machineBusyMs();
  const fromUs = monotonicUs();
  const { result, latencies } = await run(options, options.durationS);
  const toUs = monotonicUs();
  const ownUs = process.cpuUsage(ownBefore);
  const machineAfter = machineBusyMs();
  const serverAfter = snapshot(pids);
  const pgAfter = pgPids ? snapshot(await pgPids()) : undefined;
  assertAll2xx(options.label, result);
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {}))
    statusCodes[code] = stat.count ?? 0;
  return {
    requests_per_s: round(result['2xx'] / result.duration, 1),
    latency_p50_ms: round(percentile(latencies, 50), 3),
    latency_p90_ms: round(percentile(latencies, 90), 3),
    latency_p99_ms: round(percentile(latencies, 99), 3),
    latency_mean_ms: round(latencies.reduce((s, v) => s + v, 0) / Math.max(1, latencies.length), 3),
    latency_max_ms: round(
      latencies.reduce((m, v) => Math.max(m, v), 0),
      3,
    ),
    requests_total: latencies.length,
    responses_2xx: result['2xx'],
    non_2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    status_codes: statusCodes,
    connections: options.connections,
    duration_s: round(result.duration, 3),
    warmup_s: options.warmupS,
    load_avg_1m_at_start: round(loadAvg, 2),
    cpu: cpuUse(
      options,
      spent(serverBefore, serverAfter),
      pgBefore && pgAfter ? spent(pgBefore, pgAfter) : null,
      (ownUs.user + ownUs.system) / 1000,
      machineBefore === undefined || machineAfter === undefined ? null : machineAfter - machineBefore,
      result,
    ),
    machine_before: quiet,
    window_monotonic_us: { fromUs, toUs },
  };
}

function cpuUse(
  options: LoadOptions,
  serverMs: number,
  postgresMs: number | null,
  loadGeneratorMs: number,
  machineMs: number | null,
  result: autocannon.Result,
): CpuUse | undefined {
  if (options.serverPid === undefined || serverMs === 0) return undefined;
  const n = Math.max(1, result['2xx']);
  const perRequest = (ms: number) => round((ms * 1000) / n, 1);
  const pg = postgresMs;
  return {
    server_ms: round(serverMs, 0),
    postgres_ms: pg === null ? null : round(pg, 0),
    load_generator_ms: round(loadGeneratorMs, 0),
    server_us_per_request: perRequest(serverMs),
    postgres_us_per_request: pg === null ? null : perRequest(pg),
    load_generator_us_per_request: perRequest(loadGeneratorMs),
    cores_busy: round((serverMs + (pg ?? 0) + loadGeneratorMs) / (result.duration * 1000), 2),
    other_processes_cores:
      machineMs === null
        ? null
        : round(
            Math.max(0, machineMs - serverMs - (pg ?? 0) - loadGeneratorMs) / (result.duration * 1000),
            2,
          ),
  };
}

function assertAll2xx(label: string, result: autocannon.Result): void {
  const codes = Object.entries(result.statusCodeStats ?? {})
    .map(([code, stat]) => `${code}: ${stat.count ?? 0}`)
    .join(', ');
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0 || result['2xx'] === 0) {
    throw new Error(
      `${label}: not every response was 2xx — 2xx: ${result['2xx']}, non-2xx: ${result.non2xx}, ` +
        `connection errors: ${result.errors}, timeouts: ${result.timeouts} (status codes: ${codes || 'none'})`,
    );
  }
}
