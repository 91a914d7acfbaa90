import type { Knex } from 'knex';

/**
 * Runs `fn` while holding a PostgreSQL session advisory lock on a connection of its own, so that
 * one runner at a time does the work across processes. The lock is released even when `fn` throws.
 */
export async function withAdvisoryLock<T>(db: Knex, key: string, fn: () => Promise<T>): Promise<T> {
  const client = db.client as {
    acquireConnection(): Promise<unknown>;
    releaseConnection(connection: unknown): Promise<void>;
  };
  const connection = await client.acquireConnection();
  const lock = (sql: string) => db.raw(sql, [key]).connection(connection);
  try {
    await lock('select pg_advisory_lock(hashtextextended(?, 0))');
    try {
      return await fn();
    } finally {
      await lock('select pg_advisory_unlock(hashtextextended(?, 0))');
    }
  } finally {
    await client.releaseConnection(connection);
  }
}
