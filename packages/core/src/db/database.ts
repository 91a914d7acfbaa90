import knexFactory, { type Knex } from 'knex';
import pg from 'pg';

// Return `timestamptz` as Date and `bigint` (count(*) and ids) as JS numbers: row counts and event
// ids stay far below 2^53 in practice.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export interface DatabaseOptions {
  url: string;
  poolMin?: number;
  poolMax?: number;
  /** Name reported in pg_stat_activity. */
  applicationName?: string;
}

export type Database = Knex;

export function createDatabase(options: DatabaseOptions): Database {
  return knexFactory({
    client: 'pg',
    connection: {
      connectionString: options.url,
      application_name: options.applicationName ?? 'platform',
      // An unreachable server fails a request fast instead of holding it.
      connectionTimeoutMillis: 2_000,
    },
    // A connection that cannot be made fails the waiting query at once (503), rather than after
    // the acquire timeout.
    pool: { min: options.poolMin ?? 0, max: options.poolMax ?? 10, propagateCreateError: true },
    acquireConnectionTimeout: 10_000,
    // Error messages carry the SQL text with its placeholders, never the bound values: those are
    // tenant data, and error messages are logged and stored in task results.
    compileSqlOnError: false,
  });
}

export interface PoolStats {
  used: number;
  free: number;
  pendingAcquires: number;
  max: number;
}

/** Pool statistics for metrics. */
export function poolStats(db: Database): PoolStats {
  const pool = (db.client as { pool?: TarnPool }).pool;
  return {
    used: pool?.numUsed() ?? 0,
    free: pool?.numFree() ?? 0,
    pendingAcquires: pool?.numPendingAcquires() ?? 0,
    max: pool?.max ?? 0,
  };
}

interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  max: number;
}

/**
 * What identifies a pool's database for caching what it has installed (extension versions): the
 * pool's configuration, which its transactions share (each transaction has a client of its own).
 */
export function cacheKey(db: Knex): object {
  return (db.client as { config?: object }).config ?? db.client;
}

/** Quotes an SQL identifier. Used only with names derived by this package, never raw input. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
