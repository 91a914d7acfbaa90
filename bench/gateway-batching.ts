/**
 * `pnpm bench:gateway-batching`: ml-gateway's own micro-batching. Concurrent clients each send
 * one instance per `POST /v1/models/iris/predict`; the same ml-gateway code runs with
 * BATCHING_ENABLED=false (one model call per request) and =true (concurrent requests gathered
 * into one call), in alternating rounds of one run. Writes bench/results/gateway-batching.json.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ownChild } from './lib/children.js';
import { snapshot, spent } from './lib/cpu.js';
import { intFromEnv } from './lib/env.js';
import { waitForQuiet } from './lib/quiet.js';
import { machineInfo, writeResult } from './lib/results.js';
import { freePort, pollUntil } from './lib/server-process.js';
import { median, percentile, round } from './lib/stats.js';
import { note, printTable } from './lib/table.js';
import { type GatewayRun, measureGateway } from './queue/gateway.js';

const GATEWAY_DIR = fileURLToPath(new URL('../services/ml-gateway/', import.meta.url));
const UVICORN = `${GATEWAY_DIR}.venv/bin/uvicorn`;

const requests = intFromEnv('BENCH_GATEWAY_SINGLE_REQUESTS', 4_000);
const warmup = intFromEnv('BENCH_GATEWAY_WARMUP', 400);
const concurrency = intFromEnv('BENCH_GATEWAY_CONCURRENCY', 8);
const rounds = intFromEnv('BENCH_ROUNDS', 3);
const maxDelayMs = process.env.BENCH_BATCH_MAX_DELAY_MS ?? '2';
const maxSize = process.env.BENCH_BATCH_MAX_SIZE ?? '256';
const itemsPerBatch = intFromEnv('BENCH_GATEWAY_BATCH_ITEMS', 8);
const quiet = () =>
  waitForQuiet({
    maxBusy: Number(process.env.BENCH_QUIET_MAX_BUSY_PCT ?? 15) / 100,
    timeoutMs: intFromEnv('BENCH_QUIET_TIMEOUT_S', 120) * 1000,
  });

interface Gateway {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

async function startGateway(batching: boolean): Promise<Gateway> {
  const port = await freePort();
  const child = ownChild(
    spawn(UVICORN, ['app.main:app', '--host', '127.0.0.1', '--port', String(port)], {
      cwd: GATEWAY_DIR,
      env: {
        ...process.env,
        LOG_LEVEL: 'WARNING',
        MODEL_DIR: '',
        BATCHING_ENABLED: String(batching),
        BATCH_MAX_DELAY_MS: maxDelayMs,
        BATCH_MAX_SIZE: maxSize,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(kill);
  };
  try {
    await pollUntil(
      `ml-gateway on ${url}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`ml-gateway exited (${child.exitCode}):\n${stderr}`);
        try {
          return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) })).ok ? true : undefined;
        } catch {
          return undefined;
        }
      },
      120_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, child, stop };
}

/** `ml_gateway_model_calls_total` summed over models, from /metrics. */
async function modelCalls(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('ml_gateway_model_calls_total{')) total += Number(line.split(' ').pop());
  }
  return total;
}

interface BatchEndpointRun {
  items_per_request: number;
  requests: number;
  instances_per_s: number;
  latency_p50_ms: number;
  latency_p99_ms: number;
  gateway_cpu_us_per_instance: number;
}

/**
 * `POST /v1/predictions/batch` with `items` single-instance iris items per request (what the
 * worker sends), `concurrency` in flight; every item must come back `ok`.
 */
