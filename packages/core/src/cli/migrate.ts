#!/usr/bin/env node
/**
 * platform-migrate: applies migrations.
 *   platform-migrate platform            control schema
 *   platform-migrate tenants [--concurrency N] [--verify]   every ready tenant's schema that is
 *                                        behind (--verify: read every schema's migrations table)
 *   platform-migrate all                 both, in that order
 * Connects as the owner role: DATABASE_OWNER_URL, else DATABASE_URL (one role for everything,
 * development). With both set, DATABASE_URL's user is the runtime role and is granted its rights
 * (db/roles.ts) after the migrations. Exits 1 naming the tenants that failed; rerunning resumes.
 */
import { parseArgs } from 'node:util';
import { createDatabase } from '../db/database.js';
import { databaseUrlUser, grantRuntimeRole } from '../db/roles.js';
import { migrateAllTenants, migratePlatform } from '../migrations/runner.js';
import { type CliConfig, loadCliConfig } from './config.js';

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { concurrency: { type: 'string', default: '4' }, verify: { type: 'boolean', default: false } },
  });
  const target = positionals[0] ?? 'all';
  if (!['platform', 'tenants', 'all'].includes(target)) {
    console.error(`unknown target '${target}': use platform, tenants or all`);
    return 2;
  }
  const concurrency = Number.parseInt(values.concurrency, 10);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    console.error('--concurrency must be an integer between 1 and 64');
    return 2;
  }
  let config: CliConfig;
  try {
    config = loadCliConfig();
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const { ownerUrl: url, runtimeUrl } = config;
  const runtimeRole = runtimeUrl ? databaseUrlUser(runtimeUrl) : undefined;
  if (runtimeUrl && !runtimeRole) {
    console.error('DATABASE_URL must name its user (the runtime role) when DATABASE_OWNER_URL is set');
    return 2;
  }
  const db = createDatabase({ url, poolMax: concurrency + 1, applicationName: 'platform-migrate' });
  try {
    if (target !== 'tenants') {
      const applied = await migratePlatform(db);
      console.log(`platform: ${applied.length === 0 ? 'up to date' : `applied ${applied.join(', ')}`}`);
    }
    if (target !== 'platform') {
      const started = Date.now();
      const result = await migrateAllTenants(db, {
        concurrency,
        verify: values.verify,
        onProgress: ({ done, total, slug, error }) =>
          console.log(
            `tenants: [${done}/${total}] ${slug} ${error ? `FAILED: ${error.message}` : 'migrated'}`,
          ),
      });
      console.log(
        `tenants: ${result.tenants} total, ${result.pending} pending, ${result.migrated.length} migrated, ${result.failed.length} failed in ${Date.now() - started} ms`,
      );
      if (result.failed.length > 0) {
        console.error(`tenants that failed: ${result.failed.map((f) => f.slug).join(', ')}`);
        return 1;
      }
    }
    if (runtimeRole) {
      const granted = await grantRuntimeRole(db, runtimeRole);
      console.log(`grants: runtime role ${runtimeRole} on ${granted.schemas} schemas`);
    }
    return 0;
  } finally {
    await db.destroy();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  },
);
