/**
 * End to end: predictions through the platform API -> Redis queue -> the real worker app ->
 * ml-gateway, each in its own process, against the benchmark database.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { type Database, quoteIdent, schemaForSlug } from '@platform/core';
import { resetTestDatabase } from '@platform/core/testing';
import type { Redis } from 'ioredis';
import { machineBusyMs, snapshot, spent } from '../lib/cpu.js';
import { redactUrl } from '../lib/env.js';
import { createFixtureViaApi, type PlatformApi, REPO_ROOT } from '../lib/platform-api.js';
import type { Quiet } from '../lib/quiet.js';
import { freePort, pollUntil, startServerProcess } from '../lib/server-process.js';
import { percentile, round } from '../lib/stats.js';
import { note } from '../lib/table.js';
import { type Processes, startChild, waitForChild } from './processes.js';

/**
 * tsx's loader as resolved from bench/ (the services do not depend on tsx): a source entry runs with
 * its service directory as cwd, so that tsx applies that service's tsconfig (decorators and all).
 */
const TSX_LOADER = import.meta.resolve('tsx');
const WORKER_DIST_MAIN = `${REPO_ROOT}services/worker/dist/main.js`;
const WORKER_SOURCE_MAIN = `${REPO_ROOT}services/worker/src/main.ts`;
const API_DIST_MAIN = `${REPO_ROOT}services/api/dist/main.js`;
const API_SOURCE_MAIN = `${REPO_ROOT}services/api/src/main.ts`;
const IRIS_SETOSA = [5.1, 3.5, 1.4, 0.2];

/**
 * Extra node flags for one process, e.g. `BENCH_WORKER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'`
 * (the profile is written when the process stops).
 */
function extraNodeArgs(variable: string): string[] {
  return (process.env[variable] ?? '').split(/\s+/).filter(Boolean);
}

export interface E2eOptions {
  db: Database;
  /** The benchmark's own Redis database (flushed here). */
  redis: Redis;
  redisUrl: string;
  databaseUrl: string;
  mlGatewayUrl: string;
  mlGatewayPid: number | undefined;
  predictions: number;
  warmup: number;
  inFlight: number;
  workerConcurrency: number;
  /** Longest wait for other sessions on the benchmark database to end before it is reset. */
  databaseWaitMs: number;
  processes: Processes;
  waitForQuiet: () => Promise<Quiet>;
  /** Predictions of the drain measurement (0: none). */
  drain: number;
  /** Extra environment of the worker app (e.g. WORKER_BATCH_SIZE=1 for the unbatched baseline). */
  workerEnv?: Record<string, string>;
  /** Name of the run in the process list and notes. */
  label?: string;
}

/** A worker app draining a queue filled before it started. */
export interface DrainResult {
  predictions: number;
  /** D / (last completed_at - first completed_at): the worker's pace, its start-up left out. */
  predictions_per_s_db_clock: number;
  seconds_from_worker_ready: number;
  /** Drained predictions that succeeded after the worker answered ready (those the CPU is of). */
  predictions_after_ready: number;
  worker_cpu_us_per_prediction: number | null;
  ml_gateway_cpu_us_per_prediction: number | null;
  other_processes_cores: number | null;
}

export interface E2eResult {
  drain?: DrainResult;
  predictions: number;
  in_flight: number;
  /** Predictions / (first POST to the poll that saw them all succeeded). */
  predictions_per_s: number;
  seconds: number;
  /** Rate at which the API accepted them (202s), all P POSTs. */
  posts_per_s: number;
  post_latency_p50_ms: number;
  post_latency_p99_ms: number;
  /** From the table: created_at (API insert) to completed_at (worker), under this load. */
  prediction_latency_p50_ms: number;
  prediction_latency_p99_ms: number;
  /** P / (max completed_at - min created_at), from the database's clock. */
  predictions_per_s_db_clock: number;
  /** CPU time per prediction of each process during the measured run, in microseconds. */
  cpu_us_per_prediction: Record<string, number | null>;
  /** Sum over the platform's processes (API, worker, ml-gateway, PostgreSQL backends with the relay's connection). */
  cpu_us_per_prediction_platform: number;
  cores_busy: Record<string, number | null>;
  worker: { entry: string; env: Record<string, string> };
  api: { entry: string; env: Record<string, string> };
  tenant_slug: string;
  machine_before: Quiet;
}

