/**
 * Tenancy at scale: provisioning time per tenant up to N tenants, API latency with one tenant
 * against many, and the wall time of migrating every tenant schema (one migration pending, then
 * none).
 */
import {
  createApiKey,
  createDatabase,
  type Database,
  insertTenant,
  insertUser,
  migrateAllTenants,
  namespaceForSlug,
  type ProvisioningStep,
  provisionTenant,
  quoteIdent,
  schemaForSlug,
  type TenantMigration,
  type TenantRef,
} from '@platform/core';
import { resetTestDatabase } from '@platform/core/testing';
import { tenantMigrations } from '../packages/core/src/migrations/tenant/index.js';
import { machineBusyMs } from './lib/cpu.js';
import { benchDatabaseUrl, intFromEnv, redactUrl, redisUrl } from './lib/env.js';
import { exclusiveBenchRun } from './lib/exclusive.js';
import { type LoadResult, measure } from './lib/load.js';
import { apiBackendPids, call, startPlatformApi } from './lib/platform-api.js';
import { machineInfo, writeResult } from './lib/results.js';
import { msSince, percentile, round } from './lib/stats.js';
import { note, printTable } from './lib/table.js';

const TARGETS = {
  provision_p50_ms: 300,
  migrate_all_one_pending_s: 60,
  migrate_all_none_pending_s: 5,
  latency_ratio_many_vs_one: 1.1,
};

const tenantCount = intFromEnv('BENCH_TENANTS', 1000);
const spreadCount = Math.min(intFromEnv('BENCH_SPREAD_TENANTS', 200), tenantCount);
const connections = intFromEnv('BENCH_CONNECTIONS', 10);
const durationS = intFromEnv('BENCH_DURATION_S', 10);
const warmupS = intFromEnv('BENCH_WARMUP_S', 3);
const rounds = intFromEnv('BENCH_ROUNDS', 3);
const migrateConcurrency = intFromEnv('BENCH_MIGRATE_CONCURRENCY', 4);
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

/**
 * Starts the API in its own process, checks every credential answers 200 (and that one tenant's key
 * does not reach another tenant's user), then measures `rounds` times with requests going
 * round-robin over the credentials.
 */
async function measureApi(
  db: Database,
  label: string,
  credentials: Credential[],
): Promise<{ rounds: LoadResult[] }> {
  const api = await startPlatformApi({ databaseUrl, redisUrl: redis, logLevel: 'info' });
  try {
    for (const c of credentials) await call(api.url, c.key, 'GET', `/v1/users/${c.userId}`, 200);
    if (credentials.length > 1) {
      const [a, b] = credentials as [Credential, Credential];
      await call(api.url, a.key, 'GET', `/v1/users/${b.userId}`, 404);
    }
    let next = 0;
    const request = () => {
      const c = credentials[next++ % credentials.length] as Credential;
      return { path: `/v1/users/${c.userId}`, headers: { authorization: `Bearer ${c.key}` } };
    };
    const results: LoadResult[] = [];
    for (let r = 0; r < rounds; r++) {
      results.push(
        await measure({
          label: `${label} round ${r + 1}/${rounds}`,
          url: api.url,
          connections,
          durationS,
          warmupS: r === 0 ? warmupS : 0,
          request,
          serverPid: api.pid,
          postgresPids: apiBackendPids(db),
        }),
      );
    }
    return { rounds: results };
  } finally {
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

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; s: number }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { value, s: msSince(start) / 1000 };
}

async function main(): Promise<void> {
  // migrateAllTenants at concurrency 4, plus the connection holding the bench lock.
  const db = createDatabase({ url: databaseUrl, poolMax: migrateConcurrency + 2, applicationName: 'bench' });
  try {
    await exclusiveBenchRun(db, 'tenancy-scale', () => run(db));
  } finally {
    await db.destroy();
  }
}

