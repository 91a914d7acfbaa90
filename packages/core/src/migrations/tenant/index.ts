import type { TenantMigration } from '../types.js';
import { users } from './0001_users.js';
import { events } from './0002_events.js';
import { predictions } from './0003_predictions.js';
import { eventsUniqueIndex } from './0004_events_unique_index.js';
import { keysAsUniqueIndexes } from './0005_keys_as_unique_indexes.js';

/**
 * Tenant-schema migrations, in order. Append only: a tenant never runs a recorded migration again,
 * so a change to a shipped one reaches existing tenants only through a new one that converges them
 * (as `0004_events_unique_index` does for `0002_events`).
 */
export const tenantMigrations: TenantMigration[] = [
  users,
  events,
  predictions,
  eventsUniqueIndex,
  keysAsUniqueIndexes,
];
