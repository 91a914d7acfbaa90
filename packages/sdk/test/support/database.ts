import { execFileSync } from 'node:child_process';
import { createDatabase } from '@platform/core';

/** This suite's database: env TEST_DATABASE_URL, else its own (the API suite resets platform_test). */
export const DEFAULT_SDK_TEST_DATABASE_URL = 'postgres://platform:platform@127.0.0.1:5432/platform_test_sdk';

export function sdkTestDatabaseUrl(): string {
  return process.env.TEST_DATABASE_URL ?? DEFAULT_SDK_TEST_DATABASE_URL;
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
