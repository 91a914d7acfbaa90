/**
 * Queue: the TypeScript worker engine against a Python Celery 5 worker on the same no-op task
 * (throughput on a pre-filled queue, pick-up latency at a fixed rate), Redis's own ceiling
 * (redis-benchmark, and the engine's reserve step alone), ml-gateway batch against single-instance
 * requests, and end-to-end predictions/s through API -> queue -> worker -> ml-gateway.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase, type Database, migratePlatform } from '@platform/core';
import { ensureMlGateway, ML_GATEWAY_DIR } from '@platform/core/testing';
import { Redis } from 'ioredis';
import { type ProfileSummary, summarizeProfile } from './lib/cpu-profile.js';
import { benchDatabaseUrl, intFromEnv, redactUrl } from './lib/env.js';
import { exclusiveBenchRun } from './lib/exclusive.js';
import { waitForQuiet } from './lib/quiet.js';
import { machineInfo, RESULTS_DIR, writeResult } from './lib/results.js';
import { freePort, pollUntil } from './lib/server-process.js';
import { round } from './lib/stats.js';
import { note, printTable } from './lib/table.js';
import { type E2eResult, runE2e } from './queue/e2e.js';
import {
  type GatewayRun,
  type GatewaySection,
  measureGateway,
  measureGatewaySection,
} from './queue/gateway.js';
import {
  type NoopParams,
  type NoopResult,
  type NoopSummary,
  runNoopWorker,
  summarizeNoop,
} from './queue/noop.js';
import { type Child, Processes, startChild } from './queue/processes.js';
import {
  outboxPickup,
  type PickupResult,
  type RedeliveryResult,
  redeliveryAfterSigkill,
} from './queue/recovery.js';
import { type RedisBenchmarkResult, runRedisBenchmark } from './queue/redis.js';
import { type ReserveCeiling, reserveCeiling } from './queue/reserve.js';
import { DEFAULT_QUEUE_REDIS_URL, NOOP_QUEUE, type NoopWorkerEnv } from './queue/shared.js';
// ts-worker.ts runs in a child process; the type import only brings it into `tsc -p bench`.
import type {} from './queue/ts-worker.js';

const TARGET_RATIO_TS_VS_CELERY = 1.5;

const tasks = intFromEnv('BENCH_TASKS', 20_000);
const rounds = intFromEnv('BENCH_ROUNDS', 3);
const concurrency = intFromEnv('BENCH_CONCURRENCY', 8);
const latencyTasks = intFromEnv('BENCH_LATENCY_TASKS', 1_000);
const latencyRate = intFromEnv('BENCH_LATENCY_RATE', 200);
const pollMs = intFromEnv('BENCH_POLL_MS', 5);
const redisBenchmarkRequests = intFromEnv('BENCH_REDIS_BENCHMARK_REQUESTS', 200_000);
const reserveMessages = intFromEnv('BENCH_RESERVE_MESSAGES', 10_000);
const predictions = intFromEnv('BENCH_PREDICTIONS', 500);
const e2eInFlight = intFromEnv('BENCH_E2E_IN_FLIGHT', 32);
const e2eWarmup = intFromEnv('BENCH_E2E_WARMUP', 20);
/** Predictions queued before a worker starts, then drained (BENCH_SECTIONS=e2e only). */
const drainPredictions = intFromEnv('BENCH_DRAIN_PREDICTIONS', 2_000);
const gatewayPort = intFromEnv('BENCH_ML_GATEWAY_PORT', 18004);
const gatewaySingleRequests = intFromEnv('BENCH_GATEWAY_SINGLE_REQUESTS', 10_000);
const gatewayRounds = intFromEnv('BENCH_GATEWAY_ROUNDS', 3);
const gatewayBatchRequests = intFromEnv('BENCH_GATEWAY_BATCH_REQUESTS', 2_000);
const gatewayBatchSize = intFromEnv('BENCH_GATEWAY_BATCH_SIZE', 100);
const gatewayConcurrency = intFromEnv('BENCH_GATEWAY_CONCURRENCY', 8);
const databaseWaitS = intFromEnv('BENCH_DB_WAIT_S', 900);
const pickupSamples = intFromEnv('BENCH_PICKUP_SAMPLES', 300);
const pickupRate = intFromEnv('BENCH_PICKUP_RATE', 50);
const redeliveryKills = intFromEnv('BENCH_REDELIVERY_KILLS', 3);
const redeliveryTasks = intFromEnv('BENCH_REDELIVERY_TASKS', 4);
/** BENCH_SECTIONS=recovery runs only the outbox and redelivery sections (into queue-recovery.json). */
const onlyRecovery = process.env.BENCH_SECTIONS === 'recovery';
/**
 * BENCH_SECTIONS=e2e runs only ml-gateway and the end-to-end section, the worker unbatched
 * (WORKER_BATCH_SIZE=1, the baseline) and batched (its defaults) in the same run, and updates
 * their fields in queue.json (the other fields stay as the last full run wrote them).
 */
const onlyE2e = process.env.BENCH_SECTIONS === 'e2e';
/**
 * BENCH_SECTIONS=gateway runs only the ml-gateway section (its defaults against the same code
 * with BATCHING_ENABLED=false, in the same run) and updates only its fields in queue.json.
 */
