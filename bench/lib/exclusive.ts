import { type Database, withAdvisoryLock } from '@platform/core';
import { note } from './table.js';

const LOCK_KEY = 'platform:bench:exclusive';

/**
 * Runs a benchmark while holding a PostgreSQL advisory lock (on a connection of its own), so that
 * benchmarks sharing the bench database wait for each other instead of resetting it under one
 * another. Says so when it has to wait.
 */
export async function exclusiveBenchRun<T>(db: Database, name: string, fn: () => Promise<T>): Promise<T> {
  const waiting = setTimeout(
    () => note(`${name}: another benchmark holds the bench database; waiting for it to finish`),
    1000,
  );
  return withAdvisoryLock(db, LOCK_KEY, () => {
    clearTimeout(waiting);
    return fn();
  });
}
