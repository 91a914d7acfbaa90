#!/usr/bin/env node
/**
 * platform-maintenance: runs pg_partman maintenance for the partitioned tables that need it
 * (premakes future partitions, drops those past retention), one table per transaction, as the
 * owner role: DATABASE_OWNER_URL, else DATABASE_URL. Run it at least daily.
 *   --all              maintain every table, also those that need nothing
 *   --max-seconds N    start no table after N seconds (the rest wait for the next run)
 *   --concurrency N    maintain N tables at once, each on its own connection (default 1)
 * Exits 1 naming the tables that failed; the others are done.
 */
import { parseArgs } from 'node:util';
import { createDatabase } from '../db/database.js';
import { runPartmanMaintenancePass } from '../db/partman.js';
import { loadCliConfig } from './config.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      all: { type: 'boolean', default: false },
      'max-seconds': { type: 'string' },
      concurrency: { type: 'string', default: '1' },
    },
  });
  const maxSeconds = values['max-seconds'] === undefined ? undefined : Number(values['max-seconds']);
  if (maxSeconds !== undefined && !(Number.isFinite(maxSeconds) && maxSeconds > 0)) {
    console.error('--max-seconds must be a positive number');
    process.exitCode = 2;
    return;
  }
  const concurrency = Number(values.concurrency);
  if (!(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 16)) {
    console.error('--concurrency must be an integer from 1 to 16');
    process.exitCode = 2;
    return;
  }
  const url = loadCliConfig().ownerUrl;
  const db = createDatabase({ url, poolMax: concurrency, applicationName: 'platform-maintenance' });
  try {
    const pass = await runPartmanMaintenancePass(db, {
      all: values.all,
      maxMs: maxSeconds === undefined ? undefined : maxSeconds * 1000,
      concurrency,
    });
    console.log(
      `maintenance: ${pass.tables} tables, ${pass.due} due, ${pass.upToDate} up to date, ${pass.deferred} deferred, in ${Math.round(pass.totalMs)} ms, longest ${Math.round(pass.longestMs)} ms (${pass.longestTable ?? '-'}), ${pass.failed.length} failed`,
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
