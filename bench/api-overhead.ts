/**
 * API overhead: requests/s and latency of four servers, each in its own process, under the same
 * autocannon load: a bare node:http hello, an Express hello, Express answering with one prepared
 * pg query (the floor of a database-backed endpoint), and the platform API serving the
 * authenticated, tenant-scoped GET /v1/users/{id} (key check, rate limits, tenant context, one
 * query; answered by its hot-read router in front of Express). The read is compared in rounds:
 * each round measures the four read servers (the platform with rate limits on and off), each in a
 * fresh process, in an order that rotates from round to round; the ratios are the medians of the
 * rounds' ratios. The write path too: POST /v1/events with a batch of events, platform against
 * Express with one multi-row INSERT.
 */
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase, type Database, schemaForSlug } from '@platform/core';
import { resetTestDatabase } from '@platform/core/testing';
import { type ProfileSummary, summarizeProfile } from './lib/cpu-profile.js';
import { benchDatabaseUrl, intFromEnv, redactUrl, redisUrl } from './lib/env.js';
import { exclusiveBenchRun } from './lib/exclusive.js';
import { type LoadResult, measure, type RequestSpec } from './lib/load.js';
import {
  apiBackendPids,
  createFixtureViaApi,
  type Fixture,
  type PlatformApi,
  startPlatformApi,
} from './lib/platform-api.js';
import { machineInfo, writeResult } from './lib/results.js';
import { type ServerProcess, startServerProcess } from './lib/server-process.js';
import { median, round } from './lib/stats.js';
import { note, printTable } from './lib/table.js';

const TARGET_RATIO_VS_EXPRESS = 0.5;
/** The platform read against Express answering with one prepared pg query. */
const TARGET_RATIO_VS_EXPRESS_PG = 0.9;
/** The rate limiter may add at most this much server CPU per request. */
const TARGET_LIMITER_CPU_OVERHEAD = 0.1;
// The read is spread over enterprise tenants and keys whose budgets (PLAN_RATE_LIMITS) add up to
// well above what one API process serves here, so that with limits on every request is counted
// and none is refused: the limiter's cost is measured, not that of a 429.
// 10 tenants x 1,000 reads/s (20 keys x 500/s), 10 x 500 writes/s (one read-write key each).
const LIMITS_TENANTS = 10;
const KEYS_PER_TENANT = 2;

const connections = intFromEnv('BENCH_CONNECTIONS', 50);
const durationS = intFromEnv('BENCH_DURATION_S', 10);
const warmupS = intFromEnv('BENCH_WARMUP_S', 3);
const eventsBatch = intFromEnv('BENCH_EVENTS_BATCH', 100);
const profiling = process.env.BENCH_CPU_PROFILE === '1';
/** Rounds of the read comparison; a profiled run measures one (the profiler skews the ratios anyway). */
const roundCount = profiling ? 1 : intFromEnv('BENCH_ROUNDS', 3);
/** Pairs of API processes (limits on, off) compared slice by slice for the limiter's cost. */
const pairCount = profiling ? 0 : intFromEnv('BENCH_LIMITER_PAIRS', 3);
const sliceCount = intFromEnv('BENCH_LIMITER_SLICES', 6);
const sliceS = intFromEnv('BENCH_LIMITER_SLICE_S', 2);
const databaseUrl = benchDatabaseUrl();
const redis = redisUrl();

const TYPES = ['page.viewed', 'button.clicked', 'form.submitted', 'search.performed'];

/** One batch as a client would send it: a few types, times over the last hour, a small payload. */
function eventsBody(userId: string, now = Date.now()): string {
  const events = Array.from({ length: eventsBatch }, (_, i) => ({
    type: TYPES[i % TYPES.length] as string,
    occurred_at: new Date(now - (i * 3_600_000) / eventsBatch).toISOString(),
    user_id: userId,
    payload: { path: `/docs/page-${i % 50}`, referrer: 'https://example.com/', n: i, ok: i % 3 === 0 },
  }));
  return JSON.stringify({ events });
}

/** Events stored in the given tenant schemas. */
async function countEvents(db: Database, schemas: string[]): Promise<number> {
  let total = 0;
  for (const schema of schemas) {
    const { rows } = await db.raw<{ rows: Array<{ n: number }> }>(
      'select count(*)::int as n from ??.events',
      [schema],
    );
    total += rows[0]?.n ?? 0;
  }
  return total;
}

