import { quoteIdent } from '../../db/database.js';
import { runStatements } from '../../db/statements.js';
import type { TenantMigration } from '../types.js';

const PREDICTION_STATUSES = "('queued', 'running', 'succeeded', 'failed')";

/**
 * A tenant schema adds no row to `pg_constraint`. PostgreSQL 15 reads that catalog whole (no
 * index serves the look-up) for every partition it creates, to clone the foreign keys that
 * reference the parent: for each partition of a new tenant, and once a day per tenant in
 * maintenance. With 4 rows a tenant (the keys of `users`, `predictions` and the migrations
 * table, the check on `predictions.status`) that read took about 10 ms at 5,500 tenants and grew
 * with every one (`bench/README.md`, tenancy-scale). Keys become unique indexes of the same
 * columns, which are also the tables' replica identity (logical replication, `citus_schema_move`),
 * and the status check goes: the statuses are written by `predictions.repository.ts` alone.
 *
 * Tenants made since `0001_users` and `0003_predictions` were changed have this shape already,
 * and every statement here finds nothing to do (a new schema records it without running it,
 * `convergesOnly`); on the others, each index is built before the key it replaces is dropped, so
 * the ids stay unique throughout.
 */
export const keysAsUniqueIndexes: TenantMigration = {
  name: '0005_keys_as_unique_indexes',
  convergesOnly: true,
  async up(db, schema) {
    const s = quoteIdent(schema);
    await runStatements(db, [
      `create unique index if not exists users_id on ${s}.users (id)`,
      `alter table ${s}.users replica identity using index users_id`,
      `alter table ${s}.users drop constraint if exists users_pkey`,
      `create unique index if not exists predictions_id on ${s}.predictions (id)`,
      `alter table ${s}.predictions replica identity using index predictions_id`,
      `alter table ${s}.predictions drop constraint if exists predictions_pkey`,
      `alter table ${s}.predictions drop constraint if exists predictions_status_check`,
      `alter table if exists ${s}.knex_migrations drop constraint if exists knex_migrations_pkey`,
    ]);
  },
  async down(db, schema) {
    const s = quoteIdent(schema);
    await runStatements(db, [
      `alter table if exists ${s}.knex_migrations add primary key (id)`,
      `alter table ${s}.predictions add constraint predictions_status_check check (status in ${PREDICTION_STATUSES})`,
      `alter table ${s}.predictions add primary key (id)`,
      `alter table ${s}.predictions replica identity default`,
      `drop index ${s}.predictions_id`,
      `alter table ${s}.users add primary key (id)`,
      `alter table ${s}.users replica identity default`,
      `drop index ${s}.users_id`,
    ]);
  },
};
