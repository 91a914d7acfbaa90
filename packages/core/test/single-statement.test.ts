import { parse } from 'libpg-query';
import { afterAll, describe, expect, it } from 'vitest';
import { createTenantSchema } from '../src/db/citus.js';
import { runStatements, StatementError } from '../src/db/statements.js';
import {
  deprovisionTenant,
  findTenant,
  migratePlatform,
  provisionTenant,
  runPartmanMaintenance,
  updateTenant,
} from '../src/index.js';
import { platformMigrations } from '../src/migrations/platform/index.js';
import { tenantMigrations } from '../src/migrations/tenant/index.js';
import { newTenantRow, schemaExists, testDb } from './helpers.js';

// Citus propagates a query to the worker nodes only when it holds one statement (with several it
// fails with "cannot insert multiple commands into a prepared statement"). These tests record every
// query that migrations and provisioning send to the real database and count the statements in
// each with PostgreSQL's own parser. They cover whatever the migration lists hold.

const db = testDb(4);
afterAll(() => db.destroy());

/** Statements in one query string, as PostgreSQL's parser splits it. */
async function statementCount(sql: string): Promise<number> {
  return (await parse(sql)).stmts?.length ?? 0;
}

interface Recorded {
  origin: string;
  sql: string;
  bindings?: unknown[];
}

/** Records every query sent through `db` (transactions included) while `fn` runs, tagged with `origin()`. */
async function recordQueries(origin: () => string, fn: () => Promise<void>): Promise<Recorded[]> {
  const log: Recorded[] = [];
  const listener = (query: { sql: string; bindings?: unknown[] }) =>
    log.push({ origin: origin(), sql: query.sql, bindings: query.bindings });
  db.on('query', listener);
  try {
    await fn();
  } finally {
    db.removeListener('query', listener);
  }
  return log;
}

async function multiStatementQueries(log: Recorded[]): Promise<Array<Recorded & { statements: number }>> {
  const offenders: Array<Recorded & { statements: number }> = [];
  for (const entry of log) {
    const statements = await statementCount(entry.sql);
    if (statements !== 1) offenders.push({ origin: entry.origin, sql: entry.sql, statements });
  }
  return offenders;
}

describe('the statement check', () => {
  it('counts statements as PostgreSQL does, so a multi-statement string is caught', async () => {
    expect(await statementCount('create table a (x int); create index a_x on a (x)')).toBe(2);
    expect(await statementCount('drop table a; drop table b;')).toBe(2);
    expect(await statementCount('select $1::text')).toBe(1);
    // Semicolons inside literals, quoted identifiers, comments and function bodies are not separators.
    expect(await statementCount('select \'a;b\', "c;d" from t -- e;f')).toBe(1);
    expect(await statementCount('do $$ begin perform 1; perform 2; end $$')).toBe(1);
    const offenders = await multiStatementQueries([{ origin: 'example', sql: 'select 1; select 2' }]);
    expect(offenders).toEqual([{ origin: 'example', sql: 'select 1; select 2', statements: 2 }]);
  });
});

