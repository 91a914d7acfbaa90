import { execFileSync } from 'node:child_process';
import type { Knex } from 'knex';
import { createDatabase, quoteIdent } from '../db/database.js';
import { databaseUrlUser, grantRuntimeRole } from '../db/roles.js';
import { migratePlatform } from '../migrations/runner.js';
import { ensureMlGateway, guardChildProcesses } from './processes.js';

export const DEFAULT_TEST_DATABASE_URL = 'postgres://platform:platform@127.0.0.1:5432/platform_test';

/** The test database as the owner role (migrations, provisioning, fixtures, resets). */
export function testDatabaseUrl(): string {
  return process.env.TEST_DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;
}

/** The runtime role scripts/setup.sh creates for local development and tests. */
export const DEFAULT_TEST_RUNTIME_ROLE = { user: 'platform_app', password: 'platform_app' };

/**
 * The same database as the runtime role, which the API and the worker connect as in tests (their
 * DATABASE_URL; the owner's is DATABASE_OWNER_URL): TEST_RUNTIME_DATABASE_URL, else `url` with
 * scripts/setup.sh's runtime role's credentials.
 */
export function testRuntimeDatabaseUrl(url = testDatabaseUrl()): string {
  if (url === testDatabaseUrl() && process.env.TEST_RUNTIME_DATABASE_URL) {
    return process.env.TEST_RUNTIME_DATABASE_URL;
  }
  const runtime = new URL(url);
  runtime.username = DEFAULT_TEST_RUNTIME_ROLE.user;
  runtime.password = DEFAULT_TEST_RUNTIME_ROLE.password;
  return runtime.toString();
}

/** DATABASE_URL (runtime role) and DATABASE_OWNER_URL (owner role) for a service under test. */
export function testDatabaseEnv(url = testDatabaseUrl()): {
  DATABASE_URL: string;
  DATABASE_OWNER_URL: string;
} {
  return { DATABASE_URL: testRuntimeDatabaseUrl(url), DATABASE_OWNER_URL: url };
}

/**
 * Empties the test database (control schema, every tenant schema, their pg_partman configuration),
 * applies the control-schema migrations and grants the runtime role its rights. Refuses to touch a database not named like a test or benchmark one.
 */
export async function resetTestDatabase(
  db: Knex,
  runtimeRole = databaseUrlUser(testRuntimeDatabaseUrl()),
): Promise<void> {
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
  if (runtimeRole) await grantRuntimeRole(db, runtimeRole);
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

const PARTMAN_SQL = (owner: string) => `
  create schema if not exists partman authorization "${owner}";
  create extension if not exists pg_partman schema partman;
  grant all on schema partman to "${owner}";
  grant all on all tables in schema partman to "${owner}";
  grant execute on all functions in schema partman to "${owner}";
  grant execute on all procedures in schema partman to "${owner}";`;

/**
 * Creates the database of `url` (owned by its user, with pg_partman in schema `partman`) when it
 * does not exist, as the local `postgres` superuser (`runuser`, so root only: CI and set-up run as root).
 */
export async function ensureDatabase(url: string): Promise<void> {
  const { pathname, username } = new URL(url);
  const name = decodeURIComponent(pathname.slice(1));
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const probe = createDatabase({ url: maintenance.toString(), poolMax: 1 });
  try {
    const found = await probe.raw<{ rows: unknown[] }>('select 1 from pg_database where datname = ?', [name]);
    if (found.rows.length > 0) return;
  } finally {
    await probe.destroy();
  }
  const owner = decodeURIComponent(username);
  if (!/^[a-z_][a-z0-9_]*$/.test(name) || !/^[a-z_][a-z0-9_]*$/.test(owner)) {
    throw new Error(`refusing to create database '${name}' for '${owner}': unexpected characters`);
  }
  if (process.getuid?.() !== 0) {
    throw new Error(`database '${name}' does not exist; create it (as root: see test/global-setup.ts)`);
  }
  const psql = (database: string, sql: string) =>
    execFileSync(
      'runuser',
      ['-u', 'postgres', '--', 'psql', '-v', 'ON_ERROR_STOP=1', '-qAt', '-d', database, '-c', sql],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        cwd: '/',
      },
    ).toString();
  const exists = psql('postgres', `select 1 from pg_database where datname = '${name}'`).trim() === '1';
  if (!exists) execFileSync('runuser', ['-u', 'postgres', '--', 'createdb', '-O', owner, name], { cwd: '/' });
  psql(name, PARTMAN_SQL(owner));
}
