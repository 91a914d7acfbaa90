import { runStatements } from '../../db/statements.js';
import type { PlatformMigration } from '../types.js';

/**
 * `platform.tenants.migration_version`: the newest tenant migration applied to the tenant's
 * schema, written in the transaction that applies it (`migrateTenantSchema`). Migrating every
 * tenant reads it to find the tenants that are behind in one query instead of visiting every
 * schema. Tenants provisioned before it existed have none, count as behind, and get theirs the
 * next time every tenant is migrated.
 */
export const tenantMigrationVersion: PlatformMigration = {
  name: '0007_tenant_migration_version',
  async up(db) {
    await runStatements(db, ['alter table platform.tenants add column migration_version text']);
  },
  async down(db) {
    await runStatements(db, ['alter table platform.tenants drop column migration_version']);
  },
};