/**
 * The real API entry point in its own process, as lib/platform-api.ts starts it (production mode,
 * random admin token, info logging to /dev/null), plus the ml-gateway URL; with
 * `BENCH_API_ENTRY=source` it runs src/main.ts through tsx.
 */
async function startApi(o: E2eOptions): Promise<PlatformApi> {
  const source = process.env.BENCH_API_ENTRY === 'source';
  if (!source && !existsSync(API_DIST_MAIN)) {
    throw new Error(
      `${API_DIST_MAIN} is missing: build first (pnpm exec turbo run build) or set BENCH_API_ENTRY=source`,
    );
  }
  const adminToken = randomBytes(32).toString('base64url');
  const env = {
    NODE_ENV: 'production',
    DATABASE_URL: o.databaseUrl,
    REDIS_URL: o.redisUrl,
    ML_GATEWAY_URL: o.mlGatewayUrl,
    ADMIN_TOKEN: adminToken,
    LOG_LEVEL: 'info',
    KUBERNETES: 'off',
    // Queue throughput, not the plan's write budget, is what this measures.
    RATE_LIMITS: 'off',
    // The ops listener (/readyz, /metrics) on any free port: never in the way of another API.
    OPS_PORT: '0',
  };
  const server = await startServerProcess({
    name: 'platform API',
    nodeArgs: [
      ...extraNodeArgs('BENCH_API_NODE_ARGS'),
      ...(source ? ['--conditions=source', '--import', TSX_LOADER, API_SOURCE_MAIN] : [API_DIST_MAIN]),
    ],
    env,
    // The public port's /healthz: it answers once the API listens (/readyz is on the ops port).
    readyPath: '/healthz',
    stdout: 'ignore',
    cwd: `${REPO_ROOT}services/api`,
  });
  return {
    ...server,
    adminToken,
    entry: source
      ? 'node --conditions=source --import tsx services/api/src/main.ts'
      : 'node services/api/dist/main.js',
    env: { ...env, DATABASE_URL: redactUrl(o.databaseUrl), ADMIN_TOKEN: '[random, 43 chars]' },
  };
}

/** Waits until no other client session uses the benchmark database (another benchmark run). */
async function waitForDatabaseToMyself(db: Database, timeoutMs: number): Promise<void> {
  let warned = false;
  await pollUntil(
    'other sessions on the benchmark database to end (another benchmark using it?)',
    async () => {
      const { rows } = await db.raw<{ rows: Array<{ n: number; apps: string | null }> }>(
        `select count(*)::int as n, string_agg(distinct application_name, ', ') as apps
           from pg_stat_activity
          where datname = current_database() and backend_type = 'client backend'
            and pid <> pg_backend_pid() and application_name <> 'bench-queue'`,
      );
      const n = rows[0]?.n ?? 0;
      if (n > 0 && !warned) {
        note(
          `${n} other session(s) on the benchmark database (${rows[0]?.apps}): waiting before resetting it`,
        );
        warned = true;
      }
      return n === 0 ? true : undefined;
    },
    timeoutMs,
  );
}

async function statusCounts(db: Database, schema: string, ids: string[]): Promise<Record<string, number>> {
  const { rows } = await db.raw<{ rows: Array<{ status: string; n: number }> }>(
    `select status, count(*)::int as n from ${quoteIdent(schema)}.predictions where id = any(?::uuid[]) group by status`,
    [ids],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/**
 * One `POST /v1/predictions` on a kept-alive connection of `agent` (node:http, not fetch: the
 * client shares the machine's cores with the platform, and fetch costs it several times as much
 * CPU per request). The answer must be 202 with a JSON body holding the prediction's id.
 */
function postPrediction(agent: Agent, url: URL, key: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/v1/predictions',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 202) {
            reject(new Error(`POST /v1/predictions: expected 202, got ${res.statusCode}: ${text}`));
            return;
          }
          try {
            const { id } = JSON.parse(text) as { id?: unknown };
            if (typeof id !== 'string') throw new Error(`no id in ${text}`);
            resolve(id);
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('POST /v1/predictions: no answer after 10 s')));
    req.on('error', reject);
    req.end(body);
  });
}

