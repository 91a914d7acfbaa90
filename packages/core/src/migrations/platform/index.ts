import type { PlatformMigration } from '../types.js';
import { controlSchema } from './0001_control_schema.js';
import { auditLog } from './0002_audit_log.js';
import { outbox } from './0003_outbox.js';
import { usage } from './0004_usage.js';
import { partmanRetention } from './0005_partman_retention.js';
import { outboxFairness } from './0006_outbox_fairness.js';
import { tenantMigrationVersion } from './0007_tenant_migration_version.js';
import { tenantEventsTimePartitions } from './0008_tenant_events_time_partitions.js';
import { tenantsSchemaIndex } from './0009_tenants_schema_index.js';

/** Control-schema migrations, in order. Append only. */
export const platformMigrations: PlatformMigration[] = [
  controlSchema,
  auditLog,
  outbox,
  usage,
  partmanRetention,
  outboxFairness,
  tenantMigrationVersion,
  tenantEventsTimePartitions,
  tenantsSchemaIndex,
];