const onlyGateway = process.env.BENCH_SECTIONS === 'gateway';
const TARGET_E2E_PREDICTIONS_PER_S = 500;
const TARGET_E2E_CPU_US_PER_PREDICTION = 3000;
const GATEWAY_SINGLE_BASELINE_INSTANCES_PER_S = 436;
const workerLogLevel = process.env.BENCH_WORKER_LOG_LEVEL ?? 'warn';
const profile = process.env.BENCH_PROFILE === '1';
const autopipelining = process.env.BENCH_AUTOPIPELINING === '1';
const databaseUrl = benchDatabaseUrl();
const queueRedisUrl = process.env.BENCH_QUEUE_REDIS_URL ?? DEFAULT_QUEUE_REDIS_URL;

const BENCH_DIR = fileURLToPath(new URL('./', import.meta.url));
const QUEUE_DIR = fileURLToPath(new URL('./queue/', import.meta.url));
const TS_WORKER = join(QUEUE_DIR, 'ts-worker.ts');
const CELERY = join(ML_GATEWAY_DIR, '.venv/bin/celery');

const CELERY_LOG_LEVELS: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
  silent: 'CRITICAL',
};

const quiet = () =>
  waitForQuiet({
    maxBusy: intFromEnv('BENCH_QUIET_MAX_BUSY_PCT', 15) / 100,
    timeoutMs: intFromEnv('BENCH_QUIET_TIMEOUT_S', 120) * 1000,
  });

function redisEndpoint(url: string): { host: string; port: string; db: string } {
  const u = new URL(url);
  const host = u.hostname;
  if (host !== '127.0.0.1' && host !== 'localhost') {
    throw new Error(`BENCH_QUEUE_REDIS_URL must point at 127.0.0.1, not ${host}`);
  }
  const db = u.pathname.replace(/^\//, '') || '0';
  if (db === '0')
    throw new Error('BENCH_QUEUE_REDIS_URL must name a database of its own (not /0): it is flushed');
  return { host: '127.0.0.1', port: u.port || '6379', db };
}

function workerEnv(): NoopWorkerEnv & Record<string, string> {
  return {
    BENCH_QUEUE_REDIS_URL: queueRedisUrl,
    BENCH_QUEUE: NOOP_QUEUE,
    BENCH_CONCURRENCY: String(concurrency),
    BENCH_WORKER_LOG_LEVEL: workerLogLevel,
  };
}

function startTsWorker(name = 'TypeScript worker', extraEnv: Record<string, string> = {}): Child {
  return startChild({
    name,
    command: process.execPath,
    args: ['--conditions=source', '--import', 'tsx', TS_WORKER],
    env: { NODE_ENV: 'production', ...workerEnv(), ...extraEnv },
    cwd: BENCH_DIR,
  });
}

const CELERY_ARGS = [
  '-A',
  'celery_noop',
  'worker',
  '-Q',
  NOOP_QUEUE,
  '--pool',
  'threads',
  '--concurrency',
  String(concurrency),
  '--without-gossip',
  '--without-mingle',
  '--without-heartbeat',
  '--loglevel',
  CELERY_LOG_LEVELS[workerLogLevel] ?? 'WARNING',
  '-n',
  `bench-noop-${process.pid}@%h`,
];

function startCeleryWorker(name = 'Celery worker'): Child {
  return startChild({
    name,
    command: CELERY,
    args: CELERY_ARGS,
    env: { ...workerEnv(), PYTHONPATH: QUEUE_DIR, PYTHONDONTWRITEBYTECODE: '1' },
    cwd: QUEUE_DIR,
  });
}

async function runWorker(
  label: string,
  redis: Redis,
  params: NoopParams,
  processes: Processes,
  start: () => Child,
): Promise<NoopResult> {
  return runNoopWorker(
    label,
    redis,
    params,
    () => {
      const child = start();
      processes.add(child.name, () => child.stop());
      return child;
    },
    (child) => processes.stop(child.name),
  );
}

interface ProfileRun {
  run: NoopResult;
  summary: ProfileSummary;
  tasks_per_s_while_profiled: number;
  socket_writes_per_task: number | null;
}

/** One more TypeScript throughput run, with a CPU profile of the worker and its socket writes counted. */
async function profileTsWorker(redis: Redis, params: NoopParams, processes: Processes): Promise<ProfileRun> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-queue-profile-'));
  const file = join(dir, 'ts-worker.cpuprofile');
  const run = await runWorker('TypeScript worker (profiled)', redis, params, processes, () =>
    startTsWorker('TypeScript worker (profiled)', { BENCH_CPU_PROFILE: file }),
  );
  let writesPerTask: number | null = null;
  if (existsSync(`${file}.writes.json`)) {
    const w = JSON.parse(await readFile(`${file}.writes.json`, 'utf8')) as {
      socket_writes: number;
      tasks: number;
    };
    writesPerTask = round(w.socket_writes / Math.max(1, w.tasks), 2);
  }
  return {
    run,
    summary: await summarizeProfile(file),
    tasks_per_s_while_profiled: run.throughput.tasks_per_s,
    socket_writes_per_task: writesPerTask,
  };
}

interface Recovery {
  pickup: PickupResult;
  redelivery: RedeliveryResult;
}

