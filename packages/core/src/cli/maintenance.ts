#!/usr/bin/env node
/**
 * platform-maintenance: runs pg_partman maintenance for every partitioned table (premakes future
 * partitions, drops those past retention) as the owner role: DATABASE_OWNER_URL, else
 * DATABASE_URL. Run it at least daily.
 */
import { createDatabase } from '../db/database.js';
import { runPartmanMaintenance } from '../db/partman.js';

async function main(): Promise<void> {
  const url = process.env.DATABASE_OWNER_URL || process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_OWNER_URL (or DATABASE_URL) is not set');
  const db = createDatabase({ url, poolMax: 1, applicationName: 'platform-maintenance' });
  try {
    const started = Date.now();
    await runPartmanMaintenance(db);
    console.log(`maintenance: done in ${Date.now() - started} ms`);
  } finally {
    await db.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
