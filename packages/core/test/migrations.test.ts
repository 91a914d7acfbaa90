import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  listTenantSchemas,
  migrateAllTenants,
  migrateTenantSchema,
  migrationVersion,
  provisionTenant,
  type TenantMigration,
  tenantsBehind,
} from '../src/index.js';
import { RECORD_MIGRATION_VERSION } from '../src/migrations/runner.js';
import { tenantMigrations } from '../src/migrations/tenant/index.js';
import { testDatabaseEnv } from '../src/testing/index.js';
import { newTenantRow, testDb } from './helpers.js';

const db = testDb(6);
const EXTRA = '9001_users_nickname';

function extraMigration(failFor?: string): TenantMigration {
  return {
    name: EXTRA,
    async up(k, schema) {
      await k.raw(`alter table "${schema}".users add column nickname text`);
      // Fails half-way: after a statement that changed the schema.
      if (schema === failFor) throw new Error(`cannot migrate ${schema}`);
    },
    async down(k, schema) {
      await k.raw(`alter table "${schema}".users drop column nickname`);
    },
  };
}

async function provisioned(n: number) {
  const tenants = [];
  for (let i = 0; i < n; i++) {
    const t = await newTenantRow(db);
    await provisionTenant(db, t.id);
    tenants.push(t);
  }
  return tenants;
}

async function versionOf(tenantId: string): Promise<string | null> {
  const row = await db
    .withSchema('platform')
    .table('tenants')
    .where({ id: tenantId })
    .first('migration_version');
  return row?.migration_version ?? null;
}

function countQueries<T>(fn: () => Promise<T>): Promise<{ result: T; queries: number }> {
  let queries = 0;
  const listener = () => {
    queries++;
  };
  db.on('query', listener);
  return fn().then(
    (result) => {
      db.removeListener('query', listener);
      return { result, queries };
    },
    (err) => {
      db.removeListener('query', listener);
      throw err;
    },
  );
}

beforeAll(() => provisioned(3));
/** Puts every tenant back on the real migration list, as the other tests and test files expect. */
async function forgetExtra() {
  for (const t of await listTenantSchemas(db)) {
    await db.withSchema(t.schema_name).table('knex_migrations').where({ name: EXTRA }).delete();
    await db.raw(`alter table "${t.schema_name}".users drop column if exists nickname`);
  }
  await db
    .withSchema('platform')
    .table('tenants')
    .where({ migration_version: EXTRA })
    .update({ migration_version: tenantMigrations.at(-1)?.name });
}

afterAll(async () => {
  await forgetExtra();
  await db.destroy();
});

