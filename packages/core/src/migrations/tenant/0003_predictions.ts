import { quoteIdent } from '../../db/database.js';
import { runStatements } from '../../db/statements.js';
import type { TenantMigration } from '../types.js';

/**
 * `id` is unique by an index, and the replica identity, rather than a primary key, and `status`
 * has no CHECK constraint: either would be a `pg_constraint` row (see
 * `0005_keys_as_unique_indexes`). The statuses are written by `predictions.repository.ts` alone.
 */
export const predictions: TenantMigration = {
  name: '0003_predictions',
  async up(db, schema) {
    const s = quoteIdent(schema);
    await runStatements(db, [
      `create table ${s}.predictions (
        id uuid not null default gen_random_uuid(),
        model text not null,
        model_version text,
        input jsonb not null,
        status text not null,
        output jsonb,
        error text,
        attempts integer not null default 0,
        task_id text,
        created_at timestamptz(3) not null default now(),
        updated_at timestamptz not null default now(),
        completed_at timestamptz
      )`,
      `create unique index predictions_id on ${s}.predictions (id)`,
      `alter table ${s}.predictions replica identity using index predictions_id`,
      `create index predictions_created on ${s}.predictions (created_at, id)`,
    ]);
  },
  async down(db, schema) {
    await db.raw(`drop table ${quoteIdent(schema)}.predictions`);
  },
};
