/**
 * Events ingest: events/s through the API's POST /v1/events (batches of 1,000, several
 * connections, autocannon) against COPY FROM STDIN (pg-copy-streams) into the same tenant's
 * partitioned `events` table, with the same batches and connections, in the same run.
 */
import os from 'node:os';
import { pipeline } from 'node:stream/promises';
import { createDatabase, type Database, schemaForSlug } from '@platform/core';
import { resetTestDatabase } from '@platform/core/testing';
import { from as copyFrom } from 'pg-copy-streams';
import { machineBusyMs, snapshot, spent } from './lib/cpu.js';
import { benchDatabaseUrl, intFromEnv, redactUrl, redisUrl } from './lib/env.js';
import { exclusiveBenchRun } from './lib/exclusive.js';
import { type LoadResult, measure } from './lib/load.js';
import { apiBackendPids, createFixtureViaApi, startPlatformApi } from './lib/platform-api.js';
import { type Quiet, waitForQuiet } from './lib/quiet.js';
import { machineInfo, writeResult } from './lib/results.js';
import { msSince, percentile, round } from './lib/stats.js';
import { note, printTable } from './lib/table.js';

const TARGET_RATIO_API_VS_COPY = 0.3;
const SLUG = 'bench-ingest';

const connections = intFromEnv('BENCH_CONNECTIONS', 4);
const durationS = intFromEnv('BENCH_DURATION_S', 15);
const warmupS = intFromEnv('BENCH_WARMUP_S', 3);
const batchSize = intFromEnv('BENCH_BATCH', 1000);
const databaseUrl = benchDatabaseUrl();
const redis = redisUrl();

interface BenchEvent {
  type: string;
  occurred_at: string;
  user_id: string;
  payload: Record<string, unknown>;
}

const TYPES = ['page.viewed', 'button.clicked', 'form.submitted', 'search.performed'];

/** One batch as a client would send it: a few types, times over the last hour, a small payload. */
function makeBatch(userId: string, now = Date.now()): BenchEvent[] {
  return Array.from({ length: batchSize }, (_, i) => ({
    type: TYPES[i % TYPES.length] as string,
    occurred_at: new Date(now - (i * 3_600_000) / batchSize).toISOString(),
    user_id: userId,
    payload: { path: `/docs/page-${i % 50}`, referrer: 'https://example.com/', n: i, ok: i % 3 === 0 },
  }));
}

/** COPY text format: tab-separated columns, backslash escapes for backslash, tab, newline and CR. */
function copyText(events: BenchEvent[]): string {
  const esc = (v: string) =>
    v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  let out = '';
  for (const e of events) {
    out += `${esc(e.type)}\t${e.occurred_at}\t${e.user_id}\t${esc(JSON.stringify(e.payload))}\n`;
  }
  return out;
}

interface PgClient {
  query: (stream: ReturnType<typeof copyFrom>) => ReturnType<typeof copyFrom>;
  processID?: number;
}

interface CopyResult {
  events_per_s: number;
  batches_per_s: number;
  batches: number;
  events: number;
  duration_s: number;
  batch_latency_p50_ms: number;
  batch_latency_p99_ms: number;
  connections: number;
  warmup_s: number;
  cpu: {
    postgres_ms: number;
    benchmark_ms: number;
    postgres_us_per_event: number;
    benchmark_us_per_event: number;
    other_processes_cores: number | null;
  };
  machine_before: Quiet;
}

/**
 * `connections` loops, each on its own pooled connection, each sending one COPY of `batchSize` rows
 * at a time (one statement and one implicit transaction per batch, as each POST is) until the time is up.
 */
async function copyLoad(db: Database, table: string, userId: string, seconds: number) {
  const pg = db.client as {
    acquireConnection(): Promise<PgClient>;
    releaseConnection(c: PgClient): Promise<void>;
  };
  const clients = await Promise.all(Array.from({ length: connections }, () => pg.acquireConnection()));
  const latencies: number[] = [];
  let batches = 0;
  const sql = `copy ${table} (type, occurred_at, user_id, payload) from stdin`;
  const start = process.hrtime.bigint();
  const deadline = Date.now() + seconds * 1000;
  try {
    await Promise.all(
      clients.map(async (client) => {
        while (Date.now() < deadline) {
          const t0 = process.hrtime.bigint();
          const text = copyText(makeBatch(userId));
          const stream = client.query(copyFrom(sql));
          await pipeline(
            (async function* () {
              yield Buffer.from(text);
            })(),
            stream,
          );
          latencies.push(msSince(t0));
          batches++;
        }
      }),
    );
    return { batches, latencies, elapsedMs: msSince(start), pids: clients.map((c) => c.processID ?? 0) };
  } finally {
    for (const c of clients) await pg.releaseConnection(c);
  }
}