/** The servers of the read comparison, in the order of the first round. */
const READ_ORDER = ['express', 'platform', 'express_pg', 'platform_limits_off'] as const;
type ReadServer = (typeof READ_ORDER)[number];
interface LimiterPair {
  on_cpu_us_per_request: number;
  off_cpu_us_per_request: number;
  on_requests: number;
  off_requests: number;
  limiter_cpu_overhead: number;
  max_other_processes_cores: number;
}
interface ReadRound {
  order: ReadServer[];
  results: Record<ReadServer, LoadResult>;
}

/** Round-robin over `specs`, one per request. */
function roundRobin(specs: RequestSpec[]): () => RequestSpec {
  let next = 0;
  return () => specs[next++ % specs.length] as RequestSpec;
}

/** Node flags that write a CPU profile of the process into `dir` when it stops. */
const cpuProfileArgs = (dir: string) => ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=250'];

async function profileIn(dir: string): Promise<string> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length !== 1) throw new Error(`expected one CPU profile in ${dir}, found ${files.length}`);
  return join(dir, files[0] as string);
}

const platformCode = (url: string) =>
  url.includes('/services/api/') ||
  url.includes('/packages/core/') ||
  /node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?(express|knex|pg|pg-pool|prom-client|pino|body-parser|@tsoa)/.test(
    url,
  );

