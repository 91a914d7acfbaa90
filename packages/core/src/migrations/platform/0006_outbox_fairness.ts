import { runStatements } from '../../db/statements.js';
import type { PlatformMigration } from '../types.js';

/**
 * Fair admission of outbox entries (docs/tasks.md, "Fair queueing"): an entry of a task whose
 * catalog entry names a fairness key (`ml.predict`: its tenant) records that key, and the relay
 * admits such entries to the broker at most a few per key at a time. Two partial indexes keep
 * both kinds of pending entries cheap to find however long one key's backlog is.
 */
export const outboxFairness: PlatformMigration = {
  name: '0006_outbox_fairness',
  async up(db) {
    await runStatements(db, [
      'alter table platform.outbox add column fairness_key text',
      `create index outbox_unpublished_unkeyed on platform.outbox (created_at)
        where published_at is null and fairness_key is null`,
      `create index outbox_unpublished_keyed on platform.outbox (queue, fairness_key, created_at)
        where published_at is null and fairness_key is not null`,
    ]);
  },
  async down(db) {
    await runStatements(db, [
      'drop index platform.outbox_unpublished_keyed',
      'drop index platform.outbox_unpublished_unkeyed',
      'alter table platform.outbox drop column fairness_key',
    ]);
  },
};
