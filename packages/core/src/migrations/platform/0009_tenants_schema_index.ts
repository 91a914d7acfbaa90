import { runStatements } from '../../db/statements.js';
import type { PlatformMigration } from '../types.js';

/**
 * An index on the live tenants' `schema_name`. Applying a tenant's migrations records its
 * `migration_version` by schema name (`migrateTenantSchema`), in every provisioning and for every
 * tenant migrated; without an index each of those updates read the whole of `platform.tenants`,
 * so migrating every tenant grew with the square of their number (10,000 tenants: 10,000 reads of
 * 10,000 rows).
 */
export const tenantsSchemaIndex: PlatformMigration = {
  name: '0009_tenants_schema_index',
  async up(db) {
    await runStatements(db, [
      `create index if not exists tenants_live_schema on platform.tenants (schema_name) where status <> 'deleted'`,
    ]);
  },
  async down(db) {
    await runStatements(db, ['drop index if exists platform.tenants_live_schema']);
  },
};
