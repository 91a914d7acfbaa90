import type { Knex } from 'knex';
import type { TenantRef } from './context.js';

/**
 * A query builder for a table in the tenant's schema. Every tenant query is schema-qualified
 * (and quoted by knex); `search_path` is never changed on pooled connections.
 */
export function tenantTable(db: Knex, tenant: TenantRef, table: string): Knex.QueryBuilder {
  return db.withSchema(tenant.schema).table(table);
}