async function measureBatchEndpoint(url: string, pid: number, items: number, count: number) {
  const rows = [
    [5.1, 3.5, 1.4, 0.2],
    [6.7, 3.0, 5.2, 2.3],
    [5.9, 3.0, 4.2, 1.5],
  ];
  const body = JSON.stringify({
    items: Array.from({ length: items }, (_, i) => ({ model: 'iris', instances: [rows[i % rows.length]] })),
  });
  const latencies: number[] = [];
  let next = 0;
  const cpuBefore = snapshot([pid]);
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < count) {
        const t0 = performance.now();
        const res = await fetch(`${url}/v1/predictions/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(30_000),
        });
        const out = (await res.json()) as { results?: { ok: boolean }[] };
        if (res.status !== 200 || out.results?.length !== items || !out.results.every((r) => r.ok)) {
          throw new Error(`POST /v1/predictions/batch: ${res.status} ${JSON.stringify(out).slice(0, 300)}`);
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const cpuMs = spent(cpuBefore, snapshot([pid]));
  return {
    items_per_request: items,
    requests: count,
    instances_per_s: round((count * items) / seconds, 1),
    latency_p50_ms: round(percentile(latencies, 50), 3),
    latency_p99_ms: round(percentile(latencies, 99), 3),
    gateway_cpu_us_per_instance: round((cpuMs * 1000) / (count * items), 1),
  } satisfies BatchEndpointRun;
}

interface Run extends GatewayRun {
  batching: boolean;
  gateway_cpu_us_per_request: number;
  model_calls: number;
  instances_per_model_call: number;
  machine_before: Awaited<ReturnType<typeof quiet>>;
  /** Batching on only: the same instances as items of `POST /v1/predictions/batch`. */
  batch_endpoint?: BatchEndpointRun;
}

async function runOnce(batching: boolean): Promise<Run> {
  const gateway = await startGateway(batching);
  try {
    const machineBefore = await quiet();
    await measureGateway({
      url: gateway.url,
      model: 'iris',
      instancesPerRequest: 1,
      requests: warmup,
      concurrency,
      warmup: 0,
    });
    const callsBefore = await modelCalls(gateway.url);
    const pid = gateway.child.pid ?? 0;
    const cpuBefore = snapshot([pid]);
    const run = await measureGateway({
      url: gateway.url,
      model: 'iris',
      instancesPerRequest: 1,
      requests,
      concurrency,
      warmup: 0,
    });
    const cpuMs = spent(cpuBefore, snapshot([pid]));
    const calls = (await modelCalls(gateway.url)) - callsBefore;
    const batchEndpoint = batching
      ? await measureBatchEndpoint(gateway.url, pid, itemsPerBatch, Math.ceil(requests / itemsPerBatch))
      : undefined;
    return {
      ...run,
      batching,
      gateway_cpu_us_per_request: round((cpuMs * 1000) / requests, 1),
      model_calls: calls,
      instances_per_model_call: round(requests / Math.max(1, calls), 2),
      machine_before: machineBefore,
      batch_endpoint: batchEndpoint,
    };
  } finally {
    await gateway.stop();
  }
}

async function main(): Promise<void> {
  if (!existsSync(UVICORN)) {
    throw new Error(`${UVICORN} is missing: bash services/ml-gateway/scripts/setup-venv.sh`);
  }
  const runs: Run[] = [];
  for (let round_ = 0; round_ < rounds; round_++) {
    const order = round_ % 2 === 0 ? [false, true] : [true, false];
    for (const batching of order) {
      note(`round ${round_ + 1}/${rounds}: batching ${batching ? 'on' : 'off'}`);
      runs.push(await runOnce(batching));
    }
  }
  const summary = (batching: boolean) => {
    const mine = runs.filter((r) => r.batching === batching);
    return {
      instances_per_s: round(median(mine.map((r) => r.instances_per_s)), 1),
      latency_p50_ms: round(median(mine.map((r) => r.latency_p50_ms)), 3),
      latency_p99_ms: round(median(mine.map((r) => r.latency_p99_ms)), 3),
      gateway_cpu_us_per_request: round(median(mine.map((r) => r.gateway_cpu_us_per_request)), 1),
      instances_per_model_call: round(median(mine.map((r) => r.instances_per_model_call)), 2),
    };
  };
  const off = summary(false);
  const on = summary(true);
  const ratio = round(on.instances_per_s / off.instances_per_s, 2);
  const cpuRatio = round(off.gateway_cpu_us_per_request / on.gateway_cpu_us_per_request, 2);
  const endpointRuns = runs.flatMap((r) => (r.batch_endpoint ? [r.batch_endpoint] : []));
  const batchEndpoint = {
    items_per_request: itemsPerBatch,
    instances_per_s: round(median(endpointRuns.map((r) => r.instances_per_s)), 1),
    latency_p50_ms: round(median(endpointRuns.map((r) => r.latency_p50_ms)), 3),
    latency_p99_ms: round(median(endpointRuns.map((r) => r.latency_p99_ms)), 3),
    gateway_cpu_us_per_instance: round(median(endpointRuns.map((r) => r.gateway_cpu_us_per_instance)), 1),
  };
  printTable(`ml-gateway: 1 instance per request, ${concurrency} clients (medians of ${rounds} rounds)`, [
    { batching: 'off', ...off },
    { batching: 'on', ...on },
  ]);
  printTable(
    `ml-gateway: POST /v1/predictions/batch, ${itemsPerBatch} one-instance items per request, ${concurrency} clients`,
    [batchEndpoint],
  );
  const baselineIssue14 = 436;
  printTable('Targets', [
    {
      metric: 'gateway_single_instances_per_s (batching on)',
      value: on.instances_per_s,
      target: `>= ${baselineIssue14 * 10}`,
    },
    { metric: 'ratio on / off, same run', value: ratio, target: '' },
    { metric: 'gateway CPU per request, off / on', value: cpuRatio, target: '' },
  ]);
  const path = await writeResult('gateway-batching', {
    gateway_single_instances_per_s: on.instances_per_s,
    gateway_single_instances_per_s_batching_off: off.instances_per_s,
    ratio_batching_on_vs_off: ratio,
    ratio_gateway_cpu_per_request_off_vs_on: cpuRatio,
    gateway_batch_endpoint_instances_per_s: batchEndpoint.instances_per_s,
    batching_off: off,
    batching_on: on,
    batch_endpoint: batchEndpoint,
    runs,
    targets: { gateway_single_instances_per_s: baselineIssue14 * 10 },
    machine: machineInfo(),
    parameters: {
      requests,
      warmup,
      concurrency,
      rounds,
      model: 'iris',
      batch_max_delay_ms: Number(maxDelayMs),
      batch_max_size: Number(maxSize),
      batch_endpoint_items: itemsPerBatch,
    },
  });
  note(`wrote ${path}`);
}

await main();
