import type { TenantMigration } from '../types.js';
import { users } from './0001_users.js';
import { events } from './0002_events.js';
import { predictions } from './0003_predictions.js';

/** Tenant-schema migrations, in order. Append only. */
export const tenantMigrations: TenantMigration[] = [users, events, predictions];
