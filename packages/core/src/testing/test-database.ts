import type { Knex } from 'knex';
import { createDatabase, quoteIdent } from '../db/database.js';
import { migratePlatform } from '../migrations/runner.js';
import { ensureMlGateway, guardChildProcesses } from './processes.js';

export const DEFAULT_TEST_DATABASE_URL = 'postgres://platform:platform@127.0.0.1:5432/platform_test';

export function testDatabaseUrl(): string {
  return process.env.TEST_DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;
}

/**
 * Empties the test database (control schema, every tenant schema, their pg_partman configuration)
 * and applies the control-schema migrations. Refuses to touch a database not named like a test or benchmark one.
 */
export async function resetTestDatabase(db: Knex): Promise<void> {
  const { rows } = await db.raw<{ rows: Array<{ db: string }> }>('select current_database() as db');
  const name = rows[0]?.db ?? '';
  if (!/test|bench/.test(name)) {
    throw new Error(`refusing to reset database '${name}': its name must contain 'test' or 'bench'`);
  }
  const templates = await db.raw<{ rows: Array<{ template_table: string | null }> }>(
    'delete from partman.part_config returning template_table',
  );
  for (const { template_table } of templates.rows) {
    if (template_table)
      await db.raw(`drop table if exists ${template_table.split('.').map(quoteIdent).join('.')}`);
  }
  const schemas = await db.raw<{ rows: Array<{ nspname: string }> }>(
    "select nspname from pg_namespace where nspname = 'platform' or nspname like 'tenant\\_%'",
  );
  for (const { nspname } of schemas.rows) await db.raw(`drop schema ${quoteIdent(nspname)} cascade`);
  await migratePlatform(db);
}

/**
 * A vitest global setup for suites that need the platform: resets the test database and starts
 * the real ml-gateway on `mlGatewayPort` (unless ML_GATEWAY_URL points at one). Returns the
 * teardown, which fails the run if a process a test spawned outlived it.
 */
export async function setupPlatformTests(mlGatewayPort = 18000): Promise<() => Promise<void>> {
  const checkChildren = guardChildProcesses();
  const db = createDatabase({ url: testDatabaseUrl(), poolMax: 2 });
  try {
    await resetTestDatabase(db);
  } finally {
    await db.destroy();
  }
  const gateway = process.env.ML_GATEWAY_URL ? undefined : await ensureMlGateway(mlGatewayPort);
  return async () => {
    await gateway?.stop();
    await checkChildren();
  };
}