async function recoverySection(db: Database, redis: Redis, processes: Processes): Promise<Recovery> {
  await migratePlatform(db); // the outbox table
  note(
    `outbox pick-up: ${pickupSamples} tasks through the outbox and ${pickupSamples} LPUSHed, ${pickupRate}/s`,
  );
  const pickup = await outboxPickup({ db, redis, databaseUrl, samples: pickupSamples, ratePerS: pickupRate });
  note(`redelivery: ${redeliveryKills} workers SIGKILLed holding ${redeliveryTasks} running tasks each`);
  const redelivery = await redeliveryAfterSigkill({
    redis,
    kills: redeliveryKills,
    tasksPerKill: redeliveryTasks,
    startVictim: (queue) => {
      const child = startTsWorker('victim worker', {
        BENCH_QUEUE: queue,
        BENCH_CONCURRENCY: String(redeliveryTasks),
        BENCH_NOOP_HOLD_MS: '3600000',
      });
      processes.add(child.name, () => child.stop());
      return child;
    },
  });
  await redis.flushdb();
  return { pickup, redelivery };
}

function recoveryFields(r: Recovery) {
  return {
    direct_pickup_p50_ms: r.pickup.direct_pickup_p50_ms,
    outbox_pickup_p50_ms: r.pickup.outbox_pickup_p50_ms,
    outbox_pickup_added_p50_ms: round(r.pickup.outbox_pickup_p50_ms - r.pickup.direct_pickup_p50_ms, 3),
    redelivery_after_sigkill_s_p50: r.redelivery.redelivery_after_sigkill_s_p50,
    redelivery_after_sigkill_s_max: r.redelivery.redelivery_after_sigkill_s_max,
    recovery: r,
  };
}

function printRecovery(r: Recovery): void {
  printTable('Outbox pick-up (commit -> task started) beside direct LPUSH, alternating at a fixed rate', [
    {
      path: 'direct LPUSH',
      'p50 ms': r.pickup.direct_pickup_p50_ms,
      'p99 ms': r.pickup.direct_pickup_p99_ms,
    },
    {
      path: 'outbox + relay',
      'p50 ms': r.pickup.outbox_pickup_p50_ms,
      'p99 ms': r.pickup.outbox_pickup_p99_ms,
    },
  ]);
  printTable('Redelivery after SIGKILL (kill -> task started on another worker; engine defaults)', [
    {
      kills: r.redelivery.kills,
      'tasks/kill': r.redelivery.tasks_per_kill,
      'heartbeat ttl ms': r.redelivery.heartbeat_ttl_ms,
      'visibility timeout s': r.redelivery.visibility_timeout_s,
      'p50 s': r.redelivery.redelivery_after_sigkill_s_p50,
      'max s': r.redelivery.redelivery_after_sigkill_s_max,
    },
  ]);
}

const UNBATCHED_GATEWAY = 'ml-gateway (BATCHING_ENABLED=false)';

interface Gateways {
  url: string;
  /** The gateway's pid, when the benchmark started it. */
  pid: number | undefined;
  unbatched: { url: string; pid: number };
}

/**
 * The ml-gateway with its defaults on BENCH_ML_GATEWAY_PORT, started (and stopped with
 * `processes`) unless one already answers there, in which case it is used and null returned.
 */
async function defaultGateway(processes: Processes) {
  note(`ml-gateway: starting (or reusing) on 127.0.0.1:${gatewayPort}`);
  const gateway = await ensureMlGateway(gatewayPort);
  if (gateway) {
    processes.add('ml-gateway', async () => {
      const kill = setTimeout(() => gateway.child.kill('SIGKILL'), 15_000);
      await gateway.stop('SIGTERM');
      clearTimeout(kill);
    });
  } else note('ml-gateway: one already answers on that port; using it (its CPU is not reported)');
  return gateway;
}

/**
 * The ml-gateway with its defaults on BENCH_ML_GATEWAY_PORT (started unless one answers there),
 * and the same code with BATCHING_ENABLED=false on a free port: the same-run baseline.
 */
async function startGateways(processes: Processes): Promise<Gateways> {
  const gateway = await defaultGateway(processes);
  const port = await freePort();
  note(`ml-gateway with BATCHING_ENABLED=false: starting on 127.0.0.1:${port}`);
  const child = startChild({
    name: UNBATCHED_GATEWAY,
    command: 'bash',
    args: [join(ML_GATEWAY_DIR, 'scripts/start.sh')],
    env: { HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'WARNING', BATCHING_ENABLED: 'false' },
  });
  processes.add(child.name, () => child.stop());
  const url = `http://127.0.0.1:${port}`;
  await pollUntil(
    `${UNBATCHED_GATEWAY} on ${url}`,
    async () => {
      const exit = child.exited();
      if (exit)
        throw new Error(`${UNBATCHED_GATEWAY} exited (${exit.code ?? exit.signal}):\n${child.output()}`);
      try {
        return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) })).ok ? true : undefined;
      } catch {
        return undefined;
      }
    },
    300_000,
  );
  return {
    url: `http://127.0.0.1:${gatewayPort}`,
    pid: gateway?.child.pid,
    unbatched: { url, pid: child.pid },
  };
}

interface GatewaySectionRun {
  result: GatewaySection;
  machine_before: Awaited<ReturnType<typeof quiet>>;
  gateway: string;
}

async function gatewaySection(g: Gateways): Promise<GatewaySectionRun> {
  const machineBefore = await quiet();
  const result = await measureGatewaySection({
    url: g.url,
    pid: g.pid,
    unbatched: g.unbatched,
    requests: gatewaySingleRequests,
    batchRequests: gatewayBatchRequests,
    batchSize: gatewayBatchSize,
    concurrency: gatewayConcurrency,
    rounds: gatewayRounds,
  });
  return {
    result,
    machine_before: machineBefore,
    gateway:
      g.pid === undefined
        ? 'already running, reused'
        : 'started by the benchmark (services/ml-gateway/scripts/start.sh)',
  };
}