async function measureCopy(db: Database, table: string, userId: string): Promise<CopyResult> {
  const quiet = await waitForQuiet({
    maxBusy: intFromEnv('BENCH_QUIET_MAX_BUSY_PCT', 15) / 100,
    timeoutMs: intFromEnv('BENCH_QUIET_TIMEOUT_S', 120) * 1000,
  });
  if (warmupS > 0) {
    note(`COPY: warm-up ${warmupS} s`);
    await copyLoad(db, table, userId, warmupS);
  }
  note(`COPY: measuring ${durationS} s at ${connections} connections`);
  const { rows } = await db.raw<{ rows: Array<{ pid: number }> }>(
    "select pid from pg_stat_activity where datname = current_database() and application_name = 'bench-copy'",
  );
  const pids = rows.map((r) => r.pid);
  const pgBefore = snapshot(pids);
  const ownBefore = process.cpuUsage();
  const machineBefore = machineBusyMs();
  const run = await copyLoad(db, table, userId, durationS);
  const machineAfter = machineBusyMs();
  const ownUs = process.cpuUsage(ownBefore);
  const postgresMs = spent(pgBefore, snapshot(pids));
  const benchmarkMs = (ownUs.user + ownUs.system) / 1000;
  const events = run.batches * batchSize;
  const seconds = run.elapsedMs / 1000;
  const perEvent = (ms: number) => round((ms * 1000) / Math.max(1, events), 2);
  return {
    events_per_s: round(events / seconds, 0),
    batches_per_s: round(run.batches / seconds, 1),
    batches: run.batches,
    events,
    duration_s: round(seconds, 3),
    batch_latency_p50_ms: round(percentile(run.latencies, 50), 3),
    batch_latency_p99_ms: round(percentile(run.latencies, 99), 3),
    connections,
    warmup_s: warmupS,
    cpu: {
      postgres_ms: round(postgresMs, 0),
      benchmark_ms: round(benchmarkMs, 0),
      postgres_us_per_event: perEvent(postgresMs),
      benchmark_us_per_event: perEvent(benchmarkMs),
      other_processes_cores:
        machineBefore === undefined || machineAfter === undefined
          ? null
          : round(Math.max(0, machineAfter - machineBefore - postgresMs - benchmarkMs) / run.elapsedMs, 2),
    },
    machine_before: quiet,
  };
}

async function countEvents(db: Database, table: string): Promise<number> {
  const { rows } = await db.raw<{ rows: Array<{ n: number }> }>(`select count(*)::bigint as n from ${table}`);
  return rows[0]?.n ?? 0;
}