/** The profile's summary over one measured run: µs per request by area and function. */
function summarize(file: string, r: LoadResult): Promise<ProfileSummary> {
  return summarizeProfile(file, {
    n: 20,
    inclusiveOf: platformCode,
    window: r.window_monotonic_us,
    requests: r.responses_2xx,
  });
}

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

  let apiEntry = '';
  let apiEnv: Record<string, string> = {};
  let fixtures: Fixture[] = [];
  const profileDir = profiling ? await mkdtemp(join(tmpdir(), 'bench-api-overhead-profile-')) : undefined;
  const profiles: Record<string, ProfileSummary> = {};
  /** Round-robin over every tenant's keys, each reading its tenant's user. */
  const readTargets = () =>
    roundRobin(
      fixtures.flatMap((f) =>
        f.keys.map((key) => ({ path: `/v1/users/${f.userId}`, headers: { authorization: `Bearer ${key}` } })),
      ),
    );
  /** Round-robin over every tenant's read-write key, each posting a batch for its tenant's user. */
  const writeTargets = () =>
    roundRobin(
      fixtures.map((f) => ({
        method: 'POST' as const,
        path: '/v1/events',
        headers: { authorization: `Bearer ${f.key}`, 'content-type': 'application/json' },
        body: eventsBody(f.userId),
      })),
    );
  const platformLoad = (label: string, api: PlatformApi, request: () => RequestSpec) =>
    measure({
      label,
      url: api.url,
      request,
      serverPid: api.pid,
      postgresPids: apiBackendPids(db),
      ...load,
    });
  /** Runs `fn` against a fresh platform API process; with BENCH_CPU_PROFILE=1 the process is profiled. */
  async function withPlatform<T>(
    name: string,
    rateLimits: 'on' | 'off',
    fn: (api: PlatformApi) => Promise<T>,
  ): Promise<{ value: T; profile?: string }> {
    const dir = profileDir ? join(profileDir, name) : undefined;
    const value = await withServer(
      () =>
        startPlatformApi({
          databaseUrl,
          redisUrl: redis,
          logLevel: 'info',
          rateLimits,
          nodeArgs: dir ? cpuProfileArgs(dir) : [],
        }),
      fn,
    );
    return { value, profile: dir ? await profileIn(dir) : undefined };
  }
  const eventsStored = () =>
    countEvents(
      db,
      fixtures.map((f) => schemaForSlug(f.slug)),
    );

  /** One pair's slices: CPU per request of each process over all of its slices. */
  async function limiterPair(p: number, apis: Record<'on' | 'off', PlatformApi>): Promise<LimiterPair> {
    const sums = { on: { cpuMs: 0, requests: 0 }, off: { cpuMs: 0, requests: 0 } };
    let otherCores = 0;
    for (let i = 0; i < sliceCount; i++) {
      const order: Array<'on' | 'off'> = (p + i) % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
      for (const side of order) {
        const r = await measure({
          label: `limiter pair ${p + 1}, slice ${i + 1}, limits ${side}`,
          url: apis[side].url,
          request: readTargets(),
          serverPid: apis[side].pid,
          connections,
          durationS: sliceS,
          // Each process is warmed once, before its first slice.
          warmupS: i === 0 ? warmupS : 0,
        });
        sums[side].cpuMs += r.cpu?.server_ms ?? Number.NaN;
        sums[side].requests += r.responses_2xx;
        otherCores = Math.max(otherCores, r.cpu?.other_processes_cores ?? 0);
      }
    }
    const perRequest = (x: { cpuMs: number; requests: number }) => round((x.cpuMs * 1000) / x.requests, 1);
    const on = perRequest(sums.on);
    const off = perRequest(sums.off);
    return {
      on_cpu_us_per_request: on,
      off_cpu_us_per_request: off,
      on_requests: sums.on.requests,
      off_requests: sums.off.requests,
      limiter_cpu_overhead: round(on / off - 1, 3),
      max_other_processes_cores: round(otherCores, 2),
    };
  }

  // Fixtures, through the API, and the platform's write path in the same process.
  const setup = await withPlatform('write', 'on', async (api) => {
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
    const before = await eventsStored();
    const write = await platformLoad(
      `platform POST /v1/events (${eventsBatch} per request), limits on`,
      api,
      writeTargets(),
    );
    const stored = (await eventsStored()) - before;
    if (stored < write.responses_2xx * eventsBatch)
      throw new Error(`platform: ${write.responses_2xx * eventsBatch} events accepted but ${stored} stored`);
    return write;
  });
  const platformWrite = setup.value;
  if (setup.profile) profiles.platform_write = await summarize(setup.profile, platformWrite);

  // The floor: Express with one prepared pg query, on the first tenant's schema and user.
  const floor = fixtures[0] as Fixture;
  const floorSchema = schemaForSlug(floor.slug);
  const startExpressPg = () =>
    startServerProcess({
      name: 'Express + pg',
      nodeArgs: [...tsx, serverFile('express-pg.ts')],
      env: {
        NODE_ENV: 'production',
        DATABASE_URL: databaseUrl,
        BENCH_SCHEMA: floorSchema,
        BENCH_APPLICATION_NAME: 'bench-express-pg',
      },
      readyPath: '/healthz',
    });
  const expressPgWrite = await withServer(startExpressPg, async (s) => {
    const before = await countEvents(db, [floorSchema]);
    const write = await measure({
      label: `Express + one multi-row INSERT (${eventsBatch} events per request)`,
      url: s.url,
      request: {
        method: 'POST',
        path: '/v1/events',
        headers: { 'content-type': 'application/json' },
        body: eventsBody(floor.userId),
      },
      serverPid: s.pid,
      postgresPids: apiBackendPids(db, 'bench-express-pg'),
      ...load,
    });
    const stored = (await countEvents(db, [floorSchema])) - before;
    if (stored < write.responses_2xx * eventsBatch)
      throw new Error(`Express + pg: ${write.responses_2xx * eventsBatch} events sent but ${stored} stored`);
    return write;
  });

  // The read: rounds of the four servers compared, each a fresh process, the order rotating
  // from round to round, so that neither the order nor one process's luck decides a ratio.
  const readServers: Record<ReadServer, (round: number) => Promise<LoadResult>> = {
    express: () =>
      withServer(
        () =>
          startServerProcess({
            name: 'Express hello',
            nodeArgs: [...tsx, serverFile('express-hello.ts')],
            env: { NODE_ENV: 'production' },
            readyPath: '/',
          }),
        (s) =>
          measure({ label: 'Express hello', url: s.url, request: { path: '/' }, serverPid: s.pid, ...load }),
      ),
    express_pg: () =>
      withServer(startExpressPg, (s) =>
        measure({
          label: 'Express + one prepared pg query',
          url: s.url,
          request: { path: `/v1/users/${floor.userId}` },
          serverPid: s.pid,
          postgresPids: apiBackendPids(db, 'bench-express-pg'),
          ...load,
        }),
      ),
    platform: async (r) => {
      const { value, profile } = await withPlatform(`read-on-${r}`, 'on', (api) =>
        platformLoad('platform GET /v1/users/{id}, limits on', api, readTargets()),
      );
      if (profile) profiles.platform = await summarize(profile, value);
      return value;
    },
    platform_limits_off: async (r) => {
      const { value, profile } = await withPlatform(`read-off-${r}`, 'off', (api) =>
        platformLoad('platform GET /v1/users/{id}, limits off', api, readTargets()),
      );
      if (profile) profiles.platform_limits_off = await summarize(profile, value);
      return value;
    },
  };
  const rounds: ReadRound[] = [];
  for (let r = 0; r < roundCount; r++) {
    const order = READ_ORDER.map((_, i) => READ_ORDER[(i + r) % READ_ORDER.length] as ReadServer);
    note(`read round ${r + 1} of ${roundCount}: ${order.join(', ')}`);
    const results: Partial<Record<ReadServer, LoadResult>> = {};
    for (const server of order) results[server] = await readServers[server](r);
    rounds.push({ order, results: results as Record<ReadServer, LoadResult> });
  }
  if (profileDir) note(`CPU profiles (open them in Chrome DevTools) kept in ${profileDir}`);

  // The limiter's cost: pairs of fresh API processes, limits on and off, running side by side;
  // each pair takes the load in short slices, alternately, so that both see the same machine.
  const pairs: LimiterPair[] = [];
  for (let p = 0; p < pairCount; p++) {
    note(`limiter pair ${p + 1} of ${pairCount}: ${sliceCount} slices of ${sliceS} s each, alternating`);
    pairs.push(
      await withPlatform(`pair-on-${p}`, 'on', (on) =>
        withPlatform(`pair-off-${p}`, 'off', (off) => limiterPair(p, { on, off })).then((r) => r.value),
      ).then((r) => r.value),
    );
  }
  fixtures = [];

  /** Per round: one figure from that round's results; the run's figure is the median. */
  const perRound = (f: (r: Record<ReadServer, LoadResult>) => number) => rounds.map((r) => f(r.results));
  /** The server's result from its median round by req/s (the lower middle one for an even count). */
  const medianResult = (server: ReadServer): LoadResult => {
    const sorted = rounds.map((r) => r.results[server]).sort((a, b) => a.requests_per_s - b.requests_per_s);
    return sorted[Math.floor((sorted.length - 1) / 2)] as LoadResult;
  };
  const cpuPerRequest = (r: LoadResult) => r.cpu?.server_us_per_request ?? Number.NaN;
  const express = medianResult('express');
  const expressPg = { read: medianResult('express_pg'), write: expressPgWrite };
  const platform = medianResult('platform');
  const platformOff = medianResult('platform_limits_off');
  const roundRatios = rounds.map((r) => ({
    order: r.order,
    ratio_platform_vs_express: round(r.results.platform.requests_per_s / r.results.express.requests_per_s, 3),
    ratio_platform_vs_express_pg: round(
      r.results.platform.requests_per_s / r.results.express_pg.requests_per_s,
      3,
    ),
    ratio_limits_on_vs_off: round(
      r.results.platform.requests_per_s / r.results.platform_limits_off.requests_per_s,
      3,
    ),
    limiter_cpu_overhead: round(
      cpuPerRequest(r.results.platform) / cpuPerRequest(r.results.platform_limits_off) - 1,
      3,
    ),
  }));
  const roundsOverhead = roundRatios.map((r) => r.limiter_cpu_overhead).filter(Number.isFinite);
  const pairsOverhead = pairs.map((p) => p.limiter_cpu_overhead).filter(Number.isFinite);
  const limiterOverheads = pairsOverhead.length ? pairsOverhead : roundsOverhead;
  const limiterCpuOverhead = limiterOverheads.length ? round(median(limiterOverheads), 3) : null;
  const ratioLimitsOnVsOff = round(median(roundRatios.map((r) => r.ratio_limits_on_vs_off)), 3);
  const limiterTargetMet = limiterCpuOverhead !== null && limiterCpuOverhead <= TARGET_LIMITER_CPU_OVERHEAD;
  const ratioVsExpress = median(perRound((r) => r.platform.requests_per_s / r.express.requests_per_s));
  const ratioVsExpressPg = median(perRound((r) => r.platform.requests_per_s / r.express_pg.requests_per_s));
  const ratioVsNodeHttp = platform.requests_per_s / nodeHttp.requests_per_s;
  const ratioEvents = platformWrite.requests_per_s / expressPg.write.requests_per_s;
  const targetMet = ratioVsExpress >= TARGET_RATIO_VS_EXPRESS;
  const targetPgMet = ratioVsExpressPg >= TARGET_RATIO_VS_EXPRESS_PG;
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
    'machine busy before': r.machine_before.busy_before,
  });
  printTable(
    `API overhead — ${connections} connections, ${durationS} s each after ${warmupS} s warm-up${profiling ? ' (platform CPU-profiled)' : ''}`,
    [
      row('node:http hello', nodeHttp),
      row('Express hello', express),
      row('Express + one prepared pg query', expressPg.read),
      row('platform GET /v1/users/{id}, limits on', platform),
      row('platform GET /v1/users/{id}, limits off', platformOff),
    ],
  );
  printTable(
    `Read rounds (each server a fresh process; figures of the run are the medians)`,
    rounds.map((r, i) => ({
      round: i + 1,
      order: r.order.join(' > '),
      'express req/s': r.results.express.requests_per_s,
      'express_pg req/s': r.results.express_pg.requests_per_s,
      'on req/s': r.results.platform.requests_per_s,
      'off req/s': r.results.platform_limits_off.requests_per_s,
      'on CPU us/req': cpuPerRequest(r.results.platform),
      'off CPU us/req': cpuPerRequest(r.results.platform_limits_off),
      'vs express': roundRatios[i]?.ratio_platform_vs_express,
      'vs express_pg': roundRatios[i]?.ratio_platform_vs_express_pg,
      'limiter CPU': roundRatios[i]?.limiter_cpu_overhead,
      'max other procs cores': Math.max(
        ...READ_ORDER.map((k) => r.results[k].cpu?.other_processes_cores ?? 0),
      ),
    })),
  );
  if (pairs.length > 0)
    printTable(
      `Limiter pairs (limits on and off side by side, ${sliceCount} alternating slices of ${sliceS} s each; limiter_cpu_overhead is the median)`,
      pairs.map((p, i) => ({
        pair: i + 1,
        'on CPU us/req': p.on_cpu_us_per_request,
        'off CPU us/req': p.off_cpu_us_per_request,
        'on requests': p.on_requests,
        'off requests': p.off_requests,
        'limiter CPU': p.limiter_cpu_overhead,
        'max other procs cores': p.max_other_processes_cores,
      })),
    );
  printTable(`Write path — POST /v1/events, ${eventsBatch} events per request`, [
    row('Express + one multi-row INSERT', expressPg.write),
    row('platform POST /v1/events, limits on', platformWrite),
  ]);
  printTable('Ratios and targets', [
    { metric: 'ratio_platform_vs_node_http', value: round(ratioVsNodeHttp, 3), target: '-', met: '-' },
    {
      metric: 'ratio_platform_vs_express',
      value: round(ratioVsExpress, 3),
      target: `>= ${TARGET_RATIO_VS_EXPRESS}`,
      met: targetMet ? 'yes' : 'NO',
    },
    {
      metric: 'ratio_platform_vs_express_pg',
      value: round(ratioVsExpressPg, 3),
      target: `>= ${TARGET_RATIO_VS_EXPRESS_PG}`,
      met: targetPgMet ? 'yes' : 'NO',
    },
    { metric: 'ratio_events_platform_vs_express_pg', value: round(ratioEvents, 3), target: '-', met: '-' },
    { metric: 'ratio_limits_on_vs_off', value: ratioLimitsOnVsOff, target: '-', met: '-' },
    {
      metric: 'limiter_cpu_overhead',
      value: limiterCpuOverhead,
      target: `<= ${TARGET_LIMITER_CPU_OVERHEAD}`,
      met: limiterTargetMet ? 'yes' : 'NO',
    },
  ]);
  for (const [name, p] of Object.entries(profiles)) {
    printTable(
      `CPU profile of ${name}: self time by area (busy ${p.busy_us_per_request} us per request over ${p.requests} requests)`,
      p.by_area.map((r) => ({ area: r.name, 'us/req': r.us_per_request, '% busy': r.pct_busy })),
    );
    printTable(
      `CPU profile of ${name}: inclusive time by area`,
      p.by_area_inclusive.map((r) => ({ area: r.name, 'us/req': r.us_per_request, '% busy': r.pct_busy })),
    );
    printTable(
      `CPU profile of ${name}: inclusive time of the API's, core's and their libraries' functions`,
      p.top_inclusive_platform.map((r) => ({
        function: r.name,
        'us/req': r.us_per_request,
        '% busy': r.pct_busy,
      })),
    );
    printTable(
      `CPU profile of ${name}: self time by function`,
      p.top_self.map((r) => ({ function: r.name, 'us/req': r.us_per_request, '% busy': r.pct_busy })),
    );
  }

  const path = await writeResult('api-overhead', {
    benchmark: 'api-overhead',
    machine: machineInfo({ postgres_version: postgresVersion }),
    parameters: {
      connections,
      duration_s: durationS,
      warmup_s: warmupS,
      events_batch: eventsBatch,
      cpu_profiled: profiling,
      read_round_count: roundCount,
      limiter_pairs: pairCount,
      limiter_slices: sliceCount,
      limiter_slice_s: sliceS,
      read_servers:
        "Express hello, Express + pg and the platform read (limits on, off): each measured once per round in a fresh process, the order rotating from round to round; servers.* is each one's median round by req/s, and the ratios are the medians of the per-round ratios",
      pipelining: 1,
      load_generator:
        'autocannon (programmatic), in the benchmark process; each server in its own child process',
      database_url: redactUrl(databaseUrl),
      redis_url: redactUrl(redis),
    },
    servers: {
      node_http: { description: 'node:http, 200 text/plain "Hello, world!"', ...nodeHttp },
      express: { description: 'Express 4 default settings, res.send("Hello, world!")', ...express },
      express_pg: {
        description:
          'Express 4, GET /v1/users/:id answered with one prepared pg query (pg.Pool of 10, no auth, no logging) on the first tenant schema',
        ...expressPg.read,
      },
      platform: {
        description: `platform API with rate limits on, GET /v1/users/{id} with tenant API keys, answered by the hot-read router in front of Express (rate limits: key and tenant budgets counted in Redis; key verification with its cache, tenant context, one prepared statement on the plan's pool), round-robin over ${LIMITS_TENANTS} enterprise tenants x ${KEYS_PER_TENANT} keys`,
        entry: apiEntry,
        env: apiEnv,
        logging: `LOG_LEVEL=${apiEnv.LOG_LEVEL} (at info: one access-log line per request) with stdout to /dev/null: the serialization cost is counted, no terminal cost`,
        ...platform,
      },
      platform_limits_off: {
        description: 'the same API and requests with RATE_LIMITS=off',
        entry: apiEntry,
        env: { ...apiEnv, RATE_LIMITS: 'off' },
        ...platformOff,
      },
    },
    write_path: {
      express_pg: {
        description: `Express 4, express.json(), POST /v1/events answered with one prepared multi-row INSERT of the ${eventsBatch} events (no validation, no auth, no quota)`,
        events_per_s: round(expressPg.write.requests_per_s * eventsBatch, 0),
        ...expressPg.write,
      },
      platform: {
        description: `platform API with rate limits on, POST /v1/events with ${eventsBatch} events per request (auth, write budgets, validation, daily quota reserved in Redis, COPY into the tenant's events), round-robin over ${LIMITS_TENANTS} tenants' read-write keys`,
        events_per_s: round(platformWrite.requests_per_s * eventsBatch, 0),
        ...platformWrite,
      },
    },
    read_rounds: rounds.map((r, i) => ({
      ...roundRatios[i],
      requests_per_s: Object.fromEntries(READ_ORDER.map((k) => [k, r.results[k].requests_per_s])),
      server_cpu_us_per_request: Object.fromEntries(
        READ_ORDER.map((k) => [k, r.results[k].cpu?.server_us_per_request]),
      ),
    })),
    ratio_platform_vs_express: round(ratioVsExpress, 3),
    ratio_platform_vs_express_pg: round(ratioVsExpressPg, 3),
    ratio_platform_vs_node_http: round(ratioVsNodeHttp, 3),
    ratio_events_platform_vs_express_pg: round(ratioEvents, 3),
    ratio_limits_on_vs_off: ratioLimitsOnVsOff,
    limiter_cpu_overhead: limiterCpuOverhead,
    limiter_pairs: pairs,
    limiter_cpu_overhead_read_rounds: roundsOverhead.length ? round(median(roundsOverhead), 3) : null,
    ...(profiling ? { profiles } : {}),
    targets: {
      ratio_platform_vs_express: {
        target: `>= ${TARGET_RATIO_VS_EXPRESS}`,
        value: round(ratioVsExpress, 3),
        met: targetMet,
      },
      ratio_platform_vs_express_pg: {
        target: `>= ${TARGET_RATIO_VS_EXPRESS_PG}`,
        value: round(ratioVsExpressPg, 3),
        met: targetPgMet,
      },
      limiter_cpu_overhead: {
        target: `<= ${TARGET_LIMITER_CPU_OVERHEAD}`,
        value: limiterCpuOverhead,
        met: limiterTargetMet,
        note: 'server (API process) CPU per request, limits on over off, minus 1, per pair of processes side by side (slices alternating); the median of the pairs. Redis CPU not included',
      },
    },
  });
  note(`wrote ${path}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
