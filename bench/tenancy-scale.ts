/**
 * Tenancy at scale: provisioning time per tenant up to N tenants (default 10,000, provisioned with
 * bounded concurrency), API latency and memory with one tenant against every tenant touched, the
 * wall time of migrating every tenant schema (one migration pending, then none), one pg_partman
 * maintenance pass through the worker, catalog rows per tenant, database size and PostgreSQL
 * backend memory.
 */

import { execFileSync } from 'node:child_process';
import os from 'node:os';
import {
  createApiKey,
  createDatabase,
  type Database,
  insertTenant,
  insertUser,
  mapWithConcurrency,
  migrateAllTenants,
  namespaceForSlug,
  type ProvisioningStep,
  provisionTenant,
  quoteIdent,
  runPartmanMaintenancePass,
  schemaForSlug,
  type TenantMigration,
  type TenantRef,
} from '@platform/core';
import { resetTestDatabase } from '@platform/core/testing';
import { Redis } from 'ioredis';
import { tenantMigrations } from '../packages/core/src/migrations/tenant/index.js';
import { machineBusyMs, snapshot, spent } from './lib/cpu.js';
import { benchDatabaseUrl, intFromEnv, redactUrl, redisUrl } from './lib/env.js';
import { exclusiveBenchRun } from './lib/exclusive.js';
import { inspectorPort, memoryAfterGc } from './lib/inspector.js';
import { type LoadResult, measure } from './lib/load.js';
import { machineSpeed } from './lib/machine-speed.js';
import { processesMemory, processMemory } from './lib/memory.js';
import { apiBackendPids, call, type PlatformApi, startPlatformApi } from './lib/platform-api.js';
import { startPlatformWorker } from './lib/platform-worker.js';
import { waitForQuiet } from './lib/quiet.js';
import { machineInfo, writeResult } from './lib/results.js';
import { msSince, percentile, round } from './lib/stats.js';
import { note, printTable } from './lib/table.js';

const TARGETS = {
  provision_p50_ms: 100,
  /** Last thousand's provisioning p50 over the first thousand's. */
  provision_flat_ratio: 1.2,
  migrate_all_one_pending_s: 120,
  migrate_all_none_pending_s: 2,
  maintenance_pass_s: 60,
  /** Latency at 10,000 tenants over that of one, rounds paired within seconds (measureApi). */
  latency_ratio: 1.1,
  rss_ratio_many_vs_one: 1.2,
};

/** A positive integer from the environment, at most `max`. */
function boundedIntFromEnv(name: string, fallback: number, max: number): number {
  const value = intFromEnv(name, fallback);
  if (value > max) throw new Error(`${name} must be at most ${max}, got ${value}`);
  return value;
}

const tenantCount = boundedIntFromEnv('BENCH_TENANTS', 10_000, 50_000);
const provisionConcurrency = boundedIntFromEnv('BENCH_PROVISION_CONCURRENCY', 2, 16);
const spreadCount = Math.min(intFromEnv('BENCH_SPREAD_TENANTS', tenantCount), tenantCount);
const connections = intFromEnv('BENCH_CONNECTIONS', 10);
const durationS = intFromEnv('BENCH_DURATION_S', 10);
const warmupS = intFromEnv('BENCH_WARMUP_S', 3);
const rounds = intFromEnv('BENCH_ROUNDS', 5);
const migrateConcurrency = intFromEnv('BENCH_MIGRATE_CONCURRENCY', 4);
const poolShare = intFromEnv('BENCH_POOL_SHARE', 1);
const keepData = process.env.BENCH_KEEP_DATA === '1';
const databaseUrl = benchDatabaseUrl();
const redis = redisUrl();

/** The extra tenant migration the benchmark rolls out to every schema. */
const extraMigration: TenantMigration = {
  name: '9000_bench_users_nickname',
  async up(db, schema) {
    await db.raw(`alter table ${quoteIdent(schema)}.users add column bench_nickname text`);
  },
  async down(db, schema) {
    await db.raw(`alter table ${quoteIdent(schema)}.users drop column bench_nickname`);
  },
};

interface Provisioned {
  ref: TenantRef;
  ms: number;
  steps: Record<string, number>;
}

interface Credential {
  slug: string;
  key: string;
  userId: string;
}

const slugFor = (i: number) => `bench-${String(i).padStart(5, '0')}`;

/** insertTenant + provisionTenant for one tenant, timed in total and per provisioning step. */
async function provisionOne(db: Database, i: number): Promise<Provisioned> {
  const slug = slugFor(i);
  const start = process.hrtime.bigint();
  const tenant = await insertTenant(db, {
    slug,
    name: `Bench tenant ${i}`,
    plan: 'standard',
    schema_name: schemaForSlug(slug),
    namespace: namespaceForSlug(slug),
  });
  const steps: Record<string, number> = { insert: msSince(start) };
  let mark = process.hrtime.bigint();
  const outcome = await provisionTenant(db, tenant.id, {
    afterStep: (step: ProvisioningStep) => {
      steps[step] = msSince(mark);
      mark = process.hrtime.bigint();
    },
  });
  steps.finish = msSince(mark);
  const ms = msSince(start);
  if (outcome !== 'done') throw new Error(`provisioning ${slug} was ${outcome}`);
  return { ref: { id: tenant.id, slug, schema: tenant.schema_name, plan: tenant.plan }, ms, steps };
}