function printGateway(r: GatewaySection): void {
  const row = (name: string, g: GatewayRun) => ({
    gateway: name,
    'instances/request': g.instances_per_request,
    requests: g.requests,
    'instances/s': g.instances_per_s,
    'p50 ms': g.latency_p50_ms,
    'p99 ms': g.latency_p99_ms,
    'gateway CPU us/req': g.cpu.gateway_us_per_request,
    'gateway cores': g.cpu.gateway_cores,
    'client CPU us/req': g.cpu.client_us_per_request,
    'client cores': g.cpu.client_cores,
    'other procs cores': g.cpu.other_processes_cores,
  });
  printTable(
    `ml-gateway POST /v1/models/iris/predict, ${gatewayConcurrency} requests in flight (autocannon, keep-alive); single-instance rounds alternate`,
    [
      ...r.rounds.flatMap((round, i) => [
        row(`defaults, round ${i + 1}`, round.batched),
        row(`BATCHING_ENABLED=false, round ${i + 1}`, round.unbatched),
      ]),
      row('defaults (median round)', r.single),
      row('BATCHING_ENABLED=false (median round)', r.single_unbatched),
      row('defaults', r.batch),
    ],
  );
  printTable('ml-gateway ratios and target', [
    {
      metric: 'ratio_gateway_single_vs_unbatched (instances/s)',
      value: r.ratio_single_vs_unbatched,
      target: '-',
      met: '-',
    },
    {
      metric: 'ratio_gateway_batch_vs_single (instances/s)',
      value: r.ratio_batch_vs_single,
      target: '-',
      met: '-',
    },
    {
      metric: 'gateway_single_instances_per_s',
      value: r.single.instances_per_s,
      target: `>= ${GATEWAY_SINGLE_BASELINE_INSTANCES_PER_S * 10}`,
      met: r.single.instances_per_s >= GATEWAY_SINGLE_BASELINE_INSTANCES_PER_S * 10 ? 'yes' : 'NO',
    },
  ]);
}

/** The gateway section's fields of queue.json (a gateway-only run replaces just these). */
function gatewayFields(run: GatewaySectionRun) {
  const r = run.result;
  return {
    gateway_parameters: {
      gateway_single_requests: gatewaySingleRequests,
      gateway_rounds: gatewayRounds,
      gateway_batch_requests: gatewayBatchRequests,
      gateway_batch_size: gatewayBatchSize,
      gateway_concurrency: gatewayConcurrency,
      ml_gateway: run.gateway,
      client:
        'autocannon in the benchmark process (keep-alive, one request in flight per connection); every response checked: 200 with one prediction per instance',
      baseline:
        'the same ml-gateway code with BATCHING_ENABLED=false (one model call per request), started by the benchmark, in alternating rounds of the same run',
    },
    gateway_single_instances_per_s: r.single.instances_per_s,
    gateway_single_instances_per_s_unbatched: r.single_unbatched.instances_per_s,
    ratio_gateway_single_vs_unbatched: r.ratio_single_vs_unbatched,
    gateway_batch_instances_per_s: r.batch.instances_per_s,
    ratio_gateway_batch_vs_single: r.ratio_batch_vs_single,
    gateway: { ...r, machine_before: run.machine_before },
    gateway_targets: {
      gateway_single_instances_per_s: {
        target: `>= ${GATEWAY_SINGLE_BASELINE_INSTANCES_PER_S * 10} (10x ${GATEWAY_SINGLE_BASELINE_INSTANCES_PER_S})`,
        value: r.single.instances_per_s,
        met: r.single.instances_per_s >= GATEWAY_SINGLE_BASELINE_INSTANCES_PER_S * 10,
      },
    },
  };
}

async function main(): Promise<void> {
  const processes = new Processes();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      note(`${signal}: stopping every process the benchmark started`);
      void processes.stopAll().finally(() => process.exit(130));
    });
  }
  // One connection holds the lock that keeps benchmarks sharing the database from overlapping.
  const db = createDatabase({ url: databaseUrl, poolMax: 3, applicationName: 'bench-queue' });
  const redis = new Redis(queueRedisUrl, { maxRetriesPerRequest: 1 });
  try {
    await exclusiveBenchRun(db, 'queue', () => run(db, redis, processes));
  } finally {
    await processes.stopAll();
    await redis.flushdb().catch(() => undefined);
    redis.disconnect();
    await db.destroy();
  }
}