describe('one statement per query', () => {
  it('every platform migration, up and down, sends one statement per query', async () => {
    let origin = '';
    const log = await recordQueries(
      () => origin,
      async () => {
        for (const m of [...platformMigrations].reverse()) {
          origin = `platform ${m.name} down`;
          await m.down(db);
        }
        await db.withSchema('platform').table('knex_migrations').delete();
        origin = 'migratePlatform';
        await migratePlatform(
          db,
          platformMigrations.map((m) => ({
            name: m.name,
            up: async (k) => {
              origin = `platform ${m.name} up`;
              await m.up(k);
              origin = 'migratePlatform';
            },
            down: m.down,
          })),
        );
      },
    );
    expect(await multiStatementQueries(log)).toEqual([]);
    for (const m of platformMigrations) {
      expect(log.filter((q) => q.origin === `platform ${m.name} up`).length, m.name).toBeGreaterThan(0);
      expect(log.filter((q) => q.origin === `platform ${m.name} down`).length, m.name).toBeGreaterThan(0);
    }
    // The migrator itself went through the listener too (its lock and bookkeeping queries).
    expect(log.some((q) => q.origin === 'migratePlatform' && /knex_migrations/.test(q.sql))).toBe(true);
  });

  it('every tenant migration, up and down, sends one statement per query', async () => {
    const schema = `tenant_stmt_${Date.now().toString(36)}`;
    let origin = 'schema';
    const log = await recordQueries(
      () => origin,
      async () => {
        await createTenantSchema(db, schema);
        try {
          for (const m of tenantMigrations) {
            origin = `tenant ${m.name} up`;
            await m.up(db, schema);
          }
          for (const m of [...tenantMigrations].reverse()) {
            origin = `tenant ${m.name} down`;
            await m.down(db, schema);
          }
        } finally {
          origin = 'cleanup';
          await db.raw(`drop schema if exists "${schema}" cascade`);
        }
      },
    );
    expect(await multiStatementQueries(log)).toEqual([]);
    for (const m of tenantMigrations) {
      expect(log.filter((q) => q.origin === `tenant ${m.name} up`).length, m.name).toBeGreaterThan(0);
      expect(log.filter((q) => q.origin === `tenant ${m.name} down`).length, m.name).toBeGreaterThan(0);
    }
  });

  it('provisioning, pg_partman maintenance and deprovisioning send one statement per query', async () => {
    const tenant = await newTenantRow(db);
    let origin = 'provision';
    const log = await recordQueries(
      () => origin,
      async () => {
        await provisionTenant(db, tenant.id);
        origin = 'maintenance';
        await runPartmanMaintenance(db, `${tenant.schema_name}.events`);
        origin = 'deprovision';
        await updateTenant(db, tenant.id, { status: 'deleting' });
        await deprovisionTenant(db, tenant.id);
      },
    );
    expect((await findTenant(db, tenant.id))?.status).toBe('deleted');
    expect(await schemaExists(db, tenant.schema_name)).toBe(false);
    expect(await multiStatementQueries(log)).toEqual([]);
    // Every tenant migration went through the runner here.
    for (const m of tenantMigrations) {
      expect(
        log.some((q) => q.origin === 'provision' && JSON.stringify(q.bindings ?? []).includes(m.name)),
      ).toBe(true);
    }
    expect(log.filter((q) => q.origin === 'maintenance').length).toBeGreaterThan(0);
    expect(log.filter((q) => q.origin === 'deprovision').length).toBeGreaterThan(0);
    // Plain PostgreSQL here: nothing Citus-specific was sent.
    expect(log.filter((q) => /citus/i.test(q.sql))).toEqual([]);
  });
});

describe('runStatements', () => {
  it('runs statements one by one and names the one that failed; in a transaction, none stays', async () => {
    const schema = `tenant_stmt_${Date.now().toString(36)}`;
    const error = await db
      .transaction((trx) =>
        runStatements(trx, [
          `create schema "${schema}"`,
          `create table "${schema}".t (id int primary key)`,
          `create index t_missing on "${schema}".t (missing)`,
        ]),
      )
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(error).toBeInstanceOf(StatementError);
    expect((error as StatementError).index).toBe(2);
    expect((error as Error).message).toMatch(
      /^statement 3 of 3 failed \(create index t_missing on .*\): column "missing" does not exist$/,
    );
    expect(await schemaExists(db, schema)).toBe(false);
  });

  it('names the migration and the schema when a tenant migration fails during provisioning', async () => {
    const tenant = await newTenantRow(db);
    await db.raw(`create schema "${tenant.schema_name}"`);
    await db.raw(`create table "${tenant.schema_name}".users (id int)`);
    try {
      await expect(provisionTenant(db, tenant.id)).rejects.toThrow(
        new RegExp(
          `^migration 0001_users in ${tenant.schema_name}: statement 1 of 5 failed \\(create table .*\\): relation "users" already exists$`,
        ),
      );
      expect((await findTenant(db, tenant.id))?.last_error).toMatch(/^migration 0001_users in /);
    } finally {
      await db.raw(`drop schema "${tenant.schema_name}" cascade`);
    }
  });
});
