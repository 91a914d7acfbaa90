/**
 * Noisy neighbour: what tenant B sees while tenant A floods the platform, with the isolation of
 * the platform (rate limits and fair queueing) on, and the same flood with both off, in one run.
 *
 * Tenant B sends `GET /v1/users/{id}` at a fixed rate and one prediction every 100 ms, first alone
 * (baseline), then while tenant A reads at 64 connections as fast as answers come and posts
 * predictions (up to 20,000) from a process of its own. The API, the worker app and the ml-gateway
 * each run in their own process; B's prediction round trip is from just before its POST to the
 * prediction's `completed_at` (the same machine clock).
 *
 * Runs vary on a shared 2-core machine, so each mode (baseline and flood) is run `BENCH_REPEATS`
 * times, the modes interleaved (on, off, on, off, ...); the result is the median of the runs, with
 * the lowest and highest, and the CPU each process took in each phase (cores), so that what B
 * waits for is visible.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createDatabase, type Database, quoteIdent, schemaForSlug } from '@platform/core';
import { ensureMlGateway, resetTestDatabase } from '@platform/core/testing';
import { Redis } from 'ioredis';
import { benchDatabaseUrl, intFromEnv, redactUrl } from './lib/env.js';
import { exclusiveBenchRun } from './lib/exclusive.js';
import { call, createFixtureViaApi, type Fixture, REPO_ROOT, startPlatformApi } from './lib/platform-api.js';
import { machineInfo, writeResult } from './lib/results.js';
import { freePort } from './lib/server-process.js';
import { percentile, round } from './lib/stats.js';
import { note, printTable } from './lib/table.js';
import {
  type CpuProbe,
  endCpuWindow,
  listeningPids,
  processTree,
  startCpuWindow,
} from './noisy-neighbour/cpu.js';
import { type Child, Processes, startChild, waitForChild } from './queue/processes.js';

const TARGETS = { b_read_p99_ratio: 1.5, b_prediction_p99_ms_under_flood: 2000, b_prediction_p99_ratio: 3 };

const phaseSeconds = intFromEnv('BENCH_PHASE_S', 20);
const repeats = intFromEnv('BENCH_REPEATS', 3);
const bReadRate = intFromEnv('BENCH_B_READ_RATE', 50);
const bPredictionEveryMs = intFromEnv('BENCH_B_PREDICTION_EVERY_MS', 100);
const floodReadConnections = intFromEnv('BENCH_FLOOD_READ_CONNECTIONS', 64);
const floodPostConnections = intFromEnv('BENCH_FLOOD_POST_CONNECTIONS', 16);
const floodPredictions = intFromEnv('BENCH_FLOOD_PREDICTIONS', 20_000);
/** How long B's last predictions may take to finish after a phase; later ones count as this long. */
const drainWaitSeconds = intFromEnv('BENCH_DRAIN_WAIT_S', 30);
const workerConcurrency = intFromEnv('BENCH_WORKER_CONCURRENCY', 4);
const gatewayPort = intFromEnv('BENCH_ML_GATEWAY_PORT', 18005);
const databaseUrl = benchDatabaseUrl();
const redisUrl = process.env.BENCH_NOISY_REDIS_URL ?? 'redis://127.0.0.1:6379/7';
if (/\/0?$/.test(new URL(redisUrl).pathname))
  throw new Error('BENCH_NOISY_REDIS_URL must name a database of its own (not /0): it is flushed');

const TSX_LOADER = import.meta.resolve('tsx');
const WORKER_MAIN = `${REPO_ROOT}services/worker/dist/main.js`;
const FLOOD = fileURLToPath(new URL('./noisy-neighbour/flood.ts', import.meta.url));
const IRIS_SETOSA = [5.1, 3.5, 1.4, 0.2];

