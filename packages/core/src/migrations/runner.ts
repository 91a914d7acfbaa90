import type { Knex } from 'knex';
import { mapWithConcurrency } from '../concurrency.js';
import { createControlSchema } from '../db/citus.js';
import { quoteIdent } from '../db/database.js';
import { withAdvisoryLock } from '../db/locks.js';
import { listTenantSchemas } from '../tenancy/tenants.repository.js';
import { platformMigrations } from './platform/index.js';
import { tenantMigrations } from './tenant/index.js';
import type { PlatformMigration, TenantMigration } from './types.js';

export const MIGRATIONS_TABLE = 'knex_migrations';

/** Runs one migration step; a failure names the migration (and the schema) it happened in. */
async function named(name: string, schema: string, step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`migration ${name} in ${schema}: ${reason}`, { cause: err });
  }
}

function migrationSource<T extends { name: string }>(
  migrations: readonly T[],
  bind: (m: T) => Knex.Migration,
): Knex.MigrationSource<T> {
  return {
    getMigrations: async () => [...migrations],
    getMigrationName: (m) => m.name,
    getMigration: async (m) => bind(m),
  };
}

/**
 * Applies pending control-schema migrations. Concurrent callers (replicas, test workers) wait for
 * each other on an advisory lock instead of failing on the migrator's lock table.
 */
export function migratePlatform(
  db: Knex,
  migrations: readonly PlatformMigration[] = platformMigrations,
): Promise<string[]> {
  return withAdvisoryLock(db, 'platform:migrate', async () => {
    await createControlSchema(db);
    const [, applied] = (await db.migrate.latest({
      schemaName: 'platform',
      tableName: MIGRATIONS_TABLE,
      migrationSource: migrationSource(migrations, (m) => ({
        up: (k) => named(m.name, 'platform', () => m.up(k)),
        down: (k) => named(m.name, 'platform', () => m.down(k)),
      })),
    })) as [number, string[]];
    return applied;
  });
}

/** What a tenant schema's migrations table holds; the layout knex's migrator uses, so existing schemas keep theirs. */
const MIGRATIONS_TABLE_DDL = (table: string) =>
  `create table if not exists ${table} (
    id serial primary key,
    name varchar(255),
    batch integer,
    migration_time timestamptz
  )`;

/**
 * Applies pending tenant migrations to one schema, recording them in that schema's own
 * migrations table (`knex_migrations`). The pending migrations of a schema run in one
 * transaction: all or none. Concurrent runners on the same schema wait for each other on a
 * transaction-scoped advisory lock, so no lock table is kept per schema.
 *
 * It sends a fixed handful of statements, each answered from catalog indexes, so its cost does
 * not grow with the number of schemas in the database (knex's migrator looked tables up through
 * `information_schema`, a scan of `pg_class` that grows with every tenant).
 */
export async function migrateTenantSchema(
  db: Knex,
  schema: string,
  migrations: readonly TenantMigration[] = tenantMigrations,
): Promise<string[]> {
  const table = `${quoteIdent(schema)}.${MIGRATIONS_TABLE}`;
  const known = new Set(migrations.map((m) => m.name));
  return db.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`platform:migrate:${schema}`]);
    const exists = await trx.raw<{ rows: Array<{ t: string | null }> }>('select to_regclass(?)::text as t', [
      table,
    ]);
    const applied = new Set<string>();
    let batch = 1;
    if (exists.rows[0]?.t) {
      const rows = await trx.raw<{ rows: Array<{ name: string; batch: number | null }> }>(
        `select name, batch from ${table}`,
      );
      for (const row of rows.rows) {
        applied.add(row.name);
        batch = Math.max(batch, (row.batch ?? 0) + 1);
      }
      const unknown = [...applied].filter((name) => !known.has(name));
      if (unknown.length > 0) {
        throw new Error(
          `schema ${schema} has migrations this version does not know: ${unknown.join(', ')} (is an older release running?)`,
        );
      }
    } else {
      await trx.raw(MIGRATIONS_TABLE_DDL(table));
    }
    const pending = migrations.filter((m) => !applied.has(m.name));
    for (const m of pending) {
      await named(m.name, schema, () => m.up(trx, schema));
      await trx.raw(`insert into ${table} (name, batch, migration_time) values (?, ?, now())`, [
        m.name,
        batch,
      ]);
    }
    return pending.map((m) => m.name);
  });
}

/**
 * Applied migration names per schema, read for many schemas in one query per batch rather than
 * opening a migrator per schema.
 */
export async function appliedTenantMigrations(
  db: Knex,
  schemas: string[],
): Promise<Map<string, Set<string>>> {
  const applied = new Map<string, Set<string>>(schemas.map((s) => [s, new Set<string>()]));
  if (schemas.length === 0) return applied;
  const withTable = await db.raw<{ rows: Array<{ schema: string }> }>(
    `select n.nspname as schema from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relname = ? and c.relkind = 'r' and n.nspname = any(?)`,
    [MIGRATIONS_TABLE, schemas],
  );
  const present = withTable.rows.map((r) => r.schema);
  const BATCH = 500;
  for (let i = 0; i < present.length; i += BATCH) {
    const batch = present.slice(i, i + BATCH);
    const sql = batch
      .map(
        (s) =>
          `select ${db.raw('?', [s]).toQuery()}::text as schema, name from ${quoteIdent(s)}.${MIGRATIONS_TABLE}`,
      )
      .join(' union all ');
    const res = await db.raw<{ rows: Array<{ schema: string; name: string }> }>(sql);
    for (const row of res.rows) applied.get(row.schema)?.add(row.name);
  }
  return applied;
}

export interface MigrateAllOptions {
  concurrency?: number;
  migrations?: readonly TenantMigration[];
  onProgress?: (event: { done: number; total: number; slug: string; error?: Error }) => void;
}

export interface MigrateAllResult {
  tenants: number;
  pending: number;
  migrated: string[];
  failed: Array<{ slug: string; error: string }>;
}

/**
 * Applies pending tenant migrations to every ready tenant with bounded concurrency. Tenants with
 * nothing pending are found with one query and skipped; a failed tenant does not stop the others,
 * and running it again resumes where it stopped.
 */
export async function migrateAllTenants(
  db: Knex,
  options: MigrateAllOptions = {},
): Promise<MigrateAllResult> {
  const migrations = options.migrations ?? tenantMigrations;
  const names = migrations.map((m) => m.name);
  const tenants = await listTenantSchemas(db);
  const applied = await appliedTenantMigrations(
    db,
    tenants.map((t) => t.schema_name),
  );
  const pending = tenants.filter((t) => {
    const done = applied.get(t.schema_name);
    return names.some((n) => !done?.has(n));
  });
  const result: MigrateAllResult = {
    tenants: tenants.length,
    pending: pending.length,
    migrated: [],
    failed: [],
  };
  let done = 0;
  await mapWithConcurrency(pending, options.concurrency ?? 4, async (tenant) => {
    try {
      await migrateTenantSchema(db, tenant.schema_name, migrations);
      result.migrated.push(tenant.slug);
      options.onProgress?.({ done: ++done, total: pending.length, slug: tenant.slug });
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      result.failed.push({ slug: tenant.slug, error: error.message });
      options.onProgress?.({ done: ++done, total: pending.length, slug: tenant.slug, error });
    }
  });
  return result;
}
