import { runStatements } from '../../db/statements.js';
import type { PlatformMigration } from '../types.js';

export const controlSchema: PlatformMigration = {
  name: '0001_control_schema',
  async up(db) {
    await runStatements(db, [
      `create table platform.tenants (
        id uuid primary key default gen_random_uuid(),
        slug text not null,
        name text not null,
        plan text not null,
        status text not null check (status in ('provisioning', 'ready', 'failed', 'deleting', 'deleted')),
        schema_name text not null,
        namespace text not null,
        last_error text,
        provisioning_step text,
        lease_until timestamptz,
        created_at timestamptz(3) not null default now(),
        updated_at timestamptz not null default now()
      )`,
      `create unique index tenants_live_slug on platform.tenants (slug) where status <> 'deleted'`,
      'create index tenants_created on platform.tenants (created_at, id)',
      `create index tenants_unfinished on platform.tenants (status) where status in ('provisioning', 'deleting')`,
      `create table platform.api_keys (
        id uuid primary key default gen_random_uuid(),
        tenant_id uuid not null references platform.tenants (id) on delete cascade,
        name text not null,
        prefix text not null unique,
        secret_hash bytea not null,
        scopes text[] not null,
        created_at timestamptz(3) not null default now(),
        last_used_at timestamptz,
        revoked_at timestamptz
      )`,
      'create index api_keys_tenant on platform.api_keys (tenant_id, created_at, id)',
    ]);
  },
  async down(db) {
    await runStatements(db, ['drop table platform.api_keys', 'drop table platform.tenants']);
  },
};