async function credentialFor(db: Database, ref: TenantRef): Promise<Credential> {
  const { key } = await createApiKey(db, ref.id, { name: 'bench', scopes: ['read'] });
  const user = await insertUser(db, ref, { email: `user@${ref.slug}.example`, name: 'Bench User' });
  return { slug: ref.slug, key, userId: user.id };
}

const median = (values: number[]) => percentile(values, 50);

/** application_name of the fresh API's connections (its URL's, which wins over the API's own). */
const FRESH_API_APPLICATION = 'api-fresh';

/**
 * Starts the API in its own process, touches every credential once through it (each must answer
 * 200, and one tenant's key must not reach another tenant's user), then measures `rounds` times
 * with requests going round-robin over the credentials. Each round can be joined by more series,
 * measured in turn within the round, their order rotating from round to round: the machine's
 * speed drifts over minutes, and rounds of one pair compare within seconds.
 * - `control`: requests round-robin over these credentials instead, in the same process;
 * - `fresh`: requests over these credentials through a second API process started after the
 *   first one's touch, which serves nothing else (its connections named `api-fresh`).
 * Reads the API's resident memory and that of its PostgreSQL backends (whose relation caches
 * grow with the schemas they have touched) after the last round.
 */
async function measureApi(
  db: Database,
  label: string,
  credentials: Credential[],
  series: { control?: Credential[]; fresh?: Credential[] } = {},
) {
  // Thousands of tenants: each connection of a plan's pool serves a share of them (docs/tenancy.md).
  const inspector = await inspectorPort();
  const start = (url: string, nodeArgs: string[] = []) =>
    startPlatformApi({
      databaseUrl: url,
      redisUrl: redis,
      logLevel: 'info',
      env: { DATABASE_POOL_SHARE: String(poolShare) },
      nodeArgs,
    });
  const api = await start(databaseUrl, inspector.nodeArgs);
  let freshApi: PlatformApi | undefined;
  try {
    const touch = await timed(() =>
      mapWithConcurrency(credentials, connections, (c) =>
        call(api.url, c.key, 'GET', `/v1/users/${c.userId}`, 200),
      ),
    );
    if (credentials.length > 1) {
      const [a, b] = credentials as [Credential, Credential];
      await call(api.url, a.key, 'GET', `/v1/users/${b.userId}`, 404);
    }
    const fresh = series.fresh ?? [];
    if (fresh.length > 0) {
      const url = new URL(databaseUrl);
      url.searchParams.set('application_name', FRESH_API_APPLICATION);
      freshApi = await start(url.toString());
      const freshUrl = freshApi.url;
      await mapWithConcurrency(fresh, connections, (c) =>
        call(freshUrl, c.key, 'GET', `/v1/users/${c.userId}`, 200),
      );
    }
    // Whatever ran before (the previous run's database being removed, autovacuum) skews the
    // baseline as much as the figure: measure on a quiet machine, or say it was not.
    const machineBefore = await waitForQuiet({ maxBusy: 0.15, timeoutMs: 180_000 });
    const speedBefore = machineSpeed();
    const roundRobin = (over: Credential[]) => {
      let next = 0;
      return () => {
        const c = over[next++ % over.length] as Credential;
        return { path: `/v1/users/${c.userId}`, headers: { authorization: `Bearer ${c.key}` } };
      };
    };
    const results: LoadResult[] = [];
    const controlResults: LoadResult[] = [];
    const freshResults: LoadResult[] = [];
    const control = series.control ?? [];
    const runs = [
      { name: '', server: api, application: 'api', request: roundRobin(credentials), into: results },
      ...(control.length > 0
        ? [
            {
              name: `, control over ${control.length}`,
              server: api,
              application: 'api',
              request: roundRobin(control),
              into: controlResults,
            },
          ]
        : []),
      ...(freshApi
        ? [
            {
              name: `, fresh API over ${fresh.length}`,
              server: freshApi,
              application: FRESH_API_APPLICATION,
              request: roundRobin(fresh),
              into: freshResults,
            },
          ]
        : []),
    ];
    for (let r = 0; r < rounds; r++) {
      const turn = r % runs.length;
      for (const run of [...runs.slice(turn), ...runs.slice(0, turn)]) {
        run.into.push(
          await measure({
            label: `${label} round ${r + 1}/${rounds}${run.name}`,
            url: run.server.url,
            connections,
            durationS,
            warmupS: r === 0 ? warmupS : 0,
            request: run.request,
            serverPid: run.server.pid,
            postgresPids: apiBackendPids(db, run.application),
          }),
        );
      }
    }
    const speedAfter = machineSpeed();
    const apiMemory = processMemory(api.pid) ?? null;
    const postgresMemory = processesMemory(await apiBackendPids(db)());
    return {
      rounds: results,
      control_rounds: controlResults,
      fresh_rounds: freshResults,
      machine_before: machineBefore,
      machine_speed: {
        before: speedBefore,
        after: speedAfter,
        cpu_us_per_iteration: round(
          (speedBefore.cpu_us_per_iteration + speedAfter.cpu_us_per_iteration) / 2,
          3,
        ),
      },
      touch_all_s: round(touch.s, 2),
      api_memory: apiMemory,
      fresh_api_memory: freshApi ? (processMemory(freshApi.pid) ?? null) : null,
      api_memory_after_gc: await memoryAfterGc(api.pid, inspector),
      postgres_backends_memory: postgresMemory,
    };
  } finally {
    await freshApi?.stop();
    await api.stop();
  }
}

