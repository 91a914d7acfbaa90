import { ensureTimePartitioned, removePartmanConfig } from '../../db/partman.js';
import { runStatements } from '../../db/statements.js';
import type { PlatformMigration } from '../types.js';

/** How long daily usage is kept (monthly partitions older than this are dropped by maintenance). */
export const USAGE_RETENTION = '400 days';

/**
 * `platform.usage`: metered usage per tenant, UTC day and metric, flushed from the Redis counters
 * (docs/tenancy.md, "Metered usage"). `epoch` and `watermark` are the flush's bookkeeping: the
 * Redis counter generation last applied and the counter value it had, so that applying the same
 * or an older reading again adds nothing.
 */
export const usage: PlatformMigration = {
  name: '0004_usage',
  async up(db) {
    await runStatements(db, [
      `create table platform.usage (
        day date not null,
        tenant_id uuid not null,
        metric text not null check (metric in ('api_requests', 'events', 'predictions', 'prediction_instances')),
        count bigint not null check (count >= 0),
        epoch text not null,
        watermark bigint not null,
        updated_at timestamptz not null default now(),
        primary key (day, tenant_id, metric)
      ) partition by range (day)`,
      'create index usage_tenant on platform.usage (tenant_id, day)',
    ]);
    await ensureTimePartitioned(db, {
      parentTable: 'platform.usage',
      control: 'day',
      interval: '1 month',
      premake: 2,
      retention: USAGE_RETENTION,
    });
  },
  async down(db) {
    await removePartmanConfig(db, 'platform.usage');
    await db.raw('drop table platform.usage');
  },
};
