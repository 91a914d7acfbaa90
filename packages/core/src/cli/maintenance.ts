#!/usr/bin/env node
/**
 * platform-maintenance: runs pg_partman maintenance for every partitioned table (premakes future
 * partitions, drops those past retention), one table per transaction, as the owner role:
 * DATABASE_OWNER_URL, else DATABASE_URL. Run it at least daily. Exits 1 naming the tables that
 * failed; the others are done.
 */
import { createDatabase } from '../db/database.js';
import { runPartmanMaintenancePass } from '../db/partman.js';
import { loadCliConfig } from './config.js';

async function main(): Promise<void> {
  const url = loadCliConfig().ownerUrl;
  const db = createDatabase({ url, poolMax: 1, applicationName: 'platform-maintenance' });
  try {
    const pass = await runPartmanMaintenancePass(db);
    console.log(
      `maintenance: ${pass.tables} tables in ${Math.round(pass.totalMs)} ms, longest ${Math.round(pass.longestMs)} ms (${pass.longestTable ?? '-'}), ${pass.failed.length} failed`,
    );
    if (pass.failed.length > 0) {
      for (const f of pass.failed) console.error(`${f.parentTable}: ${f.error}`);
      process.exitCode = 1;
    }
  } finally {
    await db.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