function summarizeLatency(results: LoadResult[]) {
  return {
    requests_per_s: round(median(results.map((r) => r.requests_per_s)), 1),
    latency_p50_ms: round(median(results.map((r) => r.latency_p50_ms)), 3),
    latency_p99_ms: round(median(results.map((r) => r.latency_p99_ms)), 3),
    server_cpu_us_per_request: round(
      median(results.map((r) => r.cpu?.server_us_per_request ?? Number.NaN)),
      1,
    ),
    postgres_cpu_us_per_request: round(
      median(results.map((r) => r.cpu?.postgres_us_per_request ?? Number.NaN)),
      1,
    ),
    other_processes_cores: round(median(results.map((r) => r.cpu?.other_processes_cores ?? Number.NaN)), 2),
    rounds: results,
  };
}

/**
 * Writes out what the phases before dirtied (`CHECKPOINT`), so that a measurement does not share
 * the machine with their deferred writes (after provisioning 10,000 tenants, the fsync of some
 * 750,000 new files). On the benchmark's own connection when its role may (a superuser, or a
 * member of `pg_checkpoint`); else, run as root against a local server, as the `postgres`
 * superuser (`runuser`, as `scripts/setup.sh` does); else not at all (null). Returns the seconds
 * it took.
 */
async function settle(db: Database): Promise<number | null> {
  const start = process.hrtime.bigint();
  try {
    await db.raw('checkpoint');
  } catch (err) {
    const local = ['127.0.0.1', 'localhost', '::1'].includes(new URL(databaseUrl).hostname);
    if ((err as { code?: string }).code !== '42501' || process.getuid?.() !== 0 || !local) {
      note(`not settled (checkpoint refused: ${(err as Error).message})`);
      return null;
    }
    const { port, pathname } = new URL(databaseUrl);
    execFileSync(
      'runuser',
      [
        '-u',
        'postgres',
        '--',
        'psql',
        '-X',
        '-qAt',
        '-p',
        port || '5432',
        '-d',
        decodeURIComponent(pathname.slice(1)),
        '-c',
        'checkpoint',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' },
    );
  }
  return round(msSince(start) / 1000, 2);
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; s: number }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { value, s: msSince(start) / 1000 };
}

/** Busy cores of the whole machine, and how much of it was not this benchmark and its backends. */
function busyMeter(db: Database) {
  const ownPids = async () => {
    const { rows } = await db.raw<{ rows: Array<{ pid: number }> }>(
      "select pid from pg_stat_activity where datname = current_database() and application_name = 'bench'",
    );
    return [process.pid, ...rows.map((r) => r.pid)];
  };
  return async () => {
    const start = process.hrtime.bigint();
    const machineBefore = machineBusyMs();
    const pidsBefore = await ownPids();
    const ownBefore = snapshot(pidsBefore);
    return async () => {
      const wallS = msSince(start) / 1000;
      const machineAfter = machineBusyMs();
      const ownAfter = snapshot([...new Set([...pidsBefore, ...(await ownPids())])]);
      if (machineBefore === undefined || machineAfter === undefined || wallS <= 0) return null;
      const machine = (machineAfter - machineBefore) / 1000 / wallS;
      const own = spent(ownBefore, ownAfter) / 1000 / wallS;
      return {
        machine_busy_cores: round(machine, 2),
        benchmark_cores: round(own, 2),
        other_processes_cores: round(Math.max(0, machine - own), 2),
        load_avg_1m: round(os.loadavg()[0] ?? 0, 2),
      };
    };
  };
}

/** Rows of the catalog tables that grow with every schema, and the database's size. */
/**
 * The catalog tables that grow with every schema. The database's owner may vacuum them (not the
 * shared catalogs), so the benchmark does it after provisioning rather than leave it to autovacuum
 * during the measurements.
 */
const CATALOG_TABLES = [
  'pg_class',
  'pg_attribute',
  'pg_type',
  'pg_index',
  'pg_constraint',
  'pg_depend',
  'pg_inherits',
];

async function catalogFootprint(db: Database) {
  const tables = CATALOG_TABLES;
  const { rows } = await db.raw<{ rows: Array<Record<string, string>> }>(
    `select ${tables.map((t) => `(select count(*) from pg_catalog.${t}) as ${t}`).join(', ')},
            pg_database_size(current_database()) as database_bytes,
            (select sum(pg_total_relation_size(c.oid)) from pg_class c
              where c.relnamespace = 'pg_catalog'::regnamespace and c.relkind = 'r') as catalog_bytes`,
  );
  const row = rows[0] ?? {};
  return {
    rows: Object.fromEntries(tables.map((t) => [t, Number(row[t])])) as Record<string, number>,
    database_mb: round(Number(row.database_bytes) / 2 ** 20, 1),
    catalog_mb: round(Number(row.catalog_bytes) / 2 ** 20, 1),
  };
}

