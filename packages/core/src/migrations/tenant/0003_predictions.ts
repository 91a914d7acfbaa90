import { quoteIdent } from '../../db/database.js';
import { runStatements } from '../../db/statements.js';
import type { TenantMigration } from '../types.js';

export const predictions: TenantMigration = {
  name: '0003_predictions',
  async up(db, schema) {
    const s = quoteIdent(schema);
    await runStatements(db, [
      `create table ${s}.predictions (
        id uuid primary key default gen_random_uuid(),
        model text not null,
        model_version text,
        input jsonb not null,
        status text not null check (status in ('queued', 'running', 'succeeded', 'failed')),
        output jsonb,
        error text,
        attempts integer not null default 0,
        task_id text,
        created_at timestamptz(3) not null default now(),
        updated_at timestamptz not null default now(),
        completed_at timestamptz
      )`,
      `create index predictions_created on ${s}.predictions (created_at, id)`,
    ]);
  },
  async down(db, schema) {
    await db.raw(`drop table ${quoteIdent(schema)}.predictions`);
  },
};
