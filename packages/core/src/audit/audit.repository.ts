import type { Knex } from 'knex';
import { currentContext } from '../tenancy/context.js';

export interface AuditEntry {
  action: string;
  tenant_id?: string | null;
  details?: Record<string, unknown>;
  /** Defaults to the actor of the current request context, or `system`. */
  actor?: string;
}

export interface AuditRecord {
  id: number;
  occurred_at: Date;
  actor: string;
  action: string;
  tenant_id: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
}

/** Appends to the time-partitioned `platform.audit_log`. Pass a transaction to make it atomic with the change. */
export async function recordAudit(db: Knex, entry: AuditEntry): Promise<void> {
  const ctx = currentContext();
  await db
    .withSchema('platform')
    .table('audit_log')
    .insert({
      actor: entry.actor ?? ctx?.actor ?? 'system',
      action: entry.action,
      tenant_id: entry.tenant_id ?? null,
      request_id: ctx?.requestId ?? null,
      details: JSON.stringify(entry.details ?? {}),
    });
}

export async function listAudit(db: Knex, tenantId: string): Promise<AuditRecord[]> {
  return db
    .withSchema('platform')
    .table('audit_log')
    .select('*')
    .where({ tenant_id: tenantId })
    .orderBy([{ column: 'occurred_at' }, { column: 'id' }]);
}
