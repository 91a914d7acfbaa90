import type { Knex } from 'knex';

/** A task written to the outbox, waiting for the relay (or already sent). */
export interface OutboxEntry {
  id: string;
  task: string;
  queue: string;
  kwargs: Record<string, unknown>;
  /** Set for tasks admitted fairly (the catalog's `fairBy`): e.g. the tenant of `ml.predict`. */
  fairness_key: string | null;
  created_at: Date;
}

const table = (db: Knex) => db.withSchema('platform').table('outbox');

/** A task to write to the outbox. */
export interface NewOutboxEntry {
  id: string;
  task: string;
  queue: string;
  kwargs: Record<string, unknown>;
  /** The task's fairness key (docs/tasks.md, "Fair queueing"), if its catalog entry names one. */
  fairness_key?: string | null;
}

/** The insert of an entry, not yet run: to run alone, or inside another statement (a `with`). */
export function outboxInsert(db: Knex, entry: NewOutboxEntry): Knex.QueryBuilder {
  return table(db).insert({ ...entry, kwargs: JSON.stringify(entry.kwargs) });
}

export async function insertOutboxEntry(db: Knex, entry: NewOutboxEntry): Promise<void> {
  await outboxInsert(db, entry);
}

/**
 * A connection of its own (the relay's), outside the pool: `pg.Client` is one. Its statements are
 * named (prepared once per connection, then sent as name and values): the relay runs the same few
 * on every pass.
 */
export interface OutboxConnection {
  query<R extends object>(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: R[] }>;
}

const ENTRY_COLUMNS = 'id, task, queue, kwargs, fairness_key, created_at';

/** Unsent entries, oldest first, at most `limit` (fairness keys or not). */
export async function selectUnsentEntries(conn: OutboxConnection, limit: number): Promise<OutboxEntry[]> {
  const { rows } = await conn.query<OutboxEntry>({
    name: 'outbox.unsent',
    text: `select ${ENTRY_COLUMNS} from platform.outbox
            where published_at is null order by created_at limit $1`,
    values: [limit],
  });
  return rows;
}

/** A queue and fairness key with entries waiting for admission. */
export interface FairGroup {
  queue: string;
  key: string;
}

/**
 * What a fair pass starts from, in one statement: the unsent entries without a fairness key,
 * oldest first, at most `limit` (published at once), and the distinct (queue, fairness key) pairs
 * of unsent keyed entries, at most `maxGroups` (admitted by `selectAdmittedEntries`), read by a
 * skip scan of the partial index: a few index probes per key, however long a key's backlog is.
 */
export async function selectUnkeyedAndFairGroups(
  conn: OutboxConnection,
  limit: number,
  maxGroups: number,
): Promise<{ entries: OutboxEntry[]; groups: FairGroup[] }> {
  const { rows } = await conn.query<OutboxEntry & { is_group: boolean }>({
    name: 'outbox.unkeyed-and-groups',
    text: `with recursive g as (
        (select queue, fairness_key from platform.outbox
          where published_at is null and fairness_key is not null
          order by queue, fairness_key limit 1)
        union all
        select n.queue, n.fairness_key from g cross join lateral (
          select o.queue, o.fairness_key from platform.outbox o
           where o.published_at is null and o.fairness_key is not null
             and (o.queue, o.fairness_key) > (g.queue, g.fairness_key)
           order by o.queue, o.fairness_key limit 1) n
      ),
      unkeyed as (
        select ${ENTRY_COLUMNS} from platform.outbox
         where published_at is null and fairness_key is null order by created_at limit $1)
      select false as is_group, ${ENTRY_COLUMNS} from unkeyed
      union all
      (select true, null, null, queue, null, fairness_key, null from g limit $2)`,
    values: [limit, maxGroups],
  });
  const entries: OutboxEntry[] = [];
  const groups: FairGroup[] = [];
  for (const { is_group, ...row } of rows) {
    if (is_group) groups.push({ queue: row.queue, key: row.fairness_key as string });
    else entries.push(row);
  }
  return { entries, groups };
}

/**
 * The oldest unsent entries of each group, up to its number of free slots, interleaved
 * round-robin (every group's first, then every group's second, ...), at most `limit` in all.
 */
export async function selectAdmittedEntries(
  conn: OutboxConnection,
  admissions: Array<FairGroup & { slots: number }>,
  limit: number,
): Promise<OutboxEntry[]> {
  const open = admissions.filter((a) => a.slots > 0);
  if (open.length === 0 || limit <= 0) return [];
  const { rows } = await conn.query<OutboxEntry>({
    name: 'outbox.admitted',
    text: `select e.id, e.task, e.queue, e.kwargs, e.fairness_key, e.created_at
       from unnest($1::text[], $2::text[], $3::int[]) as a(queue, key, slots)
       cross join lateral (
         select o.*, row_number() over (order by o.created_at) as turn from (
           select ${ENTRY_COLUMNS} from platform.outbox
            where published_at is null and queue = a.queue and fairness_key = a.key
            order by created_at limit a.slots) o) e
      order by e.turn, e.created_at
      limit $4`,
    values: [open.map((a) => a.queue), open.map((a) => a.key), open.map((a) => a.slots), limit],
  });
  return rows;
}

/** Marks published entries as sent. */
export async function markEntriesSent(conn: OutboxConnection, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await conn.query({
    name: 'outbox.mark-sent',
    text: `update platform.outbox set published_at = clock_timestamp(), publish_attempts = publish_attempts + 1
      where id = any($1::uuid[])`,
    values: [ids],
  });
}

/** Records why a publish failed, on entries that stay unsent. */
export async function recordPublishFailure(
  conn: OutboxConnection,
  ids: string[],
  error: string,
): Promise<void> {
  if (ids.length === 0) return;
  await conn.query({
    name: 'outbox.publish-failed',
    text: `update platform.outbox set publish_attempts = publish_attempts + 1, last_error = $2
      where id = any($1::uuid[])`,
    values: [ids, error.slice(0, 500)],
  });
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