async function main(): Promise<void> {
  const db = createDatabase({ url: databaseUrl, poolMax: 3, applicationName: 'bench' });
  try {
    await exclusiveBenchRun(db, 'ingest', () => run(db));
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
  const table = `${schemaForSlug(SLUG)}.events`;

  const api = await startPlatformApi({ databaseUrl, redisUrl: redis, logLevel: 'info' });
  let apiResult: LoadResult;
  let userId: string;
  let apiRows: number;
  try {
    note('platform API: creating a tenant, an API key and a user through the API');
    const fixture = await createFixtureViaApi(api, SLUG, { provisionWith: db });
    userId = fixture.userId;
    const body = JSON.stringify({ events: makeBatch(userId) });
    const before = await countEvents(db, table);
    apiResult = await measure({
      label: `POST /v1/events (${batchSize} per request)`,
      url: api.url,
      request: {
        method: 'POST',
        path: '/v1/events',
        headers: { authorization: `Bearer ${fixture.key}`, 'content-type': 'application/json' },
        body,
      },
      serverPid: api.pid,
      postgresPids: apiBackendPids(db),
      connections,
      durationS,
      warmupS,
    });
    apiRows = (await countEvents(db, table)) - before;
  } finally {
    await api.stop();
  }
  // Every accepted batch must be in the table (requests still in flight when the clock stopped may add more).
  const apiAccepted = apiResult.responses_2xx * batchSize;
  if (apiRows < apiAccepted)
    throw new Error(`API: ${apiAccepted} events accepted but only ${apiRows} stored`);

  const copyDb = createDatabase({
    url: databaseUrl,
    poolMin: connections,
    poolMax: connections,
    applicationName: 'bench-copy',
  });
  let copy: CopyResult;
  try {
    const before = await countEvents(db, table);
    copy = await measureCopy(copyDb, table, userId);
    const copyRows = (await countEvents(db, table)) - before;
    if (copyRows < copy.events)
      throw new Error(`COPY: ${copy.events} events sent but only ${copyRows} stored`);
  } finally {
    await copyDb.destroy();
  }

  const apiEventsPerS = round(apiResult.requests_per_s * batchSize, 0);
  const ratio = apiEventsPerS / copy.events_per_s;
  const targetMet = ratio >= TARGET_RATIO_API_VS_COPY;
  const apiEvents = Math.max(1, apiResult.responses_2xx * batchSize);
  const perEvent = (ms: number | null | undefined) =>
    ms === null || ms === undefined ? null : round((ms * 1000) / apiEvents, 2);
  const apiCpu = {
    server_us_per_event: perEvent(apiResult.cpu?.server_ms),
    postgres_us_per_event: perEvent(apiResult.cpu?.postgres_ms),
    load_generator_us_per_event: perEvent(apiResult.cpu?.load_generator_ms),
  };
  printTable(
    `Events ingest — ${connections} connections, batches of ${batchSize}, ${durationS} s each after ${warmupS} s warm-up`,
    [
      {
        path: 'POST /v1/events',
        'events/s': apiEventsPerS,
        'batches/s': apiResult.requests_per_s,
        'batch p50 ms': apiResult.latency_p50_ms,
        'batch p99 ms': apiResult.latency_p99_ms,
        'server CPU us/event': apiCpu.server_us_per_event,
        'postgres CPU us/event': apiCpu.postgres_us_per_event,
        'client CPU us/event': apiCpu.load_generator_us_per_event,
        'other procs cores': apiResult.cpu?.other_processes_cores,
      },
      {
        path: 'COPY FROM STDIN',
        'events/s': copy.events_per_s,
        'batches/s': copy.batches_per_s,
        'batch p50 ms': copy.batch_latency_p50_ms,
        'batch p99 ms': copy.batch_latency_p99_ms,
        'server CPU us/event': null,
        'postgres CPU us/event': copy.cpu.postgres_us_per_event,
        'client CPU us/event': copy.cpu.benchmark_us_per_event,
        'other procs cores': copy.cpu.other_processes_cores,
      },
    ],
  );
  printTable('Ratio and target', [
    {
      metric: 'ratio_api_vs_copy',
      value: round(ratio, 3),
      target: `>= ${TARGET_RATIO_API_VS_COPY}`,
      met: targetMet ? 'yes' : 'NO',
    },
  ]);

  const path = await writeResult('ingest', {
    benchmark: 'ingest',
    machine: machineInfo({ postgres_version: postgresVersion }),
    parameters: {
      connections,
      duration_s: durationS,
      warmup_s: warmupS,
      batch_size: batchSize,
      table,
      cpus: os.cpus().length,
      api: 'POST /v1/events through the real API process (autocannon, same 1,000-event body every request)',
      copy: 'COPY <table> (type, occurred_at, user_id, payload) FROM STDIN, text format, one COPY per batch, each connection one batch at a time',
      database_url: redactUrl(databaseUrl),
      redis_url: redactUrl(redis),
    },
    api_events_per_s: apiEventsPerS,
    copy_events_per_s: copy.events_per_s,
    ratio_api_vs_copy: round(ratio, 3),
    api: { ...apiResult, events_per_s: apiEventsPerS, events_stored: apiRows, cpu_per_event: apiCpu },
    copy,
    targets: {
      ratio_api_vs_copy: { target: `>= ${TARGET_RATIO_API_VS_COPY}`, value: round(ratio, 3), met: targetMet },
    },
  });
  note(`wrote ${path}`);
  if (process.env.BENCH_KEEP_DATA !== '1') {
    note('resetting the database (BENCH_KEEP_DATA=1 keeps the events)');
    await resetTestDatabase(db);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
