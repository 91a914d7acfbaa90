import type { Knex } from 'knex';
import { mapWithConcurrency } from '../concurrency.js';
import { createControlSchema } from '../db/citus.js';
import { quoteIdent } from '../db/database.js';
import { withAdvisoryLock } from '../db/locks.js';
import { listTenantSchemas, type Tenant } from '../tenancy/tenants.repository.js';
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

/**
 * What a tenant schema's migrations table holds; the columns knex's migrator uses, so existing
 * schemas keep theirs. No primary key (a `pg_constraint` row, see `0005_keys_as_unique_indexes`):
 * the runner writes it under the schema's lock and reads it whole.
 */
const MIGRATIONS_TABLE_DDL = (table: string) =>
  `create table if not exists ${table} (
    id serial,
    name varchar(255),
    batch integer,
    migration_time timestamptz
  )`;

/**
 * The newest migration of a list: what `platform.tenants.migration_version` holds for a tenant
 * whose schema has every migration of the list applied.
 */
export function migrationVersion(migrations: readonly TenantMigration[]): string | null {
  return migrations[migrations.length - 1]?.name ?? null;
}

/**
 * Records the tenant's newest migration (version, schema, version), by the live tenants'
 * `schema_name` index (`0009_tenants_schema_index`).
 */
export const RECORD_MIGRATION_VERSION = `update platform.tenants set migration_version = ?
  where schema_name = ? and status <> 'deleted' and migration_version is distinct from ?`;

/**
 * Applies pending tenant migrations to one schema, recording them in that schema's own
 * migrations table (`knex_migrations`) and the newest one in its tenant's row
 * (`platform.tenants.migration_version`), which is how `migrateAllTenants` finds the tenants that
 * are behind without visiting every schema. The pending migrations of a schema and both records
 * run in one transaction: all or none, so a migration failing half-way leaves the schema, its
 * migrations table and the tenant's version as they were. Concurrent runners on the same schema
 * wait for each other on a transaction-scoped advisory lock, so no lock table is kept per schema.
 *
 * On a new schema (its migrations table created by this run) a migration marked `convergesOnly`
 * is recorded without running: it would find nothing to change.
 *
 * It sends a fixed handful of statements, each answered from catalog indexes, so its cost does
 * not grow with the number of schemas in the database (knex's migrator looked tables up through
 * `information_schema`, a scan of `pg_class` that grows with every tenant). Given a transaction,
 * it runs inside it (provisioning does, to create a tenant in one transaction).
 */
export async function migrateTenantSchema(
  db: Knex,
  schema: string,
  migrations: readonly TenantMigration[] = tenantMigrations,
): Promise<string[]> {
  const table = `${quoteIdent(schema)}.${MIGRATIONS_TABLE}`;
  const known = new Set(migrations.map((m) => m.name));
  const migrate = async (trx: Knex.Transaction) => {
    await trx.raw('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`platform:migrate:${schema}`]);
    const exists = await trx.raw<{ rows: Array<{ t: string | null }> }>('select to_regclass(?)::text as t', [
      table,
    ]);
    const applied = new Set<string>();
    let batch = 1;
    // A new schema: every migration runs now, as it is in this release.
    const created = !exists.rows[0]?.t;
    if (!created) {
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
      if (created && m.convergesOnly) continue;
      await named(m.name, schema, () => m.up(trx, schema));
    }
    if (pending.length > 0) {
      await trx.raw(
        `insert into ${table} (name, batch, migration_time) values ${pending.map(() => '(?, ?, now())').join(', ')}`,
        pending.flatMap((m) => [m.name, batch]),
      );
    }
    await trx.raw(RECORD_MIGRATION_VERSION, [
      migrationVersion(migrations),
      schema,
      migrationVersion(migrations),
    ]);
    return pending.map((m) => m.name);
  };
  return db.isTransaction ? migrate(db as Knex.Transaction) : db.transaction(migrate);
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
  /**
   * Read every schema's own migrations table instead of the versions recorded in
   * `platform.tenants` (after repairing a schema by hand, say). Visits every schema.
   */
  verify?: boolean;
  onProgress?: (event: { done: number; total: number; slug: string; error?: Error }) => void;
}

export interface MigrateAllResult {
  tenants: number;
  pending: number;
  migrated: string[];
  failed: Array<{ slug: string; error: string }>;
}

type TenantSchema = Pick<Tenant, 'id' | 'slug' | 'schema_name'>;

/**
 * Ready tenants whose recorded migration version is not `version`, with the count of ready
 * tenants, in one query that reads `platform.tenants` only. A tenant with no version recorded
 * (provisioned before versions were recorded) counts as behind: migrating it once records it.
 */
export async function tenantsBehind(
  db: Knex,
  version: string | null,
): Promise<{ tenants: number; behind: TenantSchema[] }> {
  const res = await db.raw<{ rows: Array<{ tenants: number; behind: TenantSchema[] }> }>(
    `select count(*)::int as tenants,
            coalesce(json_agg(json_build_object('id', id, 'slug', slug, 'schema_name', schema_name) order by slug)
                       filter (where migration_version is distinct from ?), '[]'::json) as behind
       from platform.tenants
      where status = 'ready'`,
    [version],
  );
  const row = res.rows[0];
  return { tenants: row?.tenants ?? 0, behind: row?.behind ?? [] };
}

/**
 * Applies pending tenant migrations to every ready tenant with bounded concurrency. The tenants
 * that are behind are found with one query on `platform.tenants` (each tenant's newest applied
 * migration is recorded there, in the transaction that applies it), so with nothing pending no
 * schema is visited; with `verify`, every schema's migrations table is read instead. A failed
 * tenant does not stop the others, and running it again resumes where it stopped.
 */
export async function migrateAllTenants(
  db: Knex,
  options: MigrateAllOptions = {},
): Promise<MigrateAllResult> {
  const migrations = options.migrations ?? tenantMigrations;
  let total: number;
  let pending: TenantSchema[];
  if (options.verify) {
    const names = migrations.map((m) => m.name);
    const tenants = await listTenantSchemas(db);
    const applied = await appliedTenantMigrations(
      db,
      tenants.map((t) => t.schema_name),
    );
    total = tenants.length;
    pending = tenants.filter((t) => {
      const done = applied.get(t.schema_name);
      return names.some((n) => !done?.has(n));
    });
  } else {
    const found = await tenantsBehind(db, migrationVersion(migrations));
    total = found.tenants;
    pending = found.behind;
  }
  const result: MigrateAllResult = {
    tenants: total,
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
