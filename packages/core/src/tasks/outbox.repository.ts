import type { Knex } from 'knex';

/** A task written to the outbox, waiting for the relay (or already sent). */
export interface OutboxEntry {
  id: string;
  task: string;
  queue: string;
  kwargs: Record<string, unknown>;
  created_at: Date;
}

const table = (db: Knex) => db.withSchema('platform').table('outbox');

/** A task to write to the outbox. */
export interface NewOutboxEntry {
  id: string;
  task: string;
  queue: string;
  kwargs: Record<string, unknown>;
}

/** The insert of an entry, not yet run: to run alone, or inside another statement (a `with`). */
export function outboxInsert(db: Knex, entry: NewOutboxEntry): Knex.QueryBuilder {
  return table(db).insert({ ...entry, kwargs: JSON.stringify(entry.kwargs) });
}

export async function insertOutboxEntry(db: Knex, entry: NewOutboxEntry): Promise<void> {
  await outboxInsert(db, entry);
}

/** A connection of its own (the relay's), outside the pool: `pg.Client` is one. */
export interface OutboxConnection {
  query<R extends object>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

/** Unsent entries, oldest first, at most `limit`. */
export async function selectUnsentEntries(conn: OutboxConnection, limit: number): Promise<OutboxEntry[]> {
  const { rows } = await conn.query<OutboxEntry>(
    `select id, task, queue, kwargs, created_at from platform.outbox
      where published_at is null order by created_at limit $1`,
    [limit],
  );
  return rows;
}

/** Marks published entries as sent. */
export async function markEntriesSent(conn: OutboxConnection, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await conn.query(
    `update platform.outbox set published_at = clock_timestamp(), publish_attempts = publish_attempts + 1
      where id = any($1::uuid[])`,
    [ids],
  );
}

/** Records why a publish failed, on entries that stay unsent. */
export async function recordPublishFailure(
  conn: OutboxConnection,
  ids: string[],
  error: string,
): Promise<void> {
  if (ids.length === 0) return;
  await conn.query(
    `update platform.outbox set publish_attempts = publish_attempts + 1, last_error = $2
      where id = any($1::uuid[])`,
    [ids, error.slice(0, 500)],
  );
}

export interface OutboxBacklog {
  /** Entries not yet sent. */
  pending: number;
  /** Age of the oldest unsent entry, in seconds (0 when none). */
  oldestSeconds: number;
}

export async function outboxBacklog(db: Knex): Promise<OutboxBacklog> {
  const { rows } = await db.raw<{ rows: Array<{ pending: number; oldest: number | null }> }>(
    `select count(*)::int as pending,
            extract(epoch from clock_timestamp() - min(created_at))::float8 as oldest
       from platform.outbox where published_at is null`,
  );
  const row = rows[0];
  return { pending: row?.pending ?? 0, oldestSeconds: row?.oldest ?? 0 };
}

/** Deletes entries sent more than `olderThanSeconds` ago. Returns how many went. */
export async function purgeSentEntries(db: Knex, olderThanSeconds: number): Promise<number> {
  return table(db)
    .where('published_at', '<', db.raw(`clock_timestamp() - make_interval(secs => ?)`, [olderThanSeconds]))
    .delete();
}
