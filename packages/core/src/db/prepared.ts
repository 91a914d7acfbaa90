import type { Knex } from 'knex';
import pg from 'pg';
import { isPgError, PG_QUERY_CANCELED, QueryTimeoutError } from '../errors.js';
import type { TenantRef } from '../tenancy/context.js';
import { PLANS, type Plan } from '../tenancy/plans.js';

/**
 * A named (prepared) statement: PostgreSQL parses and plans it once per connection, and each later
 * call sends only its name and values. The name must be unique for its text; an empty name runs
 * the statement unnamed (parsed each time: a text that seldom repeats).
 */
export interface PreparedStatement {
  name: string;
  text: string;
}

/**
 * Prepared statements a connection keeps at most; past that, statements run unnamed (parsed and
 * planned each time). Tenant statements are schema-qualified, so there is one per tenant and
 * statement: with 10,000 tenants on shares of one or two of ten connections, each connection
 * serves 1,000 or 2,000 tenants. Measured on one backend reading a user by id round-robin over 2,000 schemas
 * (bench/README.md, tenancy-scale): 100 µs of PostgreSQL CPU per read unnamed, 53 µs prepared
 * with a generic plan, for about 17 KB of backend memory per prepared statement.
 */
const MAX_PREPARED_PER_CONNECTION = 2_000;
const prepared = new WeakMap<pg.ClientBase, Set<string>>();

/**
 * Single statements of a tenant queued on its own share, per connection of the share, before the
 * next one goes to another share: a statement is a fraction of a millisecond, so waiting behind a
 * couple of others costs less than running on a connection that has not prepared it (and would
 * then cache that tenant's tables too).
 */
const HOME_QUEUE_PER_CONNECTION = 2;