/**
 * Locks a single-transaction `partman.run_maintenance()` would hold, projected from `sample` tables
 * maintained in one transaction (rolled back), against the shared lock table's capacity.
 */
async function singleTransactionLocks(db: Database, sample: number) {
  const { rows } = await db.raw<{ rows: Array<{ parent_table: string }> }>(
    "select parent_table from partman.part_config where parent_table like 'tenant\\_%' order by parent_table limit ?",
    [sample],
  );
  const { rows: settings } = await db.raw<{ rows: Array<{ capacity: string }> }>(
    `select current_setting('max_locks_per_transaction')::int
            * (current_setting('max_connections')::int + current_setting('max_prepared_transactions')::int) as capacity`,
  );
  let locks = 0;
  const rollback = new Error('rollback');
  await db
    .transaction(async (trx) => {
      for (const r of rows) {
        await trx.raw('select partman.run_maintenance(p_parent_table := ?, p_analyze := false)', [
          r.parent_table,
        ]);
      }
      const res = await trx.raw<{ rows: Array<{ n: string }> }>(
        'select count(*) as n from pg_locks where pid = pg_backend_pid()',
      );
      locks = Number(res.rows[0]?.n ?? 0);
      throw rollback;
    })
    .catch((err: unknown) => {
      if (err !== rollback) throw err;
    });
  const perTable = rows.length ? locks / rows.length : 0;
  return {
    sample_tables: rows.length,
    locks_per_tenant: round(perTable, 1),
    projected_locks: Math.round(perTable * tenantCount),
    lock_table_capacity: Number(settings[0]?.capacity ?? 0),
  };
}

/**
 * Starts the worker, whose scheduler publishes a maintenance pass at start (the schedule's Redis
 * keys are cleared first), waits for the pass to finish and reads the worker's memory. Every
 * tenant's premake is raised first, so the pass creates one partition per tenant, as the
 * daily pass does (tenants' events premake from the current time: no event is needed for it).
 */
async function maintenanceThroughWorker(db: Database) {
  // A new tenant's partitions reach one day past premake, which pg_partman counts from now
  // (rounded to whole days): before midday one more day is premade than configured, from then on none.
  await db.raw(
    `update partman.part_config
        set premake = premake + case when now() - date_trunc('day', now()) < interval '12 hours' then 2 else 1 end
      where parent_table like 'tenant\\_%'`,
  );
  const client = new Redis(redis, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  try {
    await client.del(
      'platform:schedule:platform:partman_maintenance',
      'platform:schedule:platform:resume_tenants',
      'platform:lock:partman_maintenance',
    );
  } finally {
    client.disconnect();
  }
  const inspector = await inspectorPort();
  const worker = await startPlatformWorker({
    databaseUrl,
    redisUrl: redis,
    env: { WORKER_CONCURRENCY: '2' },
    nodeArgs: inspector.nodeArgs,
  });
  try {
    const line = await worker.waitForLog(
      ['maintenance pass done', 'maintenance failed for some tables'],
      20 * 60_000,
    );
    if (line.msg !== 'maintenance pass done') throw new Error(`maintenance failed: ${JSON.stringify(line)}`);
    // Let the task's completion settle before reading memory.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    return {
      tables: Number(line.tables),
      due: Number(line.due),
      up_to_date: Number(line.up_to_date),
      plan_ms: Number(line.plan_ms),
      pass_s: round(Number(line.ms) / 1000, 2),
      longest_table_ms: Number(line.longest_ms),
      longest_table: String(line.longest_table),
      worker_memory: processMemory(worker.pid) ?? null,
      worker_memory_after_gc: await memoryAfterGc(worker.pid, inspector),
    };
  } finally {
    await worker.stop();
  }
}

async function main(): Promise<void> {
  const poolMax = Math.max(migrateConcurrency, provisionConcurrency, connections) + 2;
  const db = createDatabase({ url: databaseUrl, poolMax, applicationName: 'bench' });
  try {
    await exclusiveBenchRun(db, 'tenancy-scale', () => run(db));
  } finally {
    await db.destroy();
  }
}

const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a == null || b == null || b === 0 ? null : round(a / b, 3);