interface Mode {
  name: 'isolation_on' | 'isolation_off';
  rateLimits: 'on' | 'off';
  fairQueueing: 'on' | 'off';
  /** The API's `TENANT_CONCURRENCY` (0: off); on uses the API's default. */
  tenantConcurrency?: string;
}
const ALL_MODES: Mode[] = [
  { name: 'isolation_on', rateLimits: 'on', fairQueueing: 'on' },
  { name: 'isolation_off', rateLimits: 'off', fairQueueing: 'off', tenantConcurrency: '0' },
];
/** `BENCH_MODES` (e.g. `isolation_on`): only these modes, for a look at one; the result needs both. */
const MODES = process.env.BENCH_MODES
  ? ALL_MODES.filter((m) => (process.env.BENCH_MODES as string).split(',').includes(m.name))
  : ALL_MODES;
if (MODES.length === 0)
  throw new Error(`BENCH_MODES names none of ${ALL_MODES.map((m) => m.name).join(', ')}`);
/** `BENCH_B_TRACE_FILE`: each of B's reads (mode, phase, sent at, ms) appended to it as a JSON line. */
const traceFile = process.env.BENCH_B_TRACE_FILE;

interface BTraffic {
  readMs: number[];
  /** Each 200 read: when it was sent (epoch ms) and its round trip (ms), for `BENCH_B_TRACE_FILE`. */
  reads: Array<[sentAt: number, ms: number]>;
  readStatuses: Record<string, number>;
  posts: Array<{ id?: string; sentAt: number; status: string }>;
}

const bump = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/** B's open-loop traffic for `seconds`: reads at a fixed rate, a prediction every interval. */
async function runB(url: string, b: Fixture, seconds: number): Promise<BTraffic> {
  const traffic: BTraffic = { readMs: [], reads: [], readStatuses: {}, posts: [] };
  const inFlight: Promise<void>[] = [];
  const headers = { authorization: `Bearer ${b.key}` };
  const read = async () => {
    const sentAt = Date.now();
    const started = performance.now();
    try {
      const res = await fetch(`${url}/v1/users/${b.userId}`, {
        headers,
        signal: AbortSignal.timeout(15_000),
      });
      await res.arrayBuffer();
      bump(traffic.readStatuses, String(res.status));
      if (res.status === 200) {
        const ms = performance.now() - started;
        traffic.readMs.push(ms);
        traffic.reads.push([sentAt, ms]);
      }
    } catch {
      bump(traffic.readStatuses, 'error');
    }
  };
  const post = async () => {
    const sentAt = Date.now();
    const entry: BTraffic['posts'][number] = { sentAt, status: 'error' };
    traffic.posts.push(entry);
    try {
      const res = await fetch(`${url}/v1/predictions`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'iris', inputs: [IRIS_SETOSA] }),
        signal: AbortSignal.timeout(15_000),
      });
      const body = (await res.json()) as { id?: string };
      entry.status = String(res.status);
      if (res.status === 202) entry.id = body.id;
    } catch {
      // counted as 'error'
    }
  };
  const timers = [
    setInterval(() => inFlight.push(read()), 1000 / bReadRate),
    setInterval(() => inFlight.push(post()), bPredictionEveryMs),
  ];
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  for (const t of timers) clearInterval(t);
  await Promise.all(inFlight);
  return traffic;
}

