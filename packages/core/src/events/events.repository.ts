import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { quoteIdent } from '../db/database.js';
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

/** A value in COPY's text format: backslash, tab, newline and carriage return escaped. */
function copyValue(value: string): string {
  return value.replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

/** The batch as COPY text rows: type, occurred_at, user_id (`\N` for null), payload. */
function copyRows(events: NewEvent[]): string {
  let text = '';
  for (const e of events) {
    const userId = e.user_id == null ? '\\N' : copyValue(e.user_id);
    text += `${copyValue(e.type)}\t${e.occurred_at.toISOString()}\t${userId}\t${copyValue(JSON.stringify(e.payload ?? {}))}\n`;
  }
  return text;
}

/**
 * Writes a batch with one `COPY ... FROM STDIN` (PostgreSQL's bulk path: no statement with
 * thousands of parameters to build, bind and plan) on `connection`. One statement: all rows or none.
 */
export async function copyEvents(
  connection: pg.ClientBase,
  tenant: TenantRef,
  events: NewEvent[],
): Promise<number> {
  if (events.length === 0) return 0;
  const copy = connection.query(
    copyFrom(`copy ${quoteIdent(tenant.schema)}.events (type, occurred_at, user_id, payload) from stdin`),
  );
  await pipeline(Readable.from([copyRows(events)]), copy);
  return copy.rowCount;
}

/**
 * `copyEvents` on a connection of knex's pool; within a transaction (`db` a `Knex.Transaction`)
 * on the transaction's connection.
 */
export async function insertEvents(db: Knex, tenant: TenantRef, events: NewEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const pool = db.client as {
    acquireConnection(): Promise<pg.PoolClient>;
    releaseConnection(connection: pg.PoolClient): Promise<unknown>;
  };
  const connection = await pool.acquireConnection();
  try {
    return await copyEvents(connection, tenant, events);
  } finally {
    await pool.releaseConnection(connection);
  }
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