async function run(db: Database): Promise<void> {
  const meter = busyMeter(db);
  const wholeRun = await meter();
  try {
    note(`resetting ${redactUrl(databaseUrl)}`);
    await resetTestDatabase(db);
    const { rows } = await db.raw<{ rows: Array<{ v: string }> }>(
      "select current_setting('server_version') as v",
    );
    const postgresVersion = rows[0]?.v ?? 'unknown';

    // 1. The first tenant (its queries counted): latency, API and backend memory, and a maintenance pass through the worker.
    let provisionQueries = 0;
    const countQuery = () => {
      provisionQueries++;
    };
    db.on('query', countQuery);
    const provisioned: Provisioned[] = [];
    try {
      provisioned.push(await provisionOne(db, 0));
    } finally {
      db.removeListener('query', countQuery);
    }
    const first = provisioned[0] as Provisioned;
    const oneCredential = await credentialFor(db, first.ref);
    const footprintOne = await catalogFootprint(db);
    const settleOne = await settle(db);
    note('latency with 1 tenant');
    const oneApi = await measureApi(db, '1 tenant', [oneCredential]);
    const one = summarizeLatency(oneApi.rounds);
    note('maintenance pass through the worker with 1 tenant');
    const maintenanceOne = await maintenanceThroughWorker(db);

    // 2. The other tenants, `provisionConcurrency` at a time, once the disk is done with what ran
    // before (the previous run's schemas, dropped by the reset, are freed for minutes).
    const provisionQuiet = await waitForQuiet({ maxBusy: 0.15, maxIoPressure: 10, timeoutMs: 300_000 });
    note(`provisioning ${tenantCount - 1} more tenants, ${provisionConcurrency} at a time`);
    const provisionStart = process.hrtime.bigint();
    const provisionMeter = await meter();
    let done = 1;
    const rest = await mapWithConcurrency(
      Array.from({ length: tenantCount - 1 }, (_, k) => k + 1),
      provisionConcurrency,
      async (i) => {
        const p = await provisionOne(db, i);
        if (++done % 500 === 0) note(`  ${done}/${tenantCount} provisioned`);
        return p;
      },
    );
    provisioned.push(...rest);
    const provisionBusy = await provisionMeter();
    const provisionWallS = msSince(provisionStart) / 1000 + first.ms / 1000;
    const footprintMany = await catalogFootprint(db);

    // 3. Every tenant touched through the API's pool, then latency round-robin over `spreadCount` of them.
    note(`creating a key and a user for ${spreadCount} tenants`);
    const step = tenantCount / spreadCount;
    const spread = Array.from(
      { length: spreadCount },
      (_, k) => provisioned[Math.floor(k * step)] as Provisioned,
    );
    const credentials = [
      oneCredential,
      ...(await mapWithConcurrency(spread.slice(1), 4, (p) => credentialFor(db, p.ref))),
    ];
    note('vacuum and analyze of the catalogs, and a checkpoint, after provisioning');
    const catalogVacuum = await timed(() =>
      db.raw(`vacuum (analyze) ${CATALOG_TABLES.map((t) => `pg_catalog.${t}`).join(', ')}`),
    );
    const settleMany = await settle(db);
    note(`latency with ${tenantCount} tenants, round-robin over ${credentials.length}`);
    const manyApi = await measureApi(db, `${tenantCount} tenants`, credentials, {
      control: [oneCredential],
      fresh: [oneCredential],
    });
    const many = summarizeLatency(manyApi.rounds);
    const manyOneActive = summarizeLatency(manyApi.control_rounds);
    const freshOne = summarizeLatency(manyApi.fresh_rounds);
    // Each round's p50 over that of its paired round of another series, and their median.
    const pairs = (other: LoadResult[]) => {
      const each = manyApi.rounds.map((r, k) =>
        round(r.latency_p50_ms / (other[k] as LoadResult).latency_p50_ms, 3),
      );
      return { median: round(median(each), 3), pairs: each };
    };
    const spreadVsOneActive = pairs(manyApi.control_rounds);
    const manyVsFresh = pairs(manyApi.fresh_rounds);

    // 4. Migrating every tenant: one migration pending, then none.
    const migrations = [...tenantMigrations, extraMigration];
    note(`migrateAllTenants with ${extraMigration.name} pending, concurrency ${migrateConcurrency}`);
    const migrateMeter = await meter();
    const onePending = await timed(() =>
      migrateAllTenants(db, { concurrency: migrateConcurrency, migrations }),
    );
    const migrateBusy = await migrateMeter();
    if (onePending.value.failed.length > 0 || onePending.value.migrated.length !== tenantCount) {
      throw new Error(
        `migrateAllTenants migrated ${onePending.value.migrated.length}/${tenantCount}, failed: ${JSON.stringify(onePending.value.failed.slice(0, 3))}`,
      );
    }
    note('migrateAllTenants with nothing pending');
    const nonePending = await timed(() =>
      migrateAllTenants(db, { concurrency: migrateConcurrency, migrations }),
    );
    if (nonePending.value.pending !== 0)
      throw new Error(`expected nothing pending, got ${nonePending.value.pending}`);

    // 5. pg_partman maintenance: what one transaction over every tenant would hold, then a pass through the worker.
    const singleTransaction = await singleTransactionLocks(db, Math.min(20, tenantCount));
    const settleMaintenance = await settle(db);
    note(`maintenance pass through the worker over ${tenantCount} tenants`);
    const maintenanceMeter = await meter();
    const maintenanceMany = await maintenanceThroughWorker(db);
    const maintenanceBusy = await maintenanceMeter();
    // The next (hourly) pass: nothing is due, so it is the one catalog query deciding that.
    note('maintenance pass with nothing due');
    const idle = await runPartmanMaintenancePass(db);
    if (idle.failed.length > 0)
      throw new Error(`idle maintenance pass failed: ${JSON.stringify(idle.failed[0])}`);
    const maintenanceIdle = {
      tables: idle.tables,
      due: idle.due,
      up_to_date: idle.upToDate,
      plan_ms: round(idle.planMs, 1),
      pass_s: round(idle.totalMs / 1000, 3),
    };
    const runBusy = await wholeRun();

    // Results.
    const times = provisioned.map((p) => p.ms);
    const stepNames = Object.keys(first.steps);
    const stepP50 = Object.fromEntries(
      stepNames.map((s) => [s, round(median(provisioned.map((p) => p.steps[s] ?? 0)), 2)]),
    );
    const chunkP50 = (size: number) =>
      Array.from({ length: Math.ceil(tenantCount / size) }, (_, k) =>
        round(median(times.slice(k * size, (k + 1) * size)), 1),
      );
    const byThousand = chunkP50(1000);
    const provisionP50 = round(percentile(times, 50), 1);
    const provisionP99 = round(percentile(times, 99), 1);
    const flatRatio = ratio(byThousand[byThousand.length - 1], byThousand[0]);
    const ratioP50 = round(many.latency_p50_ms / one.latency_p50_ms, 3);
    const ratioP99 = round(many.latency_p99_ms / one.latency_p99_ms, 3);
    const apiRssRatio = ratio(manyApi.api_memory?.rss_mb, oneApi.api_memory?.rss_mb);
    const workerRssRatio = ratio(maintenanceMany.worker_memory?.rss_mb, maintenanceOne.worker_memory?.rss_mb);
    // After a full collection in both: what the process holds, not when V8 last collected.
    const apiGcRatio = ratio(manyApi.api_memory_after_gc.rss_mb, oneApi.api_memory_after_gc.rss_mb);
    const workerGcRatio = ratio(
      maintenanceMany.worker_memory_after_gc.rss_mb,
      maintenanceOne.worker_memory_after_gc.rss_mb,
    );
    const apiHeapRatio = ratio(
      manyApi.api_memory_after_gc.heap_used_mb,
      oneApi.api_memory_after_gc.heap_used_mb,
    );
    const workerHeapRatio = ratio(
      maintenanceMany.worker_memory_after_gc.heap_used_mb,
      maintenanceOne.worker_memory_after_gc.heap_used_mb,
    );
    const perTenant = Object.fromEntries(
      Object.entries(footprintMany.rows).map(([t, n]) => [
        t,
        round((n - (footprintOne.rows[t] ?? 0)) / Math.max(1, tenantCount - 1), 1),
      ]),
    );
    const target = (value: number | null, limit: number) => ({
      target: `<= ${limit}`,
      value,
      met: value !== null && value <= limit,
    });
    const targets = {
      provision_p50_ms: target(provisionP50, TARGETS.provision_p50_ms),
      provision_last_vs_first_thousand_p50: target(flatRatio, TARGETS.provision_flat_ratio),
      migrate_all_one_pending_s: target(round(onePending.s, 3), TARGETS.migrate_all_one_pending_s),
      migrate_all_none_pending_s: target(round(nonePending.s, 3), TARGETS.migrate_all_none_pending_s),
      maintenance_pass_s: target(maintenanceMany.pass_s, TARGETS.maintenance_pass_s),
      latency_ratio_many_vs_fresh_api_one: target(manyVsFresh.median, TARGETS.latency_ratio),
      api_rss_after_gc_ratio_many_vs_one: target(apiGcRatio, TARGETS.rss_ratio_many_vs_one),
      worker_rss_after_gc_ratio_many_vs_one: target(workerGcRatio, TARGETS.rss_ratio_many_vs_one),
    };
    const yes = (b: boolean) => (b ? 'yes' : 'NO');
    const first100 = times.slice(0, 100);
    const last100 = times.slice(-100);

    printTable(`Tenancy at scale — ${tenantCount} tenants`, [
      ...Object.entries(targets).map(([metric, t]) => ({
        metric,
        value: t.value,
        target: t.target,
        met: yes(t.met),
      })),
      { metric: 'provision_p99_ms', value: provisionP99, target: '-', met: '-' },
      { metric: 'provision_p50_ms_by_thousand', value: byThousand.join(' '), target: '-', met: '-' },
      { metric: 'provision_wall_s', value: round(provisionWallS, 1), target: '-', met: '-' },
      {
        metric: 'maintenance_idle_pass_s (tables due / all)',
        value: `${maintenanceIdle.pass_s} (${maintenanceIdle.due} / ${maintenanceIdle.tables})`,
        target: '-',
        met: '-',
      },
      { metric: 'provision_queries_per_tenant', value: provisionQueries, target: '-', met: '-' },
      {
        metric: 'maintenance_longest_table_ms',
        value: maintenanceMany.longest_table_ms,
        target: '-',
        met: '-',
      },
      {
        metric: 'single-transaction maintenance locks (projected / capacity)',
        value: `${singleTransaction.projected_locks} / ${singleTransaction.lock_table_capacity}`,
        target: '-',
        met: '-',
      },
      { metric: 'latency_ratio_many_vs_one_p99', value: ratioP99, target: '-', met: '-' },
      {
        metric: 'latency_ratio_many_vs_fresh_api_one, pairs',
        value: manyVsFresh.pairs.join(' '),
        target: '-',
        met: '-',
      },
      {
        metric: 'latency_ratio_many_vs_one (the one-tenant phase, minutes before)',
        value: ratioP50,
        target: '-',
        met: '-',
      },
      {
        metric: 'latency_ratio_spread_vs_one_active (pairs)',
        value: `${spreadVsOneActive.median} (${spreadVsOneActive.pairs.join(' ')})`,
        target: '-',
        met: '-',
      },
      {
        metric: 'machine speed probe, CPU us/iteration (1 -> all)',
        value: `${oneApi.machine_speed.cpu_us_per_iteration} -> ${manyApi.machine_speed.cpu_us_per_iteration}`,
        target: '-',
        met: '-',
      },
      {
        metric: 'API / worker RSS ratio, read without a collection',
        value: `${apiRssRatio} / ${workerRssRatio}`,
        target: '-',
        met: '-',
      },
      {
        metric: 'API / worker heap used after GC MB (1 -> all)',
        value: `${oneApi.api_memory_after_gc.heap_used_mb} -> ${manyApi.api_memory_after_gc.heap_used_mb} / ${maintenanceOne.worker_memory_after_gc.heap_used_mb} -> ${maintenanceMany.worker_memory_after_gc.heap_used_mb}`,
        target: '-',
        met: '-',
      },
      {
        metric: 'postgres backend RssAnon MB (1 -> all, mean)',
        value: `${oneApi.postgres_backends_memory.rss_anon_mb_mean} -> ${manyApi.postgres_backends_memory.rss_anon_mb_mean}`,
        target: '-',
        met: '-',
      },
      {
        metric: 'database MB (1 -> all)',
        value: `${footprintOne.database_mb} -> ${footprintMany.database_mb}`,
        target: '-',
        met: '-',
      },
      { metric: 'pg_class rows per tenant', value: perTenant.pg_class ?? null, target: '-', met: '-' },
      {
        metric: 'machine: other processes, cores (run)',
        value: runBusy?.other_processes_cores ?? null,
        target: '-',
        met: '-',
      },
    ]);
    printTable(`API GET /v1/users/{id} — ${connections} connections, median of ${rounds} x ${durationS} s`, [
      {
        tenants: 1,
        'spread over': 1,
        'req/s': one.requests_per_s,
        'p50 ms': one.latency_p50_ms,
        'p99 ms': one.latency_p99_ms,
        'server CPU us/req': one.server_cpu_us_per_request,
        'postgres CPU us/req': one.postgres_cpu_us_per_request,
        'other procs cores': one.other_processes_cores,
        'API RSS MB': oneApi.api_memory?.rss_mb ?? null,
      },
      {
        tenants: tenantCount,
        'spread over': credentials.length,
        'req/s': many.requests_per_s,
        'p50 ms': many.latency_p50_ms,
        'p99 ms': many.latency_p99_ms,
        'server CPU us/req': many.server_cpu_us_per_request,
        'postgres CPU us/req': many.postgres_cpu_us_per_request,
        'other procs cores': many.other_processes_cores,
        'API RSS MB': manyApi.api_memory?.rss_mb ?? null,
      },
      {
        tenants: tenantCount,
        'spread over': '1 (fresh API)',
        'req/s': freshOne.requests_per_s,
        'p50 ms': freshOne.latency_p50_ms,
        'p99 ms': freshOne.latency_p99_ms,
        'server CPU us/req': freshOne.server_cpu_us_per_request,
        'postgres CPU us/req': freshOne.postgres_cpu_us_per_request,
        'other procs cores': freshOne.other_processes_cores,
        'API RSS MB': manyApi.fresh_api_memory?.rss_mb ?? null,
      },
      {
        tenants: tenantCount,
        'spread over': '1 (control)',
        'req/s': manyOneActive.requests_per_s,
        'p50 ms': manyOneActive.latency_p50_ms,
        'p99 ms': manyOneActive.latency_p99_ms,
        'server CPU us/req': manyOneActive.server_cpu_us_per_request,
        'postgres CPU us/req': manyOneActive.postgres_cpu_us_per_request,
        'other procs cores': manyOneActive.other_processes_cores,
        'API RSS MB': manyApi.api_memory?.rss_mb ?? null,
      },
    ]);
    printTable('Provisioning steps — p50 ms', [stepP50]);

    const path = await writeResult('tenancy-scale', {
      benchmark: 'tenancy-scale',
      machine: machineInfo({ postgres_version: postgresVersion }),
      parameters: {
        tenants: tenantCount,
        provision_concurrency: provisionConcurrency,
        spread_tenants: credentials.length,
        connections,
        duration_s: durationS,
        warmup_s: warmupS,
        rounds,
        migrate_concurrency: migrateConcurrency,
        pool_share: poolShare,
        extra_migration: extraMigration.name,
        api: 'services/api as a child process, NODE_ENV=production, LOG_LEVEL=info, stdout to /dev/null',
        worker:
          'services/worker as a child process, NODE_ENV=production, WORKER_CONCURRENCY=2, MAINTENANCE_CONCURRENCY left at its default (2)',
        database_url: redactUrl(databaseUrl),
        redis_url: redactUrl(redis),
      },
      tenants: tenantCount,
      /** Seconds of the CHECKPOINT before each measured phase (null: the server refused it). */
      checkpoint_s: {
        before_one_tenant: settleOne,
        after_provisioning: settleMany,
        /** The catalog vacuum before it (seconds). */
        catalog_vacuum_after_provisioning: round(catalogVacuum.s, 2),
        before_maintenance_pass: settleMaintenance,
      },
      machine_busy: {
        whole_run: runBusy,
        provisioning: provisionBusy,
        migrate_all_one_pending: migrateBusy,
        maintenance_pass: maintenanceBusy,
      },
      provision_p50_ms: provisionP50,
      provision_p99_ms: provisionP99,
      provision_mean_ms: round(times.reduce((s, v) => s + v, 0) / times.length, 1),
      provision_max_ms: round(Math.max(...times), 1),
      provision_first_100_p50_ms: round(median(first100), 1),
      provision_last_100_p50_ms: round(median(last100), 1),
      provision_p50_ms_by_thousand: byThousand,
      provision_last_vs_first_thousand_p50: flatRatio,
      provision_wall_s: round(provisionWallS, 1),
      provision_machine_busy_cores: provisionBusy?.machine_busy_cores ?? null,
      provision_machine_before: provisionQuiet,
      provision_step_p50_ms: stepP50,
      provision_queries_per_tenant: provisionQueries,
      provision_p50_ms_by_hundred: chunkP50(100),
      migrate_all_one_pending_s: round(onePending.s, 3),
      migrate_all_one_pending_result: {
        tenants: onePending.value.tenants,
        pending: onePending.value.pending,
        migrated: onePending.value.migrated.length,
        failed: onePending.value.failed.length,
      },
      migrate_all_none_pending_s: round(nonePending.s, 3),
      maintenance_one_tenant: maintenanceOne,
      maintenance_pass: maintenanceMany,
      maintenance_pass_s: maintenanceMany.pass_s,
      maintenance_longest_table_ms: maintenanceMany.longest_table_ms,
      maintenance_longest_table: maintenanceMany.longest_table,
      maintenance_idle_pass: maintenanceIdle,
      maintenance_idle_pass_s: maintenanceIdle.pass_s,
      maintenance_single_transaction: singleTransaction,
      catalog_rows_per_tenant: perTenant,
      catalog_one_tenant: footprintOne,
      catalog_all_tenants: footprintMany,
      database_mb: footprintMany.database_mb,
      api_rss_mb_one_tenant: oneApi.api_memory?.rss_mb ?? null,
      api_rss_mb_many_tenants: manyApi.api_memory?.rss_mb ?? null,
      api_rss_ratio_many_vs_one: apiRssRatio,
      worker_rss_mb_one_tenant: maintenanceOne.worker_memory?.rss_mb ?? null,
      worker_rss_mb_many_tenants: maintenanceMany.worker_memory?.rss_mb ?? null,
      worker_rss_ratio_many_vs_one: workerRssRatio,
      api_memory_after_gc_one_tenant: oneApi.api_memory_after_gc,
      api_memory_after_gc_many_tenants: manyApi.api_memory_after_gc,
      api_rss_after_gc_ratio_many_vs_one: apiGcRatio,
      api_heap_used_after_gc_ratio_many_vs_one: apiHeapRatio,
      worker_rss_after_gc_ratio_many_vs_one: workerGcRatio,
      worker_heap_used_after_gc_ratio_many_vs_one: workerHeapRatio,
      postgres_backends_memory_one_tenant: oneApi.postgres_backends_memory,
      postgres_backends_memory_many_tenants: manyApi.postgres_backends_memory,
      touch_all_tenants_s: manyApi.touch_all_s,
      latency_one_tenant: { ...one, machine_before: oneApi.machine_before },
      latency_many_tenants: { ...many, machine_before: manyApi.machine_before },
      latency_ratio_many_vs_one: ratioP50,
      latency_ratio_many_vs_one_p99: ratioP99,
      latency_many_tenants_one_active: manyOneActive,
      latency_many_tenants_fresh_api_one_tenant: freshOne,
      latency_ratio_many_vs_fresh_api_one: manyVsFresh.median,
      latency_ratio_many_vs_fresh_api_one_pairs: manyVsFresh.pairs,
      latency_ratio_spread_vs_one_active: spreadVsOneActive.median,
      latency_ratio_spread_vs_one_active_pairs: spreadVsOneActive.pairs,
      machine_speed: {
        one_tenant: oneApi.machine_speed,
        many_tenants: manyApi.machine_speed,
        /** The probe's CPU time per iteration in the many-tenant phase over the one-tenant phase's. */
        slowdown_many_vs_one: round(
          manyApi.machine_speed.cpu_us_per_iteration / oneApi.machine_speed.cpu_us_per_iteration,
          3,
        ),
      },
      requests_per_s_ratio_many_vs_one: round(many.requests_per_s / one.requests_per_s, 3),
      targets,
    });
    note(`wrote ${path}`);
  } finally {
    if (!keepData) {
      note('resetting the bench database (dropping every tenant schema)');
      const reset = await timed(() => resetTestDatabase(db));
      note(`reset took ${round(reset.s, 1)} s`);
    }
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