async function postAll(
  url: string,
  key: string,
  count: number,
  inFlight: number,
  latencies?: number[],
): Promise<string[]> {
  const ids: string[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: inFlight });
  const target = new URL(url);
  const body = JSON.stringify({ model: 'iris', inputs: [IRIS_SETOSA] });
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: Math.min(inFlight, count) }, async () => {
        while (next < count) {
          next++;
          const started = performance.now();
          const id = await postPrediction(agent, target, key, body);
          latencies?.push(performance.now() - started);
          ids.push(id);
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return ids;
}

/** Polls the tenant's predictions every 25 ms until all `ids` succeeded; fails on any `failed`. */
async function waitForSucceeded(
  db: Database,
  schema: string,
  ids: string[],
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await statusCounts(db, schema, ids);
    const now = performance.now();
    if ((counts.failed ?? 0) > 0)
      throw new Error(`${counts.failed} predictions failed: ${JSON.stringify(counts)}`);
    if ((counts.succeeded ?? 0) === ids.length) return now;
    if (Date.now() > deadline) {
      throw new Error(`predictions not all succeeded after ${timeoutMs} ms: ${JSON.stringify(counts)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function runE2e(o: E2eOptions): Promise<E2eResult> {
  await waitForDatabaseToMyself(o.db, o.databaseWaitMs);
  note(`e2e: resetting ${redactUrl(o.databaseUrl)} and flushing ${redactUrl(o.redisUrl)}`);
  await resetTestDatabase(o.db);
  await o.redis.flushdb();

  // The real worker app (services/worker main: engine, full catalog, scheduler, ops endpoints).
  const source = process.env.BENCH_WORKER_ENTRY === 'source';
  if (!source && !existsSync(WORKER_DIST_MAIN)) {
    throw new Error(
      `${WORKER_DIST_MAIN} is missing: build first (pnpm exec turbo run build) or set BENCH_WORKER_ENTRY=source`,
    );
  }
  const opsPort = await freePort();
  const workerEnv = {
    NODE_ENV: 'production',
    DATABASE_URL: o.databaseUrl,
    DATABASE_POOL_MAX: String(o.workerConcurrency),
    REDIS_URL: o.redisUrl,
    ML_GATEWAY_URL: o.mlGatewayUrl,
    WORKER_CONCURRENCY: String(o.workerConcurrency),
    LOG_LEVEL: 'info',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(opsPort),
    // Never reach a Kubernetes cluster from the benchmark, whatever kubeconfig the machine has.
    KUBERNETES: 'off',
    ...o.workerEnv,
  };
  const launchWorker = async (name: string) => {
    const child = startChild({
      name,
      command: process.execPath,
      args: [
        ...extraNodeArgs('BENCH_WORKER_NODE_ARGS'),
        ...(source
          ? ['--conditions=source', '--import', TSX_LOADER, WORKER_SOURCE_MAIN]
          : [WORKER_DIST_MAIN]),
      ],
      env: workerEnv,
      cwd: `${REPO_ROOT}services/worker`,
    });
    o.processes.add(child.name, () => child.stop());
    await waitForChild(
      child,
      'the worker app to be ready',
      async () => {
        try {
          const res = await fetch(`http://127.0.0.1:${opsPort}/readyz`, {
            signal: AbortSignal.timeout(2_000),
          });
          await res.arrayBuffer();
          return res.status === 200 ? true : undefined;
        } catch {
          return undefined;
        }
      },
      60_000,
    );
    return child;
  };
  const worker = await launchWorker(o.label ? `worker app (${o.label})` : 'worker app');

  const api = await startApi(o);
  o.processes.add(api.name, () => api.stop());

  note('e2e: creating a tenant (provisioned by the worker) and an API key through the API');
  const fixture = await createFixtureViaApi(api, 'bench-queue');
  const schema = schemaForSlug(fixture.slug);

  note(`e2e: warm-up, ${o.warmup} predictions`);
  const warm = await postAll(api.url, fixture.key, o.warmup, o.inFlight);
  await waitForSucceeded(o.db, schema, warm, 120_000);

  const quietBefore = await o.waitForQuiet();
  // The platform's PostgreSQL backends: the API's and the worker's pools and the outbox relay's
  // own connection (also shown alone). Listed again after the run: a connection opened meanwhile
  // counts in full.
  const platformBackends = async () => {
    const { rows } = await o.db.raw<{ rows: Array<{ pid: number; app: string }> }>(
      `select pid, application_name as app from pg_stat_activity
        where datname = current_database() and backend_type = 'client backend'
          and application_name in ('api', 'worker', 'outbox-relay')`,
    );
    return rows;
  };
  const backends = await platformBackends();
  const pids: Record<string, number[]> = {
    api: [api.pid],
    worker: [worker.pid],
    ml_gateway: o.mlGatewayPid === undefined ? [] : [o.mlGatewayPid],
    postgres: backends.map((b) => b.pid),
    postgres_outbox_relay: backends.filter((b) => b.app === 'outbox-relay').map((b) => b.pid),
  };
  const cpuBefore = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, snapshot(p)]));
  const ownBefore = process.cpuUsage();
  const machineBusyBefore = machineBusyMs();

  note(`e2e: ${o.predictions} predictions, ${o.inFlight} POSTs in flight`);
  const postLatencies: number[] = [];
  const start = performance.now();
  const ids = await postAll(api.url, fixture.key, o.predictions, o.inFlight, postLatencies);
  const postedAt = performance.now();
  const end = await waitForSucceeded(o.db, schema, ids, 120_000 + o.predictions * 200);
  const seconds = (end - start) / 1000;
  const own = process.cpuUsage(ownBefore);
  const machineAfter = machineBusyMs();
  for (const b of await platformBackends()) {
    if (!pids.postgres?.includes(b.pid)) pids.postgres?.push(b.pid);
    if (b.app === 'outbox-relay' && !pids.postgres_outbox_relay?.includes(b.pid))
      pids.postgres_outbox_relay?.push(b.pid);
  }

  const cpuMs: Record<string, number | null> = {};
  for (const [k, p] of Object.entries(pids))
    cpuMs[k] = p.length === 0 ? null : spent(cpuBefore[k] ?? new Map(), snapshot(p));
  cpuMs.benchmark = (own.user + own.system) / 1000;
  // Everything else on the machine (other work competing with the run); null without /proc. The
  // relay's backend is part of `postgres`, not counted twice.
  const listed = Object.entries(cpuMs).reduce<number>(
    (sum, [k, ms]) => (k === 'postgres_outbox_relay' ? sum : sum + (ms ?? 0)),
    0,
  );
  cpuMs.other_processes =
    machineAfter === undefined || machineBusyBefore === undefined
      ? null
      : Math.max(0, machineAfter - machineBusyBefore - listed);

  const { rows: timing } = await o.db.raw<{ rows: Array<{ ms: number }> }>(
    `select extract(epoch from (completed_at - created_at)) * 1000 as ms
       from ${quoteIdent(schema)}.predictions where id = any(?::uuid[])`,
    [ids],
  );
  const { rows: span } = await o.db.raw<{ rows: Array<{ s: number }> }>(
    `select extract(epoch from (max(completed_at) - min(created_at))) as s
       from ${quoteIdent(schema)}.predictions where id = any(?::uuid[])`,
    [ids],
  );
  const latencies = timing.map((r) => Number(r.ms));
  const dbSpanS = Number(span[0]?.s ?? Number.NaN);
  await o.processes.stop(api.name);
  await o.processes.stop(worker.name);

  // Drain: D predictions queued while no worker runs (rows and outbox entries written directly),
  // then a fresh worker app drains them; the queue is never empty, so batches fill.
  let drain: DrainResult | undefined;
  if (o.drain > 0) {
    note(`e2e: drain, ${o.drain} predictions queued before a worker starts`);
    const drainIds = Array.from({ length: o.drain }, () => randomUUID());
    const tenantId = fixture.tenantId;
    for (let i = 0; i < drainIds.length; i += 500) {
      const chunk = drainIds.slice(i, i + 500);
      const tasks = chunk.map(() => randomUUID());
      await o.db.transaction(async (trx) => {
        await trx
          .withSchema(schema)
          .table('predictions')
          .insert(
            chunk.map((id, j) => ({
              id,
              model: 'iris',
              input: JSON.stringify([IRIS_SETOSA]),
              status: 'queued',
              task_id: tasks[j],
            })),
          );
        await trx
          .withSchema('platform')
          .table('outbox')
          .insert(
            chunk.map((id, j) => ({
              id: tasks[j],
              task: 'ml.predict',
              queue: 'ml',
              kwargs: JSON.stringify({ tenant_id: tenantId, prediction_id: id }),
            })),
          );
      });
    }
    const drainer = await launchWorker(`${worker.name} drain`);
    const gatewayPids = o.mlGatewayPid === undefined ? [] : [o.mlGatewayPid];
    const before = { worker: snapshot([drainer.pid]), gateway: snapshot(gatewayPids) };
    const busyBefore = machineBusyMs();
    const started = performance.now();
    // A worker drains while its readiness is being polled: what succeeded by now is left out of
    // the CPU per prediction (none left: not measured).
    const doneBefore = (await statusCounts(o.db, schema, drainIds)).succeeded ?? 0;
    const measured = o.drain - doneBefore;
    await waitForSucceeded(o.db, schema, drainIds, 120_000 + o.drain * 200);
    const drainSeconds = (performance.now() - started) / 1000;
    const workerMs = spent(before.worker, snapshot([drainer.pid]));
    const gatewayMs = gatewayPids.length === 0 ? null : spent(before.gateway, snapshot(gatewayPids));
    const busyAfter = machineBusyMs();
    const { rows: drainSpan } = await o.db.raw<{ rows: Array<{ s: number }> }>(
      `select extract(epoch from (max(completed_at) - min(completed_at))) as s
         from ${quoteIdent(schema)}.predictions where id = any(?::uuid[])`,
      [drainIds],
    );
    await o.processes.stop(drainer.name);
    const machineMs =
      busyAfter === undefined || busyBefore === undefined ? null : Math.max(0, busyAfter - busyBefore);
    drain = {
      predictions: o.drain,
      predictions_per_s_db_clock: round(o.drain / Number(drainSpan[0]?.s ?? Number.NaN), 1),
      seconds_from_worker_ready: round(drainSeconds, 3),
      predictions_after_ready: measured,
      worker_cpu_us_per_prediction: measured === 0 ? null : round((workerMs * 1000) / measured, 0),
      ml_gateway_cpu_us_per_prediction:
        gatewayMs === null || measured === 0 ? null : round((gatewayMs * 1000) / measured, 0),
      other_processes_cores:
        machineMs === null ? null : round((machineMs - workerMs - (gatewayMs ?? 0)) / 1000 / drainSeconds, 2),
    };
  }

  return {
    ...(drain ? { drain } : {}),
    predictions: o.predictions,
    in_flight: o.inFlight,
    predictions_per_s: round(o.predictions / seconds, 1),
    seconds: round(seconds, 3),
    posts_per_s: round(o.predictions / ((postedAt - start) / 1000), 1),
    post_latency_p50_ms: round(percentile(postLatencies, 50), 3),
    post_latency_p99_ms: round(percentile(postLatencies, 99), 3),
    prediction_latency_p50_ms: round(percentile(latencies, 50), 1),
    prediction_latency_p99_ms: round(percentile(latencies, 99), 1),
    predictions_per_s_db_clock: round(o.predictions / dbSpanS, 1),
    cpu_us_per_prediction: Object.fromEntries(
      Object.entries(cpuMs).map(([k, ms]) => [k, ms === null ? null : round((ms * 1000) / o.predictions, 0)]),
    ),
    cpu_us_per_prediction_platform: round(
      (['api', 'worker', 'ml_gateway', 'postgres'].reduce((sum, k) => sum + (cpuMs[k] ?? 0), 0) * 1000) /
        o.predictions,
      0,
    ),
    cores_busy: Object.fromEntries(
      Object.entries(cpuMs).map(([k, ms]) => [k, ms === null ? null : round(ms / 1000 / seconds, 2)]),
    ),
    worker: {
      entry: source
        ? 'node --conditions=source --import tsx services/worker/src/main.ts'
        : 'node services/worker/dist/main.js',
      env: {
        ...workerEnv,
        DATABASE_URL: redactUrl(workerEnv.DATABASE_URL),
        REDIS_URL: redactUrl(workerEnv.REDIS_URL),
      },
    },
    api: { entry: api.entry, env: api.env },
    tenant_slug: fixture.slug,
    machine_before: quietBefore,
  };
}