async function run(db: Database, redis: Redis, processes: Processes): Promise<void> {
  const endpoint = redisEndpoint(queueRedisUrl);
  if (!existsSync(CELERY)) {
    throw new Error(
      `${CELERY} is missing: set up the ml-gateway's virtualenv (bash services/ml-gateway/scripts/setup-venv.sh)`,
    );
  }
  const { rows } = await db.raw<{ rows: Array<{ v: string }> }>(
    "select current_setting('server_version') as v",
  );
  const postgresVersion = rows[0]?.v ?? 'unknown';
  const redisVersion = /^redis_version:(\S+)/m.exec(await redis.info('server'))?.[1] ?? 'unknown';

  if (onlyE2e) {
    await e2eSection(db, redis, processes, postgresVersion);
    return;
  }
  if (onlyGateway) {
    const gateway = await startGateways(processes);
    const section = await gatewaySection(gateway);
    await processes.stopAll();
    printGateway(section.result);
    const previous = JSON.parse(await readFile(join(RESULTS_DIR, 'queue.json'), 'utf8').catch(() => '{}'));
    const path = await writeResult('queue', {
      ...previous,
      gateway_machine: machineInfo({ postgres_version: postgresVersion }),
      ...gatewayFields(section),
    });
    note(`wrote ${path}`);
    return;
  }

  // 1. Redis's ceiling, from its own benchmark tool (in this Redis database; bounded by -n).
  const redisBench: Record<string, RedisBenchmarkResult> = {};
  const base = ['-h', endpoint.host, '-p', endpoint.port, '--dbnum', endpoint.db];
  const redisBenchQuiet = await quiet();
  note(`redis-benchmark: ${redisBenchmarkRequests} LPUSH and RPOP, 50 clients`);
  redisBench.clients_50 = await runRedisBenchmark([
    ...base,
    '-n',
    String(redisBenchmarkRequests),
    '-t',
    'lpush,rpop',
    '-q',
    '--csv',
  ]);
  const oneClientRequests = Math.max(1000, Math.round(redisBenchmarkRequests / 4));
  note(`redis-benchmark: ${oneClientRequests} LPUSH and RPOP, 1 client (one round trip at a time)`);
  redisBench.client_1 = await runRedisBenchmark([
    ...base,
    '-c',
    '1',
    '-n',
    String(oneClientRequests),
    '-t',
    'lpush,rpop',
    '-q',
    '--csv',
  ]);
  await redis.flushdb();

  // 2. The engine's reserve step alone (the Lua pop-and-record), one at a time and C at a time.
  note(`reserve ceiling: ${reserveMessages} reserves, 1 then ${concurrency} in flight`);
  const reserve: ReserveCeiling[] = [
    await reserveCeiling(redis, NOOP_QUEUE, reserveMessages, 1),
    await reserveCeiling(redis, NOOP_QUEUE, reserveMessages, concurrency),
  ];

  // Recovery: outbox pick-up beside direct publishing; redelivery after a worker is SIGKILLed.
  const recovery = await recoverySection(db, redis, processes);
  if (onlyRecovery) {
    printRecovery(recovery);
    const path = await writeResult('queue-recovery', {
      benchmark: 'queue-recovery',
      machine: machineInfo({ postgres_version: postgresVersion }),
      parameters: {
        pickup_samples: pickupSamples,
        pickup_rate_per_s: pickupRate,
        redelivery_kills: redeliveryKills,
        redelivery_tasks: redeliveryTasks,
      },
      ...recoveryFields(recovery),
    });
    note(`wrote ${path}`);
    return;
  }

  // 3. The no-op task through each worker, one process each, concurrency C, late acks.
  const params: NoopParams = {
    queue: NOOP_QUEUE,
    tasks,
    latencyTasks,
    latencyRate,
    pollMs,
    throughputTimeoutMs: 60_000 + tasks * 5,
    waitForQuiet: quiet,
  };
  // Rounds alternate which worker goes first; the figures are the medians of the rounds.
  const tsRuns: NoopResult[] = [];
  const celeryRuns: NoopResult[] = [];
  for (let r = 1; r <= rounds; r++) {
    const tsRun = async () => {
      const label = `TypeScript worker, round ${r}/${rounds}`;
      tsRuns.push(await runWorker(label, redis, params, processes, () => startTsWorker(label)));
    };
    const celeryRun = async () => {
      const label = `Celery worker, round ${r}/${rounds}`;
      celeryRuns.push(await runWorker(label, redis, params, processes, () => startCeleryWorker(label)));
    };
    for (const step of r % 2 === 1 ? [tsRun, celeryRun] : [celeryRun, tsRun]) await step();
  }
  const ts = summarizeNoop('TypeScript worker', tsRuns);
  const celery = summarizeNoop('Celery worker', celeryRuns);
  // Experiment (BENCH_AUTOPIPELINING=1): the same engine on a connection with enableAutoPipelining.
  const tsAutopipelining = autopipelining
    ? summarizeNoop('TypeScript worker, autopipelining (1 round)', [
        await runWorker('TypeScript worker, autopipelining', redis, params, processes, () =>
          startTsWorker('TypeScript worker, autopipelining', { BENCH_TS_AUTOPIPELINING: '1' }),
        ),
      ])
    : undefined;
  const profiled = profile ? await profileTsWorker(redis, params, processes) : undefined;
  await redis.flushdb();

  // 4. ml-gateway: single-instance requests (defaults, and batching off in the same run), batched requests.
  const gateway = await startGateways(processes);
  const gatewayRun = await gatewaySection(gateway);
  await processes.stop(UNBATCHED_GATEWAY);
  const gatewayUrl = gateway.url;

  // 5. End to end: API -> queue -> worker app -> ml-gateway.
  const e2e: E2eResult = await runE2e({
    db,
    redis,
    redisUrl: queueRedisUrl,
    databaseUrl,
    mlGatewayUrl: gatewayUrl,
    mlGatewayPid: gateway.pid,
    predictions,
    warmup: e2eWarmup,
    inFlight: e2eInFlight,
    workerConcurrency: concurrency,
    databaseWaitMs: databaseWaitS * 1000,
    processes,
    waitForQuiet: quiet,
    drain: 0,
  });
  await processes.stopAll();

  // Tables.
  const ratio = ts.tasks_per_s / celery.tasks_per_s;
  const targetMet = ratio >= TARGET_RATIO_TS_VS_CELERY;
  const summaryRow = (r: NoopSummary) => ({
    worker: r.worker,
    'tasks/s': r.tasks_per_s,
    'worker CPU us/task': r.worker_cpu_us_per_task,
    'worker cores': r.worker_cores_busy,
    'redis CPU us/task': r.redis_cpu_us_per_task,
    'redis cmds/task': r.redis_commands_per_task,
    'pick-up p50 ms': r.pickup_p50_ms,
    'pick-up p99 ms': r.pickup_p99_ms,
    'done p50 ms': r.done_p50_ms,
    'done p99 ms': r.done_p99_ms,
  });
  printTable(
    `No-op task '${NOOP_QUEUE}': one worker process each, concurrency ${concurrency}, late acks; ${tasks} pre-filled tasks, then ${latencyTasks} at ${latencyRate}/s; medians of ${rounds} round(s)`,
    [summaryRow(ts), summaryRow(celery), ...(tsAutopipelining ? [summaryRow(tsAutopipelining)] : [])],
  );
  const roundRow = (r: NoopResult) => ({
    run: r.worker,
    'tasks/s': r.throughput.tasks_per_s,
    'measured tasks': r.throughput.tasks_measured,
    s: r.throughput.measured_s,
    'start-up s': r.throughput.startup_s,
    'worker CPU us/task': r.throughput.worker_cpu_us_per_task,
    'worker cores': r.throughput.worker_cores_busy,
    'redis cores': r.throughput.redis_cores_busy,
    'other procs cores': r.throughput.other_processes_cores,
    'pick-up p50 ms': r.latency.pickup.p50_ms,
    'pick-up p99 ms': r.latency.pickup.p99_ms,
  });
  printTable('Every run (other procs cores: CPU of everything else on the machine meanwhile)', [
    ...[...ts.runs, ...celery.runs, ...(tsAutopipelining?.runs ?? [])].map(roundRow),
    ...(profiled ? [roundRow(profiled.run)] : []),
  ]);
  const names = [
    ...new Set([...Object.keys(ts.commands_per_task), ...Object.keys(celery.commands_per_task)]),
  ];
  printTable(
    'Redis commands per task (INFO commandstats, server-wide; commands run inside Lua scripts count too)',
    names
      .map((name) => ({
        command: name,
        typescript: ts.commands_per_task[name] ?? 0,
        celery: celery.commands_per_task[name] ?? 0,
      }))
      // Start-up and housekeeping commands (well under one per 100 tasks) are in the JSON only.
      .filter((row) => row.typescript >= 0.01 || row.celery >= 0.01),
  );
  printTable('Redis ceiling (redis-benchmark) and the engine reserve step alone', [
    ...Object.entries(redisBench).flatMap(([clients, r]) =>
      Object.entries(r.rps).map(([test, rps]) => ({
        what: `redis-benchmark ${test}, ${clients.replace('_', ' ')}`,
        'ops/s': rps,
        'p50 ms': r.p50_latency_ms[test],
      })),
    ),
    ...reserve.map((r) => ({
      what: `KombuRedisTransport.reserve (Lua), ${r.in_flight} in flight`,
      'ops/s': r.reserves_per_s,
      'p50 ms': null,
    })),
  ]);
  if (profiled) {
    printTable(
      `TypeScript worker CPU profile: self time by area (busy ${profiled.summary.busy_ms} ms; ${profiled.tasks_per_s_while_profiled} tasks/s while profiled; socket writes/task ${profiled.socket_writes_per_task})`,
      profiled.summary.by_area.map((r) => ({ area: r.name, ms: r.ms, '% busy': r.pct_busy })),
    );
    printTable(
      'TypeScript worker CPU profile: top self time',
      profiled.summary.top_self.map((r) => ({ function: r.name, ms: r.ms, '% busy': r.pct_busy })),
    );
    printTable(
      'TypeScript worker CPU profile: inclusive time of engine and @platform/celery functions',
      profiled.summary.top_inclusive_platform.map((r) => ({
        function: r.name,
        ms: r.ms,
        '% busy': r.pct_busy,
      })),
    );
  }
  printGateway(gatewayRun.result);
  printTable(
    `End to end: API -> queue -> worker app -> ml-gateway (${predictions} predictions, ${e2eInFlight} POSTs in flight)`,
    [
      {
        'predictions/s': e2e.predictions_per_s,
        s: e2e.seconds,
        'POST 202/s': e2e.posts_per_s,
        'POST p50 ms': e2e.post_latency_p50_ms,
        'created->completed p50 ms': e2e.prediction_latency_p50_ms,
        'created->completed p99 ms': e2e.prediction_latency_p99_ms,
        'predictions/s (db clock)': e2e.predictions_per_s_db_clock,
      },
    ],
  );
  printTable(
    'CPU per prediction (us) and cores busy during the end-to-end run',
    Object.keys(e2e.cpu_us_per_prediction).map((k) => ({
      process: k,
      'CPU us/prediction': e2e.cpu_us_per_prediction[k],
      cores: e2e.cores_busy[k],
    })),
  );
  printTable('Ratios and target', [
    {
      metric: 'ratio_ts_vs_celery (tasks/s)',
      value: round(ratio, 3),
      target: `>= ${TARGET_RATIO_TS_VS_CELERY}`,
      met: targetMet ? 'yes' : 'NO',
    },
  ]);

  printRecovery(recovery);
  const path = await writeResult('queue', {
    benchmark: 'queue',
    machine: machineInfo({ postgres_version: postgresVersion }),
    redis_version: redisVersion,
    parameters: {
      tasks,
      rounds,
      concurrency,
      latency_tasks: latencyTasks,
      latency_rate_per_s: latencyRate,
      poll_ms: pollMs,
      worker_log_level: workerLogLevel,
      profile,
      autopipelining_experiment: autopipelining,
      queue: NOOP_QUEUE,
      queue_redis_url: redactUrl(queueRedisUrl),
      redis_benchmark_requests: redisBenchmarkRequests,
      reserve_messages: reserveMessages,
      predictions,
      e2e_in_flight: e2eInFlight,
      e2e_warmup: e2eWarmup,
      ml_gateway_url: gatewayUrl,
      database_url: redactUrl(databaseUrl),
      ts_worker: `node --conditions=source --import tsx bench/queue/ts-worker.ts (Worker of @platform/worker, catalog [bench.noop], concurrency ${concurrency}, other options the engine defaults)`,
      celery_worker: `services/ml-gateway/.venv/bin/celery ${CELERY_ARGS.join(' ')} (cwd bench/queue; task_acks_late, worker_prefetch_multiplier=1, JSON)`,
      throughput_method:
        'queue pre-filled with pipelined LPUSH of buildEnvelope messages; worker started; clock from the first poll seeing a task acknowledged (LLEN + HLEN unacked < N) to the first poll seeing LLEN = 0 and HLEN unacked = 0; tasks/s = tasks left at the start / elapsed',
      latency_method:
        'worker idle and warm; tasks LPUSHed at a fixed rate carrying sent_mono_ms (CLOCK_MONOTONIC) and sent_wall_ms; pick-up = value returned by the no-op (CLOCK_MONOTONIC when it ran) - sent_mono_ms; done = date_done (result backend) - sent_wall_ms',
    },
    ts_tasks_per_s: ts.tasks_per_s,
    celery_tasks_per_s: celery.tasks_per_s,
    ratio_ts_vs_celery: round(ratio, 3),
    ts_latency_p50_ms: ts.pickup_p50_ms,
    ts_latency_p99_ms: ts.pickup_p99_ms,
    celery_latency_p50_ms: celery.pickup_p50_ms,
    celery_latency_p99_ms: celery.pickup_p99_ms,
    ts_done_latency_p50_ms: ts.done_p50_ms,
    ts_done_latency_p99_ms: ts.done_p99_ms,
    celery_done_latency_p50_ms: celery.done_p50_ms,
    celery_done_latency_p99_ms: celery.done_p99_ms,
    redis_lpush_per_s: redisBench.clients_50?.rps.LPUSH ?? null,
    redis_rpop_per_s: redisBench.clients_50?.rps.RPOP ?? null,
    redis_lpush_1_client_per_s: redisBench.client_1?.rps.LPUSH ?? null,
    redis_rpop_1_client_per_s: redisBench.client_1?.rps.RPOP ?? null,
    reserve_serial_per_s: reserve[0]?.reserves_per_s ?? null,
    reserve_parallel_per_s: reserve[1]?.reserves_per_s ?? null,
    e2e_predictions_per_s: e2e.predictions_per_s,
    ...recoveryFields(recovery),
    ...gatewayFields(gatewayRun),
    workers: {
      typescript: ts,
      celery,
      ...(tsAutopipelining ? { typescript_autopipelining: tsAutopipelining } : {}),
    },
    redis_benchmark: { ...redisBench, machine_before: redisBenchQuiet },
    reserve_ceiling: reserve,
    ...(profiled ? { ts_worker_profile: profiled } : {}),
    e2e,
    targets: {
      ratio_ts_vs_celery: {
        target: `>= ${TARGET_RATIO_TS_VS_CELERY}`,
        value: round(ratio, 3),
        met: targetMet,
      },
    },
  });
  note(`wrote ${path}`);
}

