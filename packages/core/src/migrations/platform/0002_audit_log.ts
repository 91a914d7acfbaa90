import { ensureTimePartitioned, removePartmanConfig } from '../../db/partman.js';
import { runStatements } from '../../db/statements.js';
import type { PlatformMigration } from '../types.js';

export const AUDIT_LOG_RETENTION = '90 days';

export const auditLog: PlatformMigration = {
  name: '0002_audit_log',
  async up(db) {
    await runStatements(db, [
      `create table platform.audit_log (
        id bigint generated always as identity,
        occurred_at timestamptz not null default now(),
        actor text not null,
        action text not null,
        tenant_id uuid,
        request_id text,
        details jsonb not null default '{}'::jsonb,
        primary key (occurred_at, id)
      ) partition by range (occurred_at)`,
      'create index audit_log_tenant on platform.audit_log (tenant_id, occurred_at)',
    ]);
    await ensureTimePartitioned(db, {
      parentTable: 'platform.audit_log',
      control: 'occurred_at',
      interval: '1 day',
      premake: 4,
      retention: AUDIT_LOG_RETENTION,
    });
  },
  async down(db) {
    await removePartmanConfig(db, 'platform.audit_log');
    await db.raw('drop table platform.audit_log');
  },
};