describe('migrateAllTenants', () => {
  it('finds nothing pending with a constant number of queries, opening no migrator', async () => {
    const small = await countQueries(() => migrateAllTenants(db));
    expect(small.result.pending).toBe(0);
    expect(small.result.migrated).toEqual([]);
    await provisioned(3);
    const larger = await countQueries(() => migrateAllTenants(db));
    expect(larger.result.tenants).toBe(small.result.tenants + 3);
    expect(larger.result.pending).toBe(0);
    expect(larger.queries).toBe(small.queries);
    expect(larger.queries).toBe(1);
  });

  it('finds, in that one query, a tenant whose schema is behind, and brings it up to date', async () => {
    const behind = await newTenantRow(db);
    await db.raw(`create schema "${behind.schema_name}"`);
    await migrateTenantSchema(db, behind.schema_name, tenantMigrations.slice(0, -1));
    await db.withSchema('platform').table('tenants').where({ id: behind.id }).update({ status: 'ready' });
    expect(await versionOf(behind.id)).toBe(tenantMigrations.at(-2)?.name);

    const found = await countQueries(() => tenantsBehind(db, migrationVersion(tenantMigrations)));
    expect(found.queries).toBe(1);
    expect(found.result.behind).toEqual([
      { id: behind.id, slug: behind.slug, schema_name: behind.schema_name },
    ]);

    const run = await migrateAllTenants(db);
    expect(run).toMatchObject({ pending: 1, migrated: [behind.slug], failed: [] });
    expect(await versionOf(behind.id)).toBe(tenantMigrations.at(-1)?.name);
    const applied = await db.withSchema(behind.schema_name).table('knex_migrations').pluck('name');
    expect(applied).toEqual(tenantMigrations.map((m) => m.name));
    expect((await migrateAllTenants(db)).pending).toBe(0);
  });

  it("records a tenant's migration version through the live schemas' index, not by reading every tenant", async () => {
    const tenant = await newTenantRow(db);
    // The test database is small, so the planner would read the table whole anyway: with
    // sequential scans off, the plan shows whether an index answers the statement.
    const plan = await db.transaction(async (trx) => {
      await trx.raw('set local enable_seqscan = off');
      const { rows } = await trx.raw<{ rows: Array<{ 'QUERY PLAN': string }> }>(
        `explain ${RECORD_MIGRATION_VERSION}`,
        ['v', tenant.schema_name, 'v'],
      );
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toMatch(/Index Scan using tenants_live_schema/);
    expect(plan).not.toMatch(/Seq Scan/);
  });

  it('applies a new migration to every tenant, reports one that fails, and resumes it on rerun', async () => {
    const tenants = await listTenantSchemas(db);
    const victim = tenants[1]!;
    const progress: string[] = [];
    const first = await migrateAllTenants(db, {
      concurrency: 3,
      migrations: [...tenantMigrations, extraMigration(victim.schema_name)],
      onProgress: (e) => progress.push(`${e.done}/${e.total} ${e.slug}${e.error ? ' failed' : ''}`),
    });
    expect(first.pending).toBe(tenants.length);
    expect(first.failed).toEqual([{ slug: victim.slug, error: expect.stringContaining('cannot migrate') }]);
    expect(first.migrated).toHaveLength(tenants.length - 1);
    expect(progress).toHaveLength(tenants.length);
    expect(progress.filter((p) => p.endsWith('failed'))).toEqual([
      expect.stringMatching(new RegExp(`^\\d+/${tenants.length} ${victim.slug} failed$`)),
    ]);

    const columns = await db.raw<{ rows: Array<{ table_schema: string }> }>(
      "select table_schema from information_schema.columns where table_name = 'users' and column_name = 'nickname'",
    );
    const withColumn = new Set(columns.rows.map((r) => r.table_schema));
    for (const t of tenants) expect(withColumn.has(t.schema_name)).toBe(t.slug !== victim.slug);
    // The failed tenant's transaction left its version as it was; the others record the new one.
    for (const t of tenants) {
      expect(await versionOf(t.id)).toBe(t.slug === victim.slug ? tenantMigrations.at(-1)?.name : EXTRA);
    }

    const second = await migrateAllTenants(db, { migrations: [...tenantMigrations, extraMigration()] });
    expect(second).toMatchObject({ pending: 1, migrated: [victim.slug], failed: [] });
    const third = await migrateAllTenants(db, { migrations: [...tenantMigrations, extraMigration()] });
    expect(third.pending).toBe(0);
    await forgetExtra();
  });
});

describe('platform-migrate CLI', () => {
  const cli = resolve(import.meta.dirname, '../dist/cli/migrate.js');
  const run = (...args: string[]) =>
    promisify(execFile)(process.execPath, [cli, ...args], {
      env: { ...process.env, ...testDatabaseEnv() },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        stdout: e.stdout,
        stderr: e.stderr,
      }),
    );

  it('exits 0 when all is up to date', async () => {
    const res = await run('all');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/platform: up to date/);
    expect(res.stdout).toMatch(/0 pending, 0 migrated, 0 failed/);
  });

  it('exits non-zero naming the tenant that failed, and succeeds once it is repaired', async () => {
    const [victim] = await provisioned(1);
    // Forget that 0002 ran: re-running it fails because its table exists.
    const row = await db
      .withSchema(victim!.schema_name)
      .table('knex_migrations')
      .where({ name: '0002_events' })
      .first();
    await db.withSchema(victim!.schema_name).table('knex_migrations').where({ id: row.id }).delete();
    // Its recorded version still says it is up to date: only --verify reads the schema itself.
    const trusting = await run('tenants');
    expect(trusting.code).toBe(0);
    expect(trusting.stdout).toMatch(/, 0 pending, /);

    const failed = await run('tenants', '--concurrency', '2', '--verify');
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(new RegExp(`${victim!.slug} FAILED`));
    expect(failed.stderr).toContain(`tenants that failed: ${victim!.slug}`);

    await db.withSchema(victim!.schema_name).table('knex_migrations').insert(row);
    const repaired = await run('tenants');
    expect(repaired.code).toBe(0);
  });

  it('rejects bad arguments', async () => {
    expect((await run('sideways')).code).toBe(2);
    expect((await run('tenants', '--concurrency', '0')).code).toBe(2);
  });
});
