import { quoteIdent } from '../../db/database.js';
import { runStatements } from '../../db/statements.js';
import type { TenantMigration } from '../types.js';

/**
 * `id` is unique by an index, and the replica identity, rather than a primary key: a key is a
 * `pg_constraint` row, and PostgreSQL 15 reads that catalog whole for every partition created
 * (see `0005_keys_as_unique_indexes`).
 */
export const users: TenantMigration = {
  name: '0001_users',
  async up(db, schema) {
    const s = quoteIdent(schema);
    await runStatements(db, [
      `create table ${s}.users (
        id uuid not null default gen_random_uuid(),
        email text not null,
        name text not null,
        created_at timestamptz(3) not null default now(),
        updated_at timestamptz not null default now()
      )`,
      `create unique index users_id on ${s}.users (id)`,
      `alter table ${s}.users replica identity using index users_id`,
      `create unique index users_email on ${s}.users (lower(email))`,
      `create index users_created on ${s}.users (created_at, id)`,
    ]);
  },
  async down(db, schema) {
    await db.raw(`drop table ${quoteIdent(schema)}.users`);
  },
};
