import { runStatements } from '../../db/statements.js';
import type { PlatformMigration } from '../types.js';

/**
 * Tenants' events tables premake partitions from the current time (`infinite_time_partitions`)
 * rather than from their newest event: a tenant that sends nothing for a few days still has
 * today's partition when it sends again (otherwise its events land in the default partition, and
 * pg_partman cannot then create that day's partition), and whether a table needs maintenance
 * follows from its configuration and its partitions' bounds alone, which lets a maintenance pass
 * skip the tables that need nothing (`runPartmanMaintenancePass`). Provisioning sets it for new
 * tenants; this sets it for the existing ones.
 */
export const tenantEventsTimePartitions: PlatformMigration = {
  name: '0008_tenant_events_time_partitions',
  async up(db) {
    await runStatements(db, [
      `update partman.part_config set infinite_time_partitions = true
        where parent_table ~ '^tenant_[a-z0-9_]+\\.events$' and not infinite_time_partitions`,
    ]);
  },
  async down(db) {
    await runStatements(db, [
      `update partman.part_config set infinite_time_partitions = false
        where parent_table ~ '^tenant_[a-z0-9_]+\\.events$' and infinite_time_partitions`,
    ]);
  },
};
