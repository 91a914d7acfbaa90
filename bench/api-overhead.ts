/**
 * API overhead: requests/s and latency of three servers, each in its own process, under the same
 * autocannon load: a bare node:http hello, an Express hello, and the platform API serving the
 * authenticated, tenant-scoped GET /v1/users/{id} (key check, tenant context, one query).
 */
import { fileURLToPath } from 'node:url';
import { createDatabase, type Database } from '@platform/core';
import { resetTestDatabase } from '@platform/core/testing';
import { benchDatabaseUrl, intFromEnv, redactUrl, redisUrl } from './lib/env.js';
import { exclusiveBenchRun } from './lib/exclusive.js';
import { type LoadResult, measure } from './lib/load.js';
import {
  apiBackendPids,
  createFixtureViaApi,
  type Fixture,
  type PlatformApi,
  startPlatformApi,
} from './lib/platform-api.js';
import { machineInfo, writeResult } from './lib/results.js';
import { type ServerProcess, startServerProcess } from './lib/server-process.js';
import { round } from './lib/stats.js';
import { note, printTable } from './lib/table.js';

const TARGET_RATIO_VS_EXPRESS = 0.5;
/** The rate limiter may add at most this much server CPU per request. */
const TARGET_LIMITER_CPU_OVERHEAD = 0.1;
// The read is spread over enterprise tenants and keys whose budgets (PLAN_RATE_LIMITS) add up to
// well above what one API process serves here, so that with limits on every request is counted
// and none is refused: the limiter's cost is measured, not that of a 429.
const LIMITS_TENANTS = 5;
const KEYS_PER_TENANT = 2;

const connections = intFromEnv('BENCH_CONNECTIONS', 50);
const durationS = intFromEnv('BENCH_DURATION_S', 10);
const warmupS = intFromEnv('BENCH_WARMUP_S', 3);
const databaseUrl = benchDatabaseUrl();
const redis = redisUrl();

const serverFile = (name: string) => fileURLToPath(new URL(`./servers/${name}`, import.meta.url));

async function withServer<S extends ServerProcess, T>(
  start: () => Promise<S>,
  fn: (s: S) => Promise<T>,
): Promise<T> {
  const server = await start();
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const db = createDatabase({ url: databaseUrl, poolMax: 3, applicationName: 'bench' });
  try {
    await exclusiveBenchRun(db, 'api-overhead', () => run(db));
  } finally {
    await db.destroy();
  }
}

