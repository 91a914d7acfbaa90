import type { Knex } from 'knex';
import { keysetPage, type Page } from '../pagination.js';
import type { TenantRef } from '../tenancy/context.js';
import { tenantTable } from '../tenancy/tenant-db.js';

export interface EventRecord {
  id: number;
  type: string;
  occurred_at: Date;
  user_id: string | null;
  payload: Record<string, unknown>;
  received_at: Date;
}

export interface NewEvent {
  type: string;
  occurred_at: Date;
  user_id?: string | null;
  payload?: Record<string, unknown>;
}

export interface EventQuery {
  from: Date;
  to: Date;
  type?: string;
  limit: number;
  cursor?: string;
}

const COLUMNS = ['id', 'type', 'occurred_at', 'user_id', 'payload', 'received_at'];

/** Inserts a batch in one multi-row statement: all rows or none. */
export async function insertEvents(db: Knex, tenant: TenantRef, events: NewEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const rows = events.map((e) => ({
    type: e.type,
    occurred_at: e.occurred_at,
    user_id: e.user_id ?? null,
    payload: JSON.stringify(e.payload ?? {}),
  }));
  const inserted = await tenantTable(db, tenant, 'events').insert(rows).returning('id');
  return inserted.length;
}

/**
 * Events in `[from, to)`, ordered by (occurred_at, id). The range predicate is on the partition
 * key, so PostgreSQL reads only the partitions that overlap it.
 */
export function eventsInRange(db: Knex, tenant: TenantRef, q: Pick<EventQuery, 'from' | 'to' | 'type'>) {
  const query = tenantTable(db, tenant, 'events')
    .select(COLUMNS)
    .where('occurred_at', '>=', q.from)
    .where('occurred_at', '<', q.to);
  if (q.type) query.where('type', q.type);
  return query;
}

export function queryEvents(db: Knex, tenant: TenantRef, q: EventQuery): Promise<Page<EventRecord>> {
  return keysetPage<EventRecord>(eventsInRange(db, tenant, q), {
    timeColumn: 'occurred_at',
    idType: 'bigint',
    limit: q.limit,
    cursor: q.cursor,
  });
}
