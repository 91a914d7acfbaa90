import type { Knex } from 'knex';
import { cacheKey, quoteIdent } from './database.js';
import { runStatements, type Statement } from './statements.js';

/**
 * Citus schema-based sharding, the one place that knows about it (see docs/scale-out.md).
 *
 * Without Citus every function here issues plain PostgreSQL. With Citus 12+ installed in the
 * database, each tenant schema is created distributed (Citus places it, with every table later
 * created in it, on one node and can move it with `citus_schema_move`), while the control schema
 * `platform` is created local to the coordinator whatever `citus.enable_schema_based_sharding`
 * says. Detection works like pg_partman's: by the installed extension's version, once per pool.
 */
export interface CitusInfo {
  version: string;
  major: number;
  minor: number;
}

/** Schemas that must stay on the coordinator: the control schema and pg_partman's. */
export const LOCAL_SCHEMAS = ['platform', 'partman'] as const;

/** Schema-based sharding arrived in Citus 12.0 (`citus_schema_move` in 12.1). */
export const MIN_CITUS_MAJOR = 12;

const citusCache = new WeakMap<object, Promise<CitusInfo | null>>();

/** The installed Citus extension, or null on plain PostgreSQL. */
export function citusVersion(db: Knex): Promise<CitusInfo | null> {
  let cached = citusCache.get(cacheKey(db));
  if (!cached) {
    cached = db
      .raw<{ rows: Array<{ extversion: string }> }>(
        "select extversion from pg_extension where extname = 'citus'",
      )
      .then((res) => {
        const version = res.rows[0]?.extversion;
        if (!version) return null;
        const [major = 0, minor = 0] = version.split('.').map((part) => Number.parseInt(part, 10));
        if (major < MIN_CITUS_MAJOR) {
          throw new Error(
            `Citus ${version} is installed, but schema-based sharding needs Citus ${MIN_CITUS_MAJOR} or later: upgrade the extension (ALTER EXTENSION citus UPDATE) or drop it`,
          );
        }
        return { version, major, minor };
      });
    cached.catch(() => citusCache.delete(cacheKey(db)));
    citusCache.set(cacheKey(db), cached);
  }
  return cached;
}

/** What creating or dropping a schema sends: `transaction` in one transaction, then `after`. */
export interface SchemaPlan {
  transaction: Statement[];
  after: Statement[];
}

/**
 * The control schema. With Citus, sharding is switched off for this transaction so `platform` is
 * a regular coordinator schema even on a cluster that has `citus.enable_schema_based_sharding` on.
 */
export function controlSchemaPlan(citus: CitusInfo | null): SchemaPlan {
  const create = { sql: 'create schema if not exists platform' };
  if (!citus) return { transaction: [create], after: [] };
  return { transaction: [{ sql: 'set local citus.enable_schema_based_sharding to off' }, create], after: [] };
}

/** Which of the schemas that must stay local Citus has distributed (made so before this code ran). */
export const DISTRIBUTED_LOCAL_SCHEMAS: Statement = {
  sql: `select n.nspname as schema
          from pg_dist_schema d join pg_namespace n on n.oid = d.schemaid
         where n.nspname = any(?)
         order by 1`,
  bindings: [[...LOCAL_SCHEMAS]],
};

/**
 * A tenant schema. With Citus it is created while `citus.enable_schema_based_sharding` is on for
 * this transaction only, which makes it a distributed schema; a schema that already existed
 * undistributed (made before Citus was installed) is distributed with `citus_schema_distribute`.
 */
export function tenantSchemaPlan(schema: string, citus: CitusInfo | null): SchemaPlan {
  const create = { sql: `create schema if not exists ${quoteIdent(schema)}` };
  if (!citus) return { transaction: [create], after: [] };
  return {
    transaction: [{ sql: 'set local citus.enable_schema_based_sharding to on' }, create],
    after: [
      {
        sql: `select citus_schema_distribute(n.oid::regnamespace)
                from pg_namespace n
               where n.nspname = ?
                 and not exists (select 1 from pg_dist_schema d where d.schemaid = n.oid)`,
        bindings: [schema],
      },
    ],
  };
}

/**
 * Dropping a tenant schema. Citus propagates `drop schema ... cascade` of a distributed schema to
 * the node that holds it and removes it from its metadata, so the statement is the same.
 */
export function dropTenantSchemaPlan(schema: string, _citus: CitusInfo | null): SchemaPlan {
  return { transaction: [{ sql: `drop schema if exists ${quoteIdent(schema)} cascade` }], after: [] };
}

async function runPlan(db: Knex, plan: SchemaPlan): Promise<void> {
  if (plan.transaction.length === 1) await runStatements(db, plan.transaction);
  else await db.transaction((trx) => runStatements(trx, plan.transaction));
  await runStatements(db, plan.after);
}

/**
 * Creates the control schema `platform`, local to the coordinator on Citus, and refuses to go on
 * when `platform` or `partman` is distributed. Idempotent.
 */
export async function createControlSchema(db: Knex): Promise<void> {
  const citus = await citusVersion(db);
  await runPlan(db, controlSchemaPlan(citus));
  if (!citus) return;
  const res = await db.raw<{ rows: Array<{ schema: string }> }>(
    DISTRIBUTED_LOCAL_SCHEMAS.sql,
    DISTRIBUTED_LOCAL_SCHEMAS.bindings as Knex.RawBinding[],
  );
  if (res.rows.length > 0) {
    const names = res.rows.map((r) => r.schema).join(', ');
    throw new Error(
      `Citus has distributed ${names}, which must stay on the coordinator: run \`select citus_schema_undistribute('<schema>')\` for each, then migrate again`,
    );
  }
}

/** Creates a tenant schema, distributed on Citus. Idempotent. */
export async function createTenantSchema(db: Knex, schema: string): Promise<void> {
  await runPlan(db, tenantSchemaPlan(schema, await citusVersion(db)));
}

/** Drops a tenant schema and everything in it, distributed or not. Idempotent. */
export async function dropTenantSchema(db: Knex, schema: string): Promise<void> {
  await runPlan(db, dropTenantSchemaPlan(schema, await citusVersion(db)));
}