async function run(db: Database): Promise<void> {
  note(`resetting ${redactUrl(databaseUrl)}`);
  await resetTestDatabase(db);
  const { rows } = await db.raw<{ rows: Array<{ v: string }> }>(
    "select current_setting('server_version') as v",
  );
  const postgresVersion = rows[0]?.v ?? 'unknown';
  const load = { connections, durationS, warmupS };
  const tsx = ['--import', 'tsx'];

  const nodeHttp = await withServer(
    () =>
      startServerProcess({
        name: 'node:http hello',
        nodeArgs: [...tsx, serverFile('node-http-hello.ts')],
        env: { NODE_ENV: 'production' },
        readyPath: '/',
      }),
    (s) =>
      measure({ label: 'node:http hello', url: s.url, request: { path: '/' }, serverPid: s.pid, ...load }),
  );

  const express = await withServer(
    () =>
      startServerProcess({
        name: 'Express hello',
        nodeArgs: [...tsx, serverFile('express-hello.ts')],
        env: { NODE_ENV: 'production' },
        readyPath: '/',
      }),
    (s) => measure({ label: 'Express hello', url: s.url, request: { path: '/' }, serverPid: s.pid, ...load }),
  );

  let apiEntry = '';
  let apiEnv: Record<string, string> = {};
  let fixtures: Fixture[] = [];
  /** Round-robin over every tenant's keys, each reading its tenant's user. */
  const platformRead = (label: string, api: PlatformApi) => {
    const targets = fixtures.flatMap((f) =>
      f.keys.map((key) => ({ path: `/v1/users/${f.userId}`, headers: { authorization: `Bearer ${key}` } })),
    );
    let next = 0;
    return measure({
      label,
      url: api.url,
      request: () => targets[next++ % targets.length] as (typeof targets)[number],
      serverPid: api.pid,
      postgresPids: apiBackendPids(db),
      ...load,
    });
  };
  const platform = await withServer(
    () => startPlatformApi({ databaseUrl, redisUrl: redis, logLevel: 'info', rateLimits: 'on' }),
    async (api) => {
      apiEntry = api.entry;
      apiEnv = api.env;
      note(
        `platform API: creating ${LIMITS_TENANTS} enterprise tenants with ${KEYS_PER_TENANT} API keys and a user each, through the API`,
      );
      for (let i = 0; i < LIMITS_TENANTS; i++) {
        fixtures.push(
          await createFixtureViaApi(api, `bench-overhead-${i}`, {
            provisionWith: db,
            plan: 'enterprise',
            extraKeys: KEYS_PER_TENANT - 1,
          }),
        );
      }
      return platformRead('platform GET /v1/users/{id}, limits on', api);
    },
  );
  const platformOff = await withServer(
    () => startPlatformApi({ databaseUrl, redisUrl: redis, logLevel: 'info', rateLimits: 'off' }),
    (api) => platformRead('platform GET /v1/users/{id}, limits off', api),
  );
  fixtures = [];

  const cpuOn = platform.cpu?.server_us_per_request;
  const cpuOff = platformOff.cpu?.server_us_per_request;
  const limiterCpuOverhead = cpuOn && cpuOff ? round(cpuOn / cpuOff - 1, 3) : null;
  const ratioLimitsOnVsOff = round(platform.requests_per_s / platformOff.requests_per_s, 3);
  const limiterTargetMet = limiterCpuOverhead !== null && limiterCpuOverhead <= TARGET_LIMITER_CPU_OVERHEAD;
  const ratioVsExpress = platform.requests_per_s / express.requests_per_s;
  const ratioVsNodeHttp = platform.requests_per_s / nodeHttp.requests_per_s;
  const targetMet = ratioVsExpress >= TARGET_RATIO_VS_EXPRESS;
  const row = (server: string, r: LoadResult) => ({
    server,
    'req/s': r.requests_per_s,
    'p50 ms': r.latency_p50_ms,
    'p99 ms': r.latency_p99_ms,
    requests: r.requests_total,
    'server CPU us/req': r.cpu?.server_us_per_request,
    'postgres CPU us/req': r.cpu?.postgres_us_per_request,
    'autocannon CPU us/req': r.cpu?.load_generator_us_per_request,
    'cores busy': r.cpu?.cores_busy,
    'other procs cores': r.cpu?.other_processes_cores,
  });
  printTable(`API overhead — ${connections} connections, ${durationS} s each after ${warmupS} s warm-up`, [
    row('node:http hello', nodeHttp),
    row('Express hello', express),
    row('platform GET /v1/users/{id}, limits on', platform),
    row('platform GET /v1/users/{id}, limits off', platformOff),
  ]);
  printTable('Ratios and target', [
    { metric: 'ratio_platform_vs_node_http', value: round(ratioVsNodeHttp, 3), target: '-', met: '-' },
    {
      metric: 'ratio_platform_vs_express',
      value: round(ratioVsExpress, 3),
      target: `>= ${TARGET_RATIO_VS_EXPRESS}`,
      met: targetMet ? 'yes' : 'NO',
    },
    { metric: 'ratio_limits_on_vs_off', value: ratioLimitsOnVsOff, target: '-', met: '-' },
    {
      metric: 'limiter_cpu_overhead',
      value: limiterCpuOverhead,
      target: `<= ${TARGET_LIMITER_CPU_OVERHEAD}`,
      met: limiterTargetMet ? 'yes' : 'NO',
    },
  ]);

  const path = await writeResult('api-overhead', {
    benchmark: 'api-overhead',
    machine: machineInfo({ postgres_version: postgresVersion }),
    parameters: {
      connections,
      duration_s: durationS,
      warmup_s: warmupS,
      pipelining: 1,
      load_generator:
        'autocannon (programmatic), in the benchmark process; each server in its own child process',
      database_url: redactUrl(databaseUrl),
      redis_url: redactUrl(redis),
    },
    servers: {
      node_http: { description: 'node:http, 200 text/plain "Hello, world!"', ...nodeHttp },
      express: { description: 'Express 4 default settings, res.send("Hello, world!")', ...express },
      platform: {
        description: `platform API with rate limits on, GET /v1/users/{id} with tenant API keys (rate limits: key and tenant budgets counted in Redis; key verification with its cache, tenant context, one schema-qualified query), round-robin over ${LIMITS_TENANTS} enterprise tenants x ${KEYS_PER_TENANT} keys`,
        entry: apiEntry,
        env: apiEnv,
        logging: `LOG_LEVEL=${apiEnv.LOG_LEVEL} (at info: one pino-http access-log line per request) with stdout to /dev/null: the serialization cost is counted, no terminal cost`,
        ...platform,
      },
      platform_limits_off: {
        description: 'the same API and requests with RATE_LIMITS=off',
        entry: apiEntry,
        env: { ...apiEnv, RATE_LIMITS: 'off' },
        ...platformOff,
      },
    },
    ratio_platform_vs_express: round(ratioVsExpress, 3),
    ratio_platform_vs_node_http: round(ratioVsNodeHttp, 3),
    ratio_limits_on_vs_off: ratioLimitsOnVsOff,
    limiter_cpu_overhead: limiterCpuOverhead,
    targets: {
      ratio_platform_vs_express: {
        target: `>= ${TARGET_RATIO_VS_EXPRESS}`,
        value: round(ratioVsExpress, 3),
        met: targetMet,
      },
      limiter_cpu_overhead: {
        target: `<= ${TARGET_LIMITER_CPU_OVERHEAD}`,
        value: limiterCpuOverhead,
        met: limiterTargetMet,
        note: 'server (API process) CPU per request, limits on over off, minus 1; Redis CPU not included',
      },
    },
  });
  note(`wrote ${path}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
