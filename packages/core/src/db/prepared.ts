import type { Knex } from 'knex';
import pg from 'pg';
import { isPgError, PG_QUERY_CANCELED, QueryTimeoutError } from '../errors.js';
import type { TenantRef } from '../tenancy/context.js';
import { PLANS, type Plan } from '../tenancy/plans.js';

/**
 * A named (prepared) statement: PostgreSQL parses and plans it once per connection, and each later
 * call sends only its name and values. The name must be unique for its text.
 */
export interface PreparedStatement {
  name: string;
  text: string;
}

/**
 * Prepared statements a connection keeps at most; past that, statements run unnamed (parsed each
 * time). Tenant statements are schema-qualified, so there is one per tenant and statement.
 */
const MAX_PREPARED_PER_CONNECTION = 500;
const prepared = new WeakMap<pg.ClientBase, Set<string>>();

async function runPrepared<R>(
  client: pg.ClientBase,
  statement: PreparedStatement,
  values: unknown[],
): Promise<R[]> {
  let names = prepared.get(client);
  if (!names) {
    names = new Set();
    prepared.set(client, names);
  }
  const named = names.has(statement.name) || names.size < MAX_PREPARED_PER_CONNECTION;
  const result = await client.query<R & pg.QueryResultRow>(
    named ? { name: statement.name, text: statement.text, values } : { text: statement.text, values },
  );
  if (named) names.add(statement.name);
  return result.rows;
}

interface KnexPgClient {
  acquireConnection(): Promise<pg.PoolClient>;
  releaseConnection(connection: pg.PoolClient): Promise<unknown>;
}

/**
 * Runs a prepared statement on a connection of knex's pool (or of a knex transaction), for the
 * hot control-plane queries: no query building per call.
 */
export async function queryPrepared<R>(
  db: Knex,
  statement: PreparedStatement,
  values: unknown[],
): Promise<R[]> {
  const client = db.client as KnexPgClient;
  const connection = await client.acquireConnection();
  try {
    return await runPrepared<R>(connection, statement, values);
  } finally {
    await client.releaseConnection(connection);
  }
}

export interface TenantStatementsOptions {
  url: string;
  /** Connections per plan's pool, at most. */
  maxPerPlan: number;
  applicationName?: string;
  /** Idle connections are closed after this long (an unused plan's pool drains to none). */
  idleTimeoutMs?: number;
  /**
   * Longest a statement waits for a connection of its plan's pool (default 2 s); past it, it fails
   * as the database being unavailable (503 `database_unavailable`), never a 500.
   */
  connectionTimeoutMs?: number;
}

/**
 * Single tenant statements that need no transaction (a read by primary key), run under the plan's
 * statement timeout in one round trip. Each plan has its own small pool whose connections carry
 * the plan's `statement_timeout` as a connection parameter, set when they connect and never
 * changed, so no `BEGIN` / `SET LOCAL` / `COMMIT` is needed around the statement and no timeout
 * can leak onto another plan's or the control plane's connections (those stay in knex's pool).
 * A statement cancelled by the timeout raises `QueryTimeoutError` (503 `query_timeout`), as
 * `inTenantTransaction` does.
 */
export class TenantStatements {
  private readonly pools = new Map<Plan, pg.Pool>();

  constructor(
    private readonly options: TenantStatementsOptions,
    private readonly onPoolError: (err: Error) => void = () => undefined,
  ) {}

  private pool(plan: Plan): pg.Pool {
    let pool = this.pools.get(plan);
    if (!pool) {
      pool = new pg.Pool({
        connectionString: this.options.url,
        application_name: this.options.applicationName ?? 'platform',
        statement_timeout: PLANS[plan].limits.statementTimeoutMs,
        max: this.options.maxPerPlan,
        idleTimeoutMillis: this.options.idleTimeoutMs ?? 10_000,
        // As knex's pool: an unreachable server fails the request fast instead of holding it.
        connectionTimeoutMillis: this.options.connectionTimeoutMs ?? 2_000,
        // Connections are renewed now and then, which also drops the statements they prepared.
        maxLifetimeSeconds: 600,
      });
      // An idle connection that breaks (server restart) must not crash the process.
      pool.on('error', (err) => this.onPoolError(err));
      this.pools.set(plan, pool);
    }
    return pool;
  }

  /** Runs `statement` for `tenant` on its plan's pool; rows as plain objects. */
  query<R>(tenant: TenantRef, statement: PreparedStatement, values: unknown[]): Promise<R[]> {
    return this.withConnection(tenant, (client) => runPrepared<R>(client, statement, values));
  }

  /**
   * Runs `fn` with a connection of the tenant's plan's pool, for one statement that needs no
   * transaction (a `COPY` is all or nothing by itself).
   */
  async withConnection<T>(tenant: TenantRef, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const pool = this.pool(tenant.plan);
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      return await fn(client);
    } catch (err) {
      if (isPgError(err, PG_QUERY_CANCELED)) {
        throw new QueryTimeoutError(PLANS[tenant.plan].limits.statementTimeoutMs);
      }
      // A server error leaves the connection usable; anything else (connection lost) discards it.
      if (!(err instanceof pg.DatabaseError)) broken = err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /** Connections of every plan's pool, for metrics. */
  stats(): { used: number; free: number; pendingAcquires: number } {
    let used = 0;
    let free = 0;
    let pendingAcquires = 0;
    for (const pool of this.pools.values()) {
      used += pool.totalCount - pool.idleCount;
      free += pool.idleCount;
      pendingAcquires += pool.waitingCount;
    }
    return { used, free, pendingAcquires };
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.end()));
  }
}
