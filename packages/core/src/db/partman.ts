import type { Knex } from 'knex';
import { quoteIdent } from './database.js';

/**
 * pg_partman access. Debian ships 4.x, upstream is 5.x; `create_parent` differs between them
 * (4.x: p_type 'native'; 5.x: p_type 'range' and the arguments reordered), so every call uses
 * named arguments and the installed major version decides the type.
 */
export interface TimePartitioning {
  /** Schema-qualified parent table, e.g. `tenant_acme.events`. */
  parentTable: string;
  control: string;
  interval: '1 day' | '1 month';
  premake: number;
  /** Retention such as `30 days`; partitions older than this are dropped by maintenance. */
  retention: string | null;
}

const versionCache = new WeakMap<object, Promise<number>>();

/** Major version of the installed pg_partman extension. */
export function partmanMajorVersion(db: Knex): Promise<number> {
  let cached = versionCache.get(db.client);
  if (!cached) {
    cached = db
      .raw<{ rows: Array<{ extversion: string }> }>(
        "select extversion from pg_extension where extname = 'pg_partman'",
      )
      .then((res) => {
        const version = res.rows[0]?.extversion;
        if (!version) {
          throw new Error(
            'The pg_partman extension is not installed in this database: run scripts/setup.sh or `CREATE EXTENSION pg_partman SCHEMA partman` as a superuser',
          );
        }
        return Number.parseInt(version.split('.')[0] ?? '0', 10);
      });
    cached.catch(() => versionCache.delete(db.client));
    versionCache.set(db.client, cached);
  }
  return cached;
}

/** Registers a range-partitioned table with pg_partman unless it is already registered. Idempotent. */
export async function ensureTimePartitioned(db: Knex, spec: TimePartitioning): Promise<void> {
  const registered = await db.raw<{ rows: unknown[] }>(
    'select 1 from partman.part_config where parent_table = ?',
    [spec.parentTable],
  );
  if (registered.rows.length === 0) {
    const major = await partmanMajorVersion(db);
    await db.raw(
      `select partman.create_parent(
         p_parent_table := ?, p_control := ?, p_type := ?, p_interval := ?, p_premake := ?)`,
      [spec.parentTable, spec.control, major >= 5 ? 'range' : 'native', spec.interval, spec.premake],
    );
  }
  await db.raw(
    `update partman.part_config
        set retention = ?, retention_keep_table = false, premake = ?
      where parent_table = ?`,
    [spec.retention, spec.premake, spec.parentTable],
  );
}

/**
 * Changes the retention of a tenant's registered events table (no-op when it is not registered).
 * Through `platform.set_partman_retention`, so that the API's runtime role, which has no rights on
 * pg_partman's configuration, can do it in the transaction that changes the plan.
 */
export async function setPartmanRetention(
  db: Knex,
  parentTable: string,
  retention: string | null,
): Promise<void> {
  await db.raw('select platform.set_partman_retention(?, ?)', [parentTable, retention]);
}

/** Removes a table's pg_partman configuration and its template table. Idempotent. */
export async function removePartmanConfig(db: Knex, parentTable: string): Promise<void> {
  const res = await db.raw<{ rows: Array<{ template_table: string | null }> }>(
    'delete from partman.part_config where parent_table = ? returning template_table',
    [parentTable],
  );
  for (const row of res.rows) {
    if (row.template_table) {
      const [schema, table] = row.template_table.split('.');
      if (schema && table) await db.raw(`drop table if exists ${quoteIdent(schema)}.${quoteIdent(table)}`);
    }
  }
}

/**
 * Runs pg_partman maintenance (premakes future partitions, applies retention) in one call: for
 * one table, or for every registered table in a single transaction. With many tenants prefer
 * `runPartmanMaintenancePass`, which gives each table its own transaction.
 */
export async function runPartmanMaintenance(db: Knex, parentTable?: string): Promise<void> {
  if (parentTable) {
    await db.raw('select partman.run_maintenance(p_parent_table := ?, p_analyze := false)', [parentTable]);
  } else {
    await db.raw('select partman.run_maintenance()');
  }
}

export interface MaintenancePassOptions {
  onTable?: (event: { parentTable: string; ms: number; error?: Error }) => void;
  /** Once aborted, no further table is started; the pass returns with those left counted in `skipped`. */
  signal?: AbortSignal;
}

export interface MaintenancePassResult {
  tables: number;
  /** Tables not started because the pass was aborted. */
  skipped: number;
  failed: Array<{ parentTable: string; error: string }>;
  totalMs: number;
  /** The longest single table's run: the longest any one transaction held its locks. */
  longestMs: number;
  longestTable: string | null;
}

/** The advisory lock `partman.run_maintenance` takes (and without which it returns doing nothing). */
const PARTMAN_MAINTENANCE_LOCK = 'pg_partman run_maintenance';

/**
 * One maintenance pass over every table registered with pg_partman (`automatic_maintenance`
 * on), one table per transaction. `partman.run_maintenance()` without a table does them all in
 * one transaction, which keeps the locks of every partition and index it read until the end: with
 * thousands of tenants that is more than the shared lock table holds (`max_locks_per_transaction`
 * x connections; it fails with "out of shared memory"), and minutes during which no tenant's
 * partitions can be dropped or altered. Here each table's locks are released as soon as its
 * maintenance is done, and a table that fails does not stop the others.
 *
 * Tables are done one after the other: `run_maintenance` tries pg_partman's own advisory lock and
 * silently returns when another session holds it, so concurrent calls would skip tables. Each
 * transaction first waits for that lock, so a pass running at the same time as another (the CLI
 * and the worker) waits its turn per table instead of skipping it. The parent is not analyzed
 * (`p_analyze := false`): that would read every child.
 */
export async function runPartmanMaintenancePass(
  db: Knex,
  options: MaintenancePassOptions = {},
): Promise<MaintenancePassResult> {
  const started = process.hrtime.bigint();
  const res = await db.raw<{ rows: Array<{ parent_table: string }> }>(
    "select parent_table from partman.part_config where automatic_maintenance = 'on' order by parent_table",
  );
  const tables = res.rows.map((r) => r.parent_table);
  const result: MaintenancePassResult = {
    tables: tables.length,
    skipped: 0,
    failed: [],
    totalMs: 0,
    longestMs: 0,
    longestTable: null,
  };
  for (const parentTable of tables) {
    if (options.signal?.aborted) {
      result.skipped++;
      continue;
    }
    const start = process.hrtime.bigint();
    try {
      await db.transaction(async (trx) => {
        await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [PARTMAN_MAINTENANCE_LOCK]);
        await runPartmanMaintenance(trx, parentTable);
      });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (ms > result.longestMs) {
        result.longestMs = ms;
        result.longestTable = parentTable;
      }
      options.onTable?.({ parentTable, ms });
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      result.failed.push({ parentTable, error: error.message });
      options.onTable?.({ parentTable, ms: Number(process.hrtime.bigint() - start) / 1e6, error });
    }
  }
  result.totalMs = Number(process.hrtime.bigint() - started) / 1e6;
  return result;
}

/** Child partitions of a partitioned table, oldest first (names without schema). */
export async function listPartitions(db: Knex, schema: string, table: string): Promise<string[]> {
  const res = await db.raw<{ rows: Array<{ name: string }> }>(
    `select c.relname as name
       from pg_inherits i
       join pg_class c on c.oid = i.inhrelid
       join pg_class p on p.oid = i.inhparent
       join pg_namespace n on n.oid = p.relnamespace
      where n.nspname = ? and p.relname = ?
      order by c.relname`,
    [schema, table],
  );
  return res.rows.map((r) => r.name);
}
