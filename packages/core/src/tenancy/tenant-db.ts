import type { Knex } from 'knex';
import { isPgError, PG_QUERY_CANCELED, QueryTimeoutError } from '../errors.js';
import type { TenantRef } from './context.js';
import { PLANS } from './plans.js';

/**
 * A query builder for a table in the tenant's schema. Every tenant query is schema-qualified
 * (and quoted by knex); `search_path` is never changed on pooled connections.
 */
export function tenantTable(db: Knex, tenant: TenantRef, table: string): Knex.QueryBuilder {
  return db.withSchema(tenant.schema).table(table);
}

/**
 * Runs `fn` in a transaction under the tenant plan's `statement_timeout`. The timeout is set with
 * `SET LOCAL`, so it ends with the transaction and never stays on the pooled connection. A
 * statement that hits it is cancelled by PostgreSQL, the transaction rolls back, the connection
 * goes back to the pool healthy and the caller gets a `QueryTimeoutError` (503 `query_timeout`).
 */
export async function inTenantTransaction<T>(
  db: Knex,
  tenant: TenantRef,
  fn: (trx: Knex.Transaction) => Promise<T>,
): Promise<T> {
  const timeoutMs = PLANS[tenant.plan].limits.statementTimeoutMs;
  try {
    return await db.transaction(async (trx) => {
      // An integer from the plan table, never input: safe to inline (SET takes no parameters).
      await trx.raw(`set local statement_timeout = ${Math.trunc(timeoutMs)}`);
      return fn(trx);
    });
  } catch (err) {
    if (isPgError(err, PG_QUERY_CANCELED)) throw new QueryTimeoutError(timeoutMs);
    throw err;
  }
}