/** Round trips of B's predictions (POST sent -> completed_at); unfinished ones count as censored. */
async function predictionRoundTrips(
  db: Database,
  schema: string,
  posts: BTraffic['posts'],
): Promise<{ ms: number[]; unfinished: number }> {
  const ids = posts.flatMap((p) => (p.id ? [p.id] : []));
  const deadline = Date.now() + drainWaitSeconds * 1000;
  let rows: Array<{ id: string; done: number | null }> = [];
  for (;;) {
    ({ rows } = await db.raw<{ rows: Array<{ id: string; done: number | null }> }>(
      `select id, extract(epoch from completed_at) * 1000 as done
         from ${quoteIdent(schema)}.predictions where id = any(?::uuid[])`,
      [ids],
    ));
    if (rows.every((r) => r.done !== null) || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const done = new Map(rows.map((r) => [r.id, r.done === null ? null : Number(r.done)]));
  const now = Date.now();
  let unfinished = 0;
  const ms = posts.flatMap((p) => {
    if (!p.id) return [];
    const at = done.get(p.id);
    if (at === null || at === undefined) unfinished++;
    return [(at ?? now) - p.sentAt];
  });
  return { ms, unfinished };
}

function count5xx(...maps: Array<Record<string, number>>): number {
  return maps.reduce(
    (sum, m) => sum + Object.entries(m).reduce((s, [k, n]) => s + (/^5\d\d$/.test(k) ? n : 0), 0),
    0,
  );
}

interface FloodReport {
  reads: Record<string, number>;
  posts: Record<string, number>;
  post_429_codes: Record<string, number>;
  attempted: number;
  cpu_ms: number;
}

/** Pids of the PostgreSQL backends on the bench database (the API's, the worker's and the bench's own). */
function benchBackends(db: Database): () => Promise<number[]> {
  return async () => {
    const { rows } = await db.raw<{ rows: Array<{ pid: number }> }>(
      'select pid from pg_stat_activity where datname = current_database()',
    );
    return rows.map((r) => r.pid);
  };
}

type Run = Awaited<ReturnType<typeof runMode>>;

/** Median, lowest and highest of one field over the runs. */
interface Spread {
  median: number;
  min: number;
  max: number;
}
const median = (values: number[]) => round(percentile(values, 50), 2);
function spread(runs: Run[], pick: (r: Run) => number): Spread {
  const values = runs.map(pick).filter((v) => Number.isFinite(v));
  return {
    median: median(values),
    min: round(Math.min(...values), 2),
    max: round(Math.max(...values), 2),
  };
}

/** The fields compared across runs, with their median and spread. */
const FIELDS = {
  b_read_p99_ms_baseline: (r: Run) => r.b_read_p99_ms_baseline,
  b_read_p99_ms_under_flood: (r: Run) => r.b_read_p99_ms_under_flood,
  b_read_p99_ratio: (r: Run) => r.b_read_p99_ratio,
  b_prediction_p99_ms_baseline: (r: Run) => r.b_prediction_p99_ms_baseline,
  b_prediction_p99_ms_under_flood: (r: Run) => r.b_prediction_p99_ms_under_flood,
  b_prediction_p99_ratio: (r: Run) => r.b_prediction_p99_ratio,
  b_predictions_unfinished: (r: Run) => r.b_predictions_unfinished,
  a_responses_429: (r: Run) => r.a_responses_429,
  a_predictions_accepted: (r: Run) => r.a_predictions_accepted,
  a_reads_200: (r: Run) => r.a_reads['200'] ?? 0,
  errors_5xx: (r: Run) => r.errors_5xx,
} as const;

function summary(runs: Run[]) {
  const fields = Object.fromEntries(
    Object.entries(FIELDS).map(([name, pick]) => [name, spread(runs, pick)]),
  ) as Record<keyof typeof FIELDS, Spread>;
  const cpu = (phase: 'baseline' | 'under_flood') => {
    const names = [...new Set(runs.flatMap((r) => Object.keys(r.cpu_cores[phase])))];
    return Object.fromEntries(names.map((n) => [n, median(runs.map((r) => r.cpu_cores[phase][n] ?? 0))]));
  };
  return {
    ...fields,
    // The worst run decides 5xx: any 5xx in any run counts.
    errors_5xx_total: runs.reduce((s, r) => s + r.errors_5xx, 0),
    cpu_cores_median: { baseline: cpu('baseline'), under_flood: cpu('under_flood') },
  };
}

async function runMode(mode: Mode, db: Database, redis: Redis, processes: Processes) {
  note(`${mode.name}: resetting ${redactUrl(databaseUrl)}, flushing ${redactUrl(redisUrl)}`);
  await resetTestDatabase(db);
  await redis.flushdb();
  const opsPort = await freePort();
  const worker = startChild({
    name: `worker (${mode.name})`,
    command: process.execPath,
    args: [WORKER_MAIN],
    env: {
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      ML_GATEWAY_URL: `http://127.0.0.1:${gatewayPort}`,
      WORKER_CONCURRENCY: String(workerConcurrency),
      DATABASE_POOL_MAX: String(workerConcurrency + 2),
      FAIR_QUEUEING: mode.fairQueueing,
      LOG_LEVEL: 'warn',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(opsPort),
      KUBERNETES: 'off',
    },
    cwd: `${REPO_ROOT}services/worker`,
  });
  processes.add(worker.name, () => worker.stop());
  await waitForChild(
    worker,
    'the worker to be ready',
    async () => {
      const res = await fetch(`http://127.0.0.1:${opsPort}/readyz`).catch(() => undefined);
      await res?.arrayBuffer();
      return res?.status === 200 ? true : undefined;
    },
    60_000,
  );
  const api = await startPlatformApi({
    databaseUrl,
    redisUrl,
    rateLimits: mode.rateLimits,
    env: {
      ML_GATEWAY_URL: `http://127.0.0.1:${gatewayPort}`,
      ...(mode.tenantConcurrency === undefined ? {} : { TENANT_CONCURRENCY: mode.tenantConcurrency }),
    },
  });
  processes.add(api.name, () => api.stop());
  const a = await createFixtureViaApi(api, 'noisy-a');
  const b = await createFixtureViaApi(api, 'noisy-b');
  const bSchema = schemaForSlug(b.slug);

  note(`${mode.name}: warm-up`);
  for (let i = 0; i < 20; i++)
    await call(api.url, b.key, 'POST', '/v1/predictions', 202, { model: 'iris', inputs: [IRIS_SETOSA] });
  await runB(api.url, b, 3);

  const redisPort = Number(new URL(redisUrl).port || 6379);
  const probes: CpuProbe[] = [
    { name: 'api', pids: () => [api.pid] },
    { name: 'worker', pids: () => processTree(worker.pid) },
    { name: 'ml_gateway', pids: () => listeningPids(gatewayPort).flatMap(processTree) },
    { name: 'postgres', pids: benchBackends(db) },
    // Redis is shared with the rest of the machine: its figure includes other clients.
    { name: 'redis', pids: () => listeningPids(redisPort) },
  ];

  note(`${mode.name}: baseline, B alone for ${phaseSeconds} s`);
  const loadBefore = loadavg()[0] as number;
  const baselineCpu = await startCpuWindow(probes);
  const baseline = await runB(api.url, b, phaseSeconds);
  const baselineCores = await endCpuWindow(baselineCpu);
  const baselineTrips = await predictionRoundTrips(db, bSchema, baseline.posts);

  note(
    `${mode.name}: flood, A at ${floodReadConnections} read connections and ${floodPostConnections} posting up to ${floodPredictions} predictions`,
  );
  const flood: Child = startChild({
    name: `flood (${mode.name})`,
    command: process.execPath,
    args: ['--import', TSX_LOADER, FLOOD],
    env: {
      BENCH_FLOOD_URL: api.url,
      BENCH_FLOOD_KEY: a.key,
      BENCH_FLOOD_USER_ID: a.userId,
      BENCH_FLOOD_READ_CONNECTIONS: String(floodReadConnections),
      BENCH_FLOOD_POST_CONNECTIONS: String(floodPostConnections),
      BENCH_FLOOD_PREDICTIONS: String(floodPredictions),
      BENCH_FLOOD_SECONDS: String(phaseSeconds + 60),
    },
    keepStdout: true,
  });
  processes.add(flood.name, () => flood.stop());
  await waitForChild(
    flood,
    'the flood to start',
    async () => (flood.output().includes('flood started') ? true : undefined),
    30_000,
  );
  // A short ramp, so that B is measured under the flood, not its start.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const floodCpu = await startCpuWindow([...probes, { name: 'flood_client', pids: () => [flood.pid] }]);
  const underFlood = await runB(api.url, b, phaseSeconds);
  const floodCores = await endCpuWindow(floodCpu);
  await processes.stop(flood.name);
  const floodLine = flood
    .output()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!floodLine) throw new Error(`the flood printed no report:\n${flood.output()}`);
  const report = JSON.parse(floodLine) as FloodReport;
  const floodTrips = await predictionRoundTrips(db, bSchema, underFlood.posts);
  const loadAfter = loadavg()[0] as number;
  const { rows: backlog } = await db.raw<{ rows: Array<{ n: number }> }>(
    `select count(*)::int as n from ${quoteIdent(schemaForSlug(a.slug))}.predictions where status in ('queued', 'running')`,
  );
  await processes.stop(api.name);
  await processes.stop(worker.name);
  if (traceFile) {
    const lines = (phase: string, t: BTraffic) =>
      t.reads.map(([sentAt, ms]) => JSON.stringify({ mode: mode.name, phase, sent_at: sentAt, ms }));
    appendFileSync(
      traceFile,
      `${[...lines('baseline', baseline), ...lines('under_flood', underFlood)].join('\n')}\n`,
    );
  }

  const p99 = (v: number[]) => round(percentile(v, 99), 1);
  const bPosts = (t: BTraffic) => {
    const statuses: Record<string, number> = {};
    for (const p of t.posts) bump(statuses, p.status);
    return statuses;
  };
  const result = {
    b_read_p99_ms_baseline: p99(baseline.readMs),
    b_read_p99_ms_under_flood: p99(underFlood.readMs),
    b_read_p99_ratio: round(percentile(underFlood.readMs, 99) / percentile(baseline.readMs, 99), 2),
    b_prediction_p99_ms_baseline: p99(baselineTrips.ms),
    b_prediction_p99_ms_under_flood: p99(floodTrips.ms),
    b_prediction_p99_ratio: round(percentile(floodTrips.ms, 99) / percentile(baselineTrips.ms, 99), 2),
    b_predictions_unfinished: baselineTrips.unfinished + floodTrips.unfinished,
    a_responses_429: (report.reads['429'] ?? 0) + (report.posts['429'] ?? 0),
    a_post_429_codes: report.post_429_codes,
    a_predictions_accepted: report.posts['202'] ?? 0,
    a_predictions_attempted: report.attempted,
    a_reads: report.reads,
    a_backlog_after_flood: backlog[0]?.n ?? 0,
    errors_5xx: count5xx(
      report.reads,
      report.posts,
      baseline.readStatuses,
      underFlood.readStatuses,
      bPosts(baseline),
      bPosts(underFlood),
    ),
    b_read_statuses: { baseline: baseline.readStatuses, under_flood: underFlood.readStatuses },
    b_post_statuses: { baseline: bPosts(baseline), under_flood: bPosts(underFlood) },
    b_samples: {
      reads_baseline: baseline.readMs.length,
      reads_under_flood: underFlood.readMs.length,
      predictions_baseline: baselineTrips.ms.length,
      predictions_under_flood: floodTrips.ms.length,
    },
    a_flood_client_cpu_ms: report.cpu_ms,
    cpu_cores: { baseline: baselineCores, under_flood: floodCores },
    load_average_1m: { before: round(loadBefore, 2), after: round(loadAfter, 2) },
    switches: {
      RATE_LIMITS: mode.rateLimits,
      FAIR_QUEUEING: mode.fairQueueing,
      TENANT_CONCURRENCY: mode.tenantConcurrency ?? 'default',
    },
  };
  return result;
}

async function main(): Promise<void> {
  if (!existsSync(WORKER_MAIN))
    throw new Error(`${WORKER_MAIN} is missing: build first (pnpm exec turbo run build)`);
  const db = createDatabase({ url: databaseUrl, poolMax: 4, applicationName: 'bench-noisy' });
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const processes = new Processes();
  const stopOnSignal = () => void processes.stopAll().finally(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    const gateway = await ensureMlGateway(gatewayPort);
    if (gateway) processes.add('ml-gateway', () => gateway.stop());
    const loadAtStart = loadavg().map((l) => round(l, 2));
    const runs = await exclusiveBenchRun(db, 'noisy-neighbour', async () => {
      const out: Record<Mode['name'], Run[]> = { isolation_on: [], isolation_off: [] };
      for (let i = 0; i < repeats; i++) {
        for (const mode of MODES) {
          note(`run ${i + 1} of ${repeats}`);
          out[mode.name].push(await runMode(mode, db, redis, processes));
        }
      }
      return out;
    });
    if (MODES.length < ALL_MODES.length) {
      // A look at some modes only: their runs, no result file (it compares both).
      printTable(
        'Noisy neighbour, some modes only (p99 in ms; not written)',
        MODES.flatMap((m) =>
          runs[m.name].map((r) => ({
            isolation: m.name,
            ...Object.fromEntries(Object.entries(FIELDS).map(([name, pick]) => [name, pick(r)])),
          })),
        ),
      );
      return;
    }
    const on = summary(runs.isolation_on);
    const off = summary(runs.isolation_off);
    const row = (name: string, r: typeof on) => ({
      isolation: name,
      b_read_p99_ms_base: r.b_read_p99_ms_baseline.median,
      b_read_p99_ms_flood: r.b_read_p99_ms_under_flood.median,
      b_read_p99_ratio: r.b_read_p99_ratio.median,
      'read_ratio_min-max': `${r.b_read_p99_ratio.min}-${r.b_read_p99_ratio.max}`,
      b_pred_p99_ms_base: r.b_prediction_p99_ms_baseline.median,
      b_pred_p99_ms_flood: r.b_prediction_p99_ms_under_flood.median,
      b_pred_p99_ratio: r.b_prediction_p99_ratio.median,
      'pred_ratio_min-max': `${r.b_prediction_p99_ratio.min}-${r.b_prediction_p99_ratio.max}`,
      a_429: r.a_responses_429.median,
      a_accepted: r.a_predictions_accepted.median,
      errors_5xx: r.errors_5xx_total,
    });
    printTable(`Noisy neighbour: tenant B while tenant A floods (p99 in ms; median of ${repeats} runs)`, [
      row('on', on),
      row('off', off),
      {
        isolation: 'target (on)',
        b_read_p99_ratio: TARGETS.b_read_p99_ratio,
        b_pred_p99_ms_flood: TARGETS.b_prediction_p99_ms_under_flood,
        b_pred_p99_ratio: TARGETS.b_prediction_p99_ratio,
        errors_5xx: 0,
      },
    ]);
    const cpuRows = (['baseline', 'under_flood'] as const).flatMap((phase) =>
      (
        [
          ['on', on],
          ['off', off],
        ] as const
      ).map(([name, r]) => ({ phase, isolation: name, ...r.cpu_cores_median[phase] })),
    );
    printTable('CPU per process (cores, median of the runs; the machine has 2)', cpuRows);
    const path = await writeResult('noisy-neighbour', {
      benchmark: 'noisy-neighbour',
      machine: machineInfo(),
      load_average_at_start: loadAtStart,
      params: {
        repeats,
        phase_seconds: phaseSeconds,
        b_read_rate_per_s: bReadRate,
        b_prediction_every_ms: bPredictionEveryMs,
        flood_client: 'autocannon',
        flood_read_connections: floodReadConnections,
        flood_post_connections: floodPostConnections,
        flood_predictions: floodPredictions,
        drain_wait_seconds: drainWaitSeconds,
        worker_concurrency: workerConcurrency,
        plans: { a: 'standard', b: 'standard' },
      },
      targets: TARGETS,
      b_read_p99_ratio: on.b_read_p99_ratio.median,
      b_prediction_p99_ms_under_flood: on.b_prediction_p99_ms_under_flood.median,
      b_prediction_p99_ratio: on.b_prediction_p99_ratio.median,
      a_responses_429: on.a_responses_429.median,
      errors_5xx: on.errors_5xx_total,
      isolation_off: {
        b_read_p99_ratio: off.b_read_p99_ratio.median,
        b_prediction_p99_ms_under_flood: off.b_prediction_p99_ms_under_flood.median,
        b_prediction_p99_ratio: off.b_prediction_p99_ratio.median,
        a_responses_429: off.a_responses_429.median,
        errors_5xx: off.errors_5xx_total,
      },
      summary: { isolation_on: on, isolation_off: off },
      runs,
    });
    note(`wrote ${path}`);
  } finally {
    await processes.stopAll();
    redis.disconnect();
    await db.destroy();
  }
}

await main();
