import { quoteIdent } from '../../db/database.js';
import { runStatements } from '../../db/statements.js';
import type { TenantMigration } from '../types.js';

/**
 * Tenants provisioned before `0002_events` made `(occurred_at, id)` unique by an index had it as
 * the primary key of `events` (one `pg_constraint` row per partition, see `0002_events`). The
 * unique index is built first, so the pair stays unique throughout, then the key is dropped. On a
 * tenant made since, both statements find nothing to do; a new schema records it without running
 * it (`convergesOnly`).
 */
export const eventsUniqueIndex: TenantMigration = {
  name: '0004_events_unique_index',
  convergesOnly: true,
  async up(db, schema) {
    const s = quoteIdent(schema);
    await runStatements(db, [
      `create unique index if not exists events_occurred_at_id on ${s}.events (occurred_at, id)`,
      `alter table ${s}.events drop constraint if exists events_pkey`,
    ]);
  },
  async down(db, schema) {
    const s = quoteIdent(schema);
    await runStatements(db, [
      `alter table ${s}.events add primary key (occurred_at, id)`,
      `drop index ${s}.events_occurred_at_id`,
    ]);
  },
};
