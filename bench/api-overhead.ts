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
import { apiBackendPids, createFixtureViaApi, startPlatformApi } from './lib/platform-api.js';
import { machineInfo, writeResult } from './lib/results.js';
import { type ServerProcess, startServerProcess } from './lib/server-process.js';
import { round } from './lib/stats.js';
import { note, printTable } from './lib/table.js';

const TARGET_RATIO_VS_EXPRESS = 0.5;

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
  const platform = await withServer(
    () => startPlatformApi({ databaseUrl, redisUrl: redis, logLevel: 'info' }),
    async (api) => {
      apiEntry = api.entry;
      apiEnv = api.env;
      note('platform API: creating a tenant, an API key and a user through the API');
      const fixture = await createFixtureViaApi(api, 'bench-overhead', { provisionWith: db });
      return measure({
        label: 'platform GET /v1/users/{id}',
        url: api.url,
        request: { path: `/v1/users/${fixture.userId}`, headers: { authorization: `Bearer ${fixture.key}` } },
        serverPid: api.pid,
        postgresPids: apiBackendPids(db),
        ...load,
      });
    },
  );

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
    row('platform GET /v1/users/{id}', platform),
  ]);
  printTable('Ratios and target', [
    { metric: 'ratio_platform_vs_node_http', value: round(ratioVsNodeHttp, 3), target: '-', met: '-' },
    {
      metric: 'ratio_platform_vs_express',
      value: round(ratioVsExpress, 3),
      target: `>= ${TARGET_RATIO_VS_EXPRESS}`,
      met: targetMet ? 'yes' : 'NO',
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
        description:
          'platform API, GET /v1/users/{id} with a tenant API key (key verification with its cache, tenant context, one schema-qualified query)',
        entry: apiEntry,
        env: apiEnv,
        logging: `LOG_LEVEL=${apiEnv.LOG_LEVEL} (at info: one pino-http access-log line per request) with stdout to /dev/null: the serialization cost is counted, no terminal cost`,
        ...platform,
      },
    },
    ratio_platform_vs_express: round(ratioVsExpress, 3),
    ratio_platform_vs_node_http: round(ratioVsNodeHttp, 3),
    targets: {
      ratio_platform_vs_express: {
        target: `>= ${TARGET_RATIO_VS_EXPRESS}`,
        value: round(ratioVsExpress, 3),
        met: targetMet,
      },
    },
  });
  note(`wrote ${path}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