async function runPrepared<R>(
  client: pg.ClientBase,
  statement: PreparedStatement,
  values: unknown[],
  prepare = true,
): Promise<R[]> {
  let names = prepared.get(client);
  if (!names) {
    names = new Set();
    prepared.set(client, names);
  }
  const named =
    statement.name !== '' &&
    (names.has(statement.name) || (prepare && names.size < MAX_PREPARED_PER_CONNECTION));
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

/** What `inPooledTransaction` hands its function: statements on the transaction's connection. */
export interface PooledTransaction {
  /** A prepared statement (as `queryPrepared`). */
  prepared<R>(statement: PreparedStatement, values: unknown[]): Promise<R[]>;
  /** One statement, unnamed. */
  query(text: string, values?: unknown[]): Promise<void>;
}

/**
 * Runs `fn` in a transaction on one connection of knex's pool, sending `BEGIN`, the statements
 * and `COMMIT` (`ROLLBACK` when `fn` throws) straight to it: for loops of many short
 * transactions (pg_partman maintenance, one per tenant), where a knex transaction's objects cost
 * the process more than the statements do.
 */
export async function inPooledTransaction<T>(
  db: Knex,
  fn: (trx: PooledTransaction) => Promise<T>,
): Promise<T> {
  const client = db.client as KnexPgClient;
  const connection = await client.acquireConnection();
  try {
    await connection.query('begin');
    try {
      const value = await fn({
        prepared: (statement, values) => runPrepared(connection, statement, values),
        query: async (text, values) => {
          await connection.query(text, values);
        },
      });
      await connection.query('commit');
      return value;
    } catch (err) {
      await connection.query('rollback').catch(() => undefined);
      throw err;
    }
  } finally {
    await client.releaseConnection(connection);
  }
}

export interface TenantStatementsOptions {
  url: string;
  /** Connections per plan's pool, at most. */
  maxPerPlan: number;
  applicationName?: string;
  /**
   * Idle connections are closed after this long (default 60 s; an unused plan's pool drains to
   * none). A connection's replacement prepares its tenants' statements and caches their tables
   * again: with 1,000 tenants per connection, at up to several times PostgreSQL's CPU per request
   * until it has (bench/README.md, tenancy-scale), so lulls shorter than this keep them.
   */
  idleTimeoutMs?: number;
  /**
   * Longest a statement waits for a connection of its plan's pool (default 2 s); past it, it fails
   * as the database being unavailable (503 `database_unavailable`), never a 500.
   */
  connectionTimeoutMs?: number;
  /**
   * Connections of a plan's pool that one tenant's statements prefer (default: all of them, one
   * share). Each connection prepares the statements of the tenants it serves (one per tenant and
   * statement, schema-qualified) and caches their tables' catalog entries, so with thousands of
   * tenants a connection that served every one would run most statements unprepared (past
   * MAX_PREPARED_PER_CONNECTION) and hold every schema's relation cache; smaller shares spread
   * them. With few tenants one share is cheaper: no tenant waits on a share while another is idle.
   */
  connectionsPerShare?: number;
}

/** A stable number for a tenant (FNV-1a of its id). */
function tenantHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

interface Share {
  pool: pg.Pool;
  max: number;
}

/**
 * A plan's connections as shares of `connectionsPerShare`, each its own `pg.Pool`. A tenant's
 * statements go to its share (by its id) while that share has a free connection or room for one,
 * or (`queueAtHome`) fewer than that many already waiting for one; past that, to a share with a
 * free connection, then one with room, so one busy tenant still gets every connection, and only
 * when every share is busy does it wait for its own.
 */
class PlanPools {
  readonly shares: Share[] = [];

  constructor(max: number, perShare: number, make: (max: number) => pg.Pool) {
    for (let left = max; left > 0; left -= perShare) {
      const size = Math.min(perShare, left);
      this.shares.push({ pool: make(size), max: size });
    }
  }

  pick(tenantId: string, queueAtHome = 0): { pool: pg.Pool; home: boolean } {
    const count = this.shares.length;
    const start = tenantHash(tenantId) % count;
    const home = this.shares[start] as Share;
    // Requests a share holds a connection for, or queued for one (queued ones include those an
    // idle connection is about to be handed to, and those a new connection is opening for).
    const demand = (s: Share) => s.pool.totalCount - s.pool.idleCount + s.pool.waitingCount;
    const free = (s: Share) => s.pool.idleCount > s.pool.waitingCount;
    const room = (s: Share) => demand(s) < s.max;
    if (room(home) || home.pool.waitingCount < queueAtHome * home.max) return { pool: home.pool, home: true };
    let withRoom: pg.Pool | undefined;
    for (let k = 1; k < count; k++) {
      const share = this.shares[(start + k) % count] as Share;
      if (free(share)) return { pool: share.pool, home: false };
      if (!withRoom && room(share)) withRoom = share.pool;
    }
    return withRoom ? { pool: withRoom, home: false } : { pool: home.pool, home: true };
  }
}

/**
 * Single tenant statements that need no transaction (a read by primary key), run under the plan's
 * statement timeout in one round trip. Each plan has its own small pool whose connections carry
 * the plan's `statement_timeout` as a connection parameter, set when they connect and never
 * changed, so no `BEGIN` / `SET LOCAL` / `COMMIT` is needed around the statement and no timeout
 * can leak onto another plan's or the control plane's connections (those stay in knex's pool).
 * A statement cancelled by the timeout raises `QueryTimeoutError` (503 `query_timeout`), as
 * `inTenantTransaction` does. A tenant's statements prefer a share of its plan's connections
 * (`PlanPools`), so each connection prepares and caches the statements and tables of a fraction of
 * the tenants.
 */
export class TenantStatements {
  private readonly pools = new Map<Plan, PlanPools>();

  constructor(
    private readonly options: TenantStatementsOptions,
    private readonly onPoolError: (err: Error) => void = () => undefined,
  ) {}

  private pool(tenant: TenantRef, queueAtHome = 0): { pool: pg.Pool; home: boolean } {
    const plan = tenant.plan;
    let pools = this.pools.get(plan);
    if (!pools) {
      const perShare = Math.max(1, this.options.connectionsPerShare ?? this.options.maxPerPlan);
      pools = new PlanPools(this.options.maxPerPlan, perShare, (max) => {
        const pool = new pg.Pool({
          connectionString: this.options.url,
          application_name: this.options.applicationName ?? 'platform',
          statement_timeout: PLANS[plan].limits.statementTimeoutMs,
          // A tenant's statement runs a few times per connection between renewals, with thousands
          // of tenants: PostgreSQL would plan each of the first five runs again (custom plans)
          // before settling on the generic one. These statements (reads by key, inserts) have one
          // plan whatever the values, so the generic plan is used from the first run.
          options: '-c plan_cache_mode=force_generic_plan',
          max,
          idleTimeoutMillis: this.options.idleTimeoutMs ?? 60_000,
          // As knex's pool: an unreachable server fails the request fast instead of holding it.
          connectionTimeoutMillis: this.options.connectionTimeoutMs ?? 2_000,
          // Connections are renewed now and then, which also drops the statements they prepared.
          maxLifetimeSeconds: 600,
        });
        // An idle connection that breaks (server restart) must not crash the process.
        pool.on('error', (err) => this.onPoolError(err));
        return pool;
      });
      this.pools.set(plan, pools);
    }
    return pools.pick(tenant.id, queueAtHome);
  }

  /**
   * Runs `statement` for `tenant` on its plan's pool; rows as plain objects. It waits for its own
   * share behind up to `HOME_QUEUE_PER_CONNECTION` others per connection; sent to another share,
   * it runs unnamed there, so that connection's prepared statements stay its own tenants'.
   */
  query<R>(tenant: TenantRef, statement: PreparedStatement, values: unknown[]): Promise<R[]> {
    const { pool, home } = this.pool(tenant, HOME_QUEUE_PER_CONNECTION);
    return this.onConnection(tenant, pool, (client) => runPrepared<R>(client, statement, values, home));
  }

  /**
   * Runs `fn` with a connection of the tenant's plan's pool, for one statement that needs no
   * transaction (a `COPY` is all or nothing by itself).
   */
  withConnection<T>(tenant: TenantRef, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.onConnection(tenant, this.pool(tenant).pool, fn);
  }

  private async onConnection<T>(
    tenant: TenantRef,
    pool: pg.Pool,
    fn: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T> {
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
    for (const { pool } of this.allPools()) {
      used += pool.totalCount - pool.idleCount;
      free += pool.idleCount;
      pendingAcquires += pool.waitingCount;
    }
    return { used, free, pendingAcquires };
  }

  private allPools(): Share[] {
    return [...this.pools.values()].flatMap((pools) => pools.shares);
  }

  async close(): Promise<void> {
    const shares = this.allPools();
    this.pools.clear();
    await Promise.all(shares.map(({ pool }) => pool.end()));
  }
}