async function e2eSection(
  db: Database,
  redis: Redis,
  processes: Processes,
  postgresVersion: string,
): Promise<void> {
  const gateway = await defaultGateway(processes);
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const gatewayQuiet = await quiet();
  const gatewaySingle = await measureGateway({
    url: gatewayUrl,
    model: 'iris',
    instancesPerRequest: 1,
    requests: gatewaySingleRequests,
    concurrency: gatewayConcurrency,
    warmup: 50,
  });
  const e2eRun = (label: string, workerEnv: Record<string, string>) =>
    runE2e({
      db,
      redis,
      redisUrl: queueRedisUrl,
      databaseUrl,
      mlGatewayUrl: gatewayUrl,
      mlGatewayPid: gateway?.child.pid,
      predictions,
      warmup: e2eWarmup,
      inFlight: e2eInFlight,
      workerConcurrency: concurrency,
      databaseWaitMs: databaseWaitS * 1000,
      processes,
      waitForQuiet: quiet,
      workerEnv,
      label,
      drain: drainPredictions,
    });
  // Unbatched first, then batched: the same API, database and ml-gateway, one after the other.
  const unbatched = await e2eRun('unbatched', { WORKER_BATCH_SIZE: '1' });
  const batched = await e2eRun('batched', {});
  await processes.stopAll();

  const row = (name: string, e: E2eResult) => ({
    worker: name,
    'predictions/s': e.predictions_per_s,
    'POST 202/s': e.posts_per_s,
    'created->completed p50 ms': e.prediction_latency_p50_ms,
    'created->completed p99 ms': e.prediction_latency_p99_ms,
    'platform CPU us/prediction': e.cpu_us_per_prediction_platform,
    'other procs cores': e.cores_busy.other_processes ?? null,
  });
  printTable(
    `End to end: API -> outbox -> queue -> worker app -> ml-gateway (${predictions} predictions, ${e2eInFlight} POSTs in flight)`,
    [row('unbatched (WORKER_BATCH_SIZE=1)', unbatched), row('batched (defaults)', batched)],
  );
  printTable(
    'CPU per prediction (us) by process, unbatched and batched',
    Object.keys(batched.cpu_us_per_prediction).map((k) => ({
      process: k,
      unbatched: unbatched.cpu_us_per_prediction[k] ?? null,
      batched: batched.cpu_us_per_prediction[k] ?? null,
    })),
  );
  const drainRow = (name: string, e: E2eResult) => ({
    worker: name,
    'predictions/s (db clock)': e.drain?.predictions_per_s_db_clock ?? null,
    'worker CPU us/prediction': e.drain?.worker_cpu_us_per_prediction ?? null,
    'ml-gateway CPU us/prediction': e.drain?.ml_gateway_cpu_us_per_prediction ?? null,
    'other procs cores': e.drain?.other_processes_cores ?? null,
  });
  printTable(
    `Drain: ${drainPredictions} predictions queued (rows and outbox entries) before the worker app starts`,
    [drainRow('unbatched (WORKER_BATCH_SIZE=1)', unbatched), drainRow('batched (defaults)', batched)],
  );
  const targets = {
    e2e_predictions_per_s: {
      target: `>= ${TARGET_E2E_PREDICTIONS_PER_S}`,
      value: batched.predictions_per_s,
      met: batched.predictions_per_s >= TARGET_E2E_PREDICTIONS_PER_S,
    },
    e2e_cpu_us_per_prediction: {
      target: `<= ${TARGET_E2E_CPU_US_PER_PREDICTION}`,
      value: batched.cpu_us_per_prediction_platform,
      met: batched.cpu_us_per_prediction_platform <= TARGET_E2E_CPU_US_PER_PREDICTION,
    },
    prediction_latency_p99_ms: {
      target: `<= unbatched (${unbatched.prediction_latency_p99_ms})`,
      value: batched.prediction_latency_p99_ms,
      met: batched.prediction_latency_p99_ms <= unbatched.prediction_latency_p99_ms,
    },
  };
  printTable(
    'Targets',
    Object.entries(targets).map(([metric, t]) => ({
      metric,
      value: t.value,
      target: t.target,
      met: t.met ? 'yes' : 'NO',
    })),
  );
  const previous = JSON.parse(await readFile(join(RESULTS_DIR, 'queue.json'), 'utf8').catch(() => '{}'));
  const path = await writeResult('queue', {
    ...previous,
    e2e_machine: machineInfo({ postgres_version: postgresVersion }),
    e2e_parameters: {
      predictions,
      e2e_in_flight: e2eInFlight,
      e2e_warmup: e2eWarmup,
      worker_concurrency: concurrency,
      gateway_single_requests: gatewaySingleRequests,
      gateway_concurrency: gatewayConcurrency,
      drain_predictions: drainPredictions,
      baseline:
        'the same worker app with WORKER_BATCH_SIZE=1 (one ml-gateway call per prediction), in the same run',
    },
    e2e_predictions_per_s: batched.predictions_per_s,
    e2e_predictions_per_s_unbatched: unbatched.predictions_per_s,
    drain_predictions_per_s: batched.drain?.predictions_per_s_db_clock ?? null,
    drain_predictions_per_s_unbatched: unbatched.drain?.predictions_per_s_db_clock ?? null,
    drain_worker_cpu_us_per_prediction: batched.drain?.worker_cpu_us_per_prediction ?? null,
    drain_worker_cpu_us_per_prediction_unbatched: unbatched.drain?.worker_cpu_us_per_prediction ?? null,
    drain_ml_gateway_cpu_us_per_prediction: batched.drain?.ml_gateway_cpu_us_per_prediction ?? null,
    drain_ml_gateway_cpu_us_per_prediction_unbatched:
      unbatched.drain?.ml_gateway_cpu_us_per_prediction ?? null,
    ratio_e2e_batched_vs_unbatched: round(batched.predictions_per_s / unbatched.predictions_per_s, 2),
    prediction_latency_p99_ms: batched.prediction_latency_p99_ms,
    prediction_latency_p99_ms_unbatched: unbatched.prediction_latency_p99_ms,
    e2e_cpu_us_per_prediction: batched.cpu_us_per_prediction_platform,
    e2e_cpu_us_per_prediction_unbatched: unbatched.cpu_us_per_prediction_platform,
    // gateway_single_instances_per_s and its target belong to the gateway section
    // (BENCH_SECTIONS=gateway, with its same-run unbatched baseline); this run's figure is kept
    // beside the end-to-end figures only.
    gateway_single_e2e_run: { ...gatewaySingle, machine_before: gatewayQuiet },
    e2e: batched,
    e2e_unbatched: unbatched,
    e2e_targets: targets,
  });
  note(`wrote ${path}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