async function run(db: Database): Promise<void> {
  try {
    note(`resetting ${redactUrl(databaseUrl)}`);
    await resetTestDatabase(db);
    const { rows } = await db.raw<{ rows: Array<{ v: string }> }>(
      "select current_setting('server_version') as v",
    );
    const postgresVersion = rows[0]?.v ?? 'unknown';

    // 1. The first tenant, then latency with one tenant.
    const provisioned: Provisioned[] = [await provisionOne(db, 0)];
    const first = provisioned[0] as Provisioned;
    const oneCredential = await credentialFor(db, first.ref);
    note('latency with 1 tenant');
    const one = summarizeLatency((await measureApi(db, '1 tenant', [oneCredential])).rounds);

    // 2. The other tenants, sequentially so that each time is clean.
    note(`provisioning ${tenantCount - 1} more tenants sequentially`);
    const provisionStart = process.hrtime.bigint();
    const busyBefore = machineBusyMs();
    for (let i = 1; i < tenantCount; i++) {
      provisioned.push(await provisionOne(db, i));
      if ((i + 1) % 100 === 0 || i === tenantCount - 1) {
        const last = provisioned.slice(-100).map((p) => p.ms);
        note(`  ${i + 1}/${tenantCount} provisioned; last 100: p50 ${round(median(last), 1)} ms`);
      }
    }
    const busyAfter = machineBusyMs();
    const provisionLoopS = msSince(provisionStart) / 1000;
    const provisionWallS = provisionLoopS + first.ms / 1000;
    // The benchmark and its PostgreSQL backend use about one core; more means other work ran too.
    const provisionMachineCores =
      busyBefore === undefined || busyAfter === undefined
        ? null
        : round((busyAfter - busyBefore) / 1000 / provisionLoopS, 2);

    // 3. Latency with all tenants, requests spread over `spreadCount` of them.
    const step = tenantCount / spreadCount;
    const spread = Array.from(
      { length: spreadCount },
      (_, k) => provisioned[Math.floor(k * step)] as Provisioned,
    );
    const credentials = [oneCredential];
    for (const p of spread.slice(1)) credentials.push(await credentialFor(db, p.ref));
    note(`latency with ${tenantCount} tenants, round-robin over ${credentials.length}`);
    const many = summarizeLatency((await measureApi(db, `${tenantCount} tenants`, credentials)).rounds);

    // 4. Migrating every tenant: one migration pending, then none.
    const migrations = [...tenantMigrations, extraMigration];
    note(`migrateAllTenants with ${extraMigration.name} pending, concurrency ${migrateConcurrency}`);
    const onePending = await timed(() =>
      migrateAllTenants(db, { concurrency: migrateConcurrency, migrations }),
    );
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

    // Results.
    const times = provisioned.map((p) => p.ms);
    const stepNames = Object.keys(first.steps);
    const stepP50 = Object.fromEntries(
      stepNames.map((s) => [s, round(median(provisioned.map((p) => p.steps[s] ?? 0)), 2)]),
    );
    const provisionP50 = round(percentile(times, 50), 1);
    const provisionP99 = round(percentile(times, 99), 1);
    const ratioP50 = round(many.latency_p50_ms / one.latency_p50_ms, 3);
    const ratioP99 = round(many.latency_p99_ms / one.latency_p99_ms, 3);
    const met = {
      provision_p50_ms: provisionP50 <= TARGETS.provision_p50_ms,
      migrate_all_one_pending_s: onePending.s <= TARGETS.migrate_all_one_pending_s,
      migrate_all_none_pending_s: nonePending.s <= TARGETS.migrate_all_none_pending_s,
      latency_ratio_many_vs_one: ratioP50 <= TARGETS.latency_ratio_many_vs_one,
    };
    const yes = (b: boolean) => (b ? 'yes' : 'NO');
    const first100 = times.slice(0, 100);
    const last100 = times.slice(-100);

    printTable(`Tenancy at scale — ${tenantCount} tenants`, [
      {
        metric: 'provision_p50_ms',
        value: provisionP50,
        target: `<= ${TARGETS.provision_p50_ms}`,
        met: yes(met.provision_p50_ms),
      },
      { metric: 'provision_p99_ms', value: provisionP99, target: '-', met: '-' },
      { metric: 'provision_first_100_p50_ms', value: round(median(first100), 1), target: '-', met: '-' },
      { metric: 'provision_last_100_p50_ms', value: round(median(last100), 1), target: '-', met: '-' },
      { metric: 'provision_machine_busy_cores', value: provisionMachineCores, target: '-', met: '-' },
      {
        metric: 'migrate_all_one_pending_s',
        value: round(onePending.s, 2),
        target: `<= ${TARGETS.migrate_all_one_pending_s}`,
        met: yes(met.migrate_all_one_pending_s),
      },
      {
        metric: 'migrate_all_none_pending_s',
        value: round(nonePending.s, 3),
        target: `<= ${TARGETS.migrate_all_none_pending_s}`,
        met: yes(met.migrate_all_none_pending_s),
      },
      {
        metric: 'latency_ratio_many_vs_one (p50)',
        value: ratioP50,
        target: `<= ${TARGETS.latency_ratio_many_vs_one}`,
        met: yes(met.latency_ratio_many_vs_one),
      },
      { metric: 'latency_ratio_many_vs_one_p99', value: ratioP99, target: '-', met: '-' },
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
      },
    ]);
    printTable('Provisioning steps — p50 ms', [stepP50]);

    const path = await writeResult('tenancy-scale', {
      benchmark: 'tenancy-scale',
      machine: machineInfo({ postgres_version: postgresVersion }),
      parameters: {
        tenants: tenantCount,
        spread_tenants: credentials.length,
        connections,
        duration_s: durationS,
        warmup_s: warmupS,
        rounds,
        migrate_concurrency: migrateConcurrency,
        extra_migration: extraMigration.name,
        api: 'services/api as a child process, NODE_ENV=production, LOG_LEVEL=info, stdout to /dev/null',
        database_url: redactUrl(databaseUrl),
        redis_url: redactUrl(redis),
      },
      tenants: tenantCount,
      provision_p50_ms: provisionP50,
      provision_p99_ms: provisionP99,
      provision_mean_ms: round(times.reduce((s, v) => s + v, 0) / times.length, 1),
      provision_max_ms: round(Math.max(...times), 1),
      provision_first_100_p50_ms: round(median(first100), 1),
      provision_last_100_p50_ms: round(median(last100), 1),
      provision_wall_s: round(provisionWallS, 1),
      provision_machine_busy_cores: provisionMachineCores,
      provision_step_p50_ms: stepP50,
      provision_ms_by_tenant: times.map((t) => round(t, 1)),
      provision_p50_ms_by_hundred: Array.from({ length: Math.ceil(tenantCount / 100) }, (_, k) =>
        round(median(times.slice(k * 100, (k + 1) * 100)), 1),
      ),
      migrate_all_one_pending_s: round(onePending.s, 3),
      migrate_all_one_pending_result: {
        tenants: onePending.value.tenants,
        pending: onePending.value.pending,
        migrated: onePending.value.migrated.length,
        failed: onePending.value.failed.length,
      },
      migrate_all_none_pending_s: round(nonePending.s, 3),
      latency_one_tenant: one,
      latency_many_tenants: many,
      latency_ratio_many_vs_one: ratioP50,
      latency_ratio_many_vs_one_p99: ratioP99,
      requests_per_s_ratio_many_vs_one: round(many.requests_per_s / one.requests_per_s, 3),
      targets: {
        provision_p50_ms: {
          target: `<= ${TARGETS.provision_p50_ms}`,
          value: provisionP50,
          met: met.provision_p50_ms,
        },
        migrate_all_one_pending_s: {
          target: `<= ${TARGETS.migrate_all_one_pending_s}`,
          value: round(onePending.s, 3),
          met: met.migrate_all_one_pending_s,
        },
        migrate_all_none_pending_s: {
          target: `<= ${TARGETS.migrate_all_none_pending_s}`,
          value: round(nonePending.s, 3),
          met: met.migrate_all_none_pending_s,
        },
        latency_ratio_many_vs_one: {
          target: `<= ${TARGETS.latency_ratio_many_vs_one}`,
          value: ratioP50,
          met: met.latency_ratio_many_vs_one,
        },
      },
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
