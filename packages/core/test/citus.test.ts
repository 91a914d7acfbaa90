import type { Knex } from 'knex';
import { parse } from 'libpg-query';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type CitusInfo,
  citusVersion,
  controlSchemaPlan,
  createControlSchema,
  createTenantSchema,
  DISTRIBUTED_LOCAL_SCHEMAS,
  dropTenantSchema,
  dropTenantSchemaPlan,
  type SchemaPlan,
  tenantSchemaPlan,
} from '../src/db/citus.js';
import type { Statement } from '../src/db/statements.js';
import { schemaExists, testDb } from './helpers.js';

// Citus is not in the package registries these machines reach, so the Citus side of the adapter is
// checked here by the statements it plans; everything else runs on the real (plain) PostgreSQL.

const db = testDb(2);
afterAll(() => db.destroy());

const CITUS: CitusInfo = { version: '13.2-1', major: 13, minor: 2 };

function sqlOf(plan: SchemaPlan): { transaction: string[]; after: string[] } {
  const flat = (s: { sql: string }) => s.sql.replace(/\s+/g, ' ').trim();
  return { transaction: plan.transaction.map(flat), after: plan.after.map(flat) };
}

/** The text knex sends for a statement (`?` placeholders become `$1`, ...). */
function sent(statement: Statement): string {
  const raw = statement.bindings
    ? db.raw(statement.sql, statement.bindings as Knex.RawBinding[])
    : db.raw(statement.sql);
  return raw.toSQL().toNative().sql;
}

async function expectOneStatementEach(plan: SchemaPlan): Promise<void> {
  for (const statement of [...plan.transaction, ...plan.after]) {
    expect((await parse(sent(statement))).stmts, statement.sql).toHaveLength(1);
  }
}

describe('the Citus adapter on Citus (planned statements)', () => {
  it('creates a tenant schema distributed: sharding on for that transaction only, then distributes a schema left local', async () => {
    const plan = tenantSchemaPlan('tenant_acme', CITUS);
    expect(sqlOf(plan)).toEqual({
      transaction: [
        'set local citus.enable_schema_based_sharding to on',
        'create schema if not exists "tenant_acme"',
      ],
      after: [
        'select citus_schema_distribute(n.oid::regnamespace) from pg_namespace n where n.nspname = ? and not exists (select 1 from pg_dist_schema d where d.schemaid = n.oid)',
      ],
    });
    expect(plan.after[0]?.bindings).toEqual(['tenant_acme']);
    await expectOneStatementEach(plan);
  });

  it('creates the control schema local whatever the cluster-wide setting, and checks platform and partman are local', async () => {
    const plan = controlSchemaPlan(CITUS);
    expect(sqlOf(plan)).toEqual({
      transaction: [
        'set local citus.enable_schema_based_sharding to off',
        'create schema if not exists platform',
      ],
      after: [],
    });
    await expectOneStatementEach(plan);
    expect(DISTRIBUTED_LOCAL_SCHEMAS.sql).toMatch(/from pg_dist_schema/);
    expect(DISTRIBUTED_LOCAL_SCHEMAS.bindings).toEqual([['platform', 'partman']]);
    expect((await parse(sent(DISTRIBUTED_LOCAL_SCHEMAS))).stmts).toHaveLength(1);
  });

  it('drops a distributed tenant schema with drop schema ... cascade, which Citus propagates', async () => {
    const plan = dropTenantSchemaPlan('tenant_acme', CITUS);
    expect(sqlOf(plan)).toEqual({ transaction: ['drop schema if exists "tenant_acme" cascade'], after: [] });
    await expectOneStatementEach(plan);
  });

  it('quotes the schema name as an identifier', () => {
    expect(sqlOf(tenantSchemaPlan('tenant_a"b', CITUS)).transaction[1]).toBe(
      'create schema if not exists "tenant_a""b"',
    );
  });
});

describe('the Citus adapter on plain PostgreSQL (real database)', () => {
  it('detects no Citus and plans plain statements only', async () => {
    expect(await citusVersion(db)).toBeNull();
    expect(sqlOf(tenantSchemaPlan('tenant_acme', null))).toEqual({
      transaction: ['create schema if not exists "tenant_acme"'],
      after: [],
    });
    expect(sqlOf(controlSchemaPlan(null))).toEqual({
      transaction: ['create schema if not exists platform'],
      after: [],
    });
  });

  it('creates and drops a tenant schema and the control schema, sending nothing Citus-specific', async () => {
    const schema = `tenant_adapter_${Date.now().toString(36)}`;
    const log: string[] = [];
    const listener = (q: { sql: string }) => log.push(q.sql);
    db.on('query', listener);
    try {
      await createControlSchema(db);
      await createTenantSchema(db, schema);
      await createTenantSchema(db, schema);
      expect(await schemaExists(db, schema)).toBe(true);
      await dropTenantSchema(db, schema);
      await dropTenantSchema(db, schema);
      expect(await schemaExists(db, schema)).toBe(false);
    } finally {
      db.removeListener('query', listener);
    }
    expect(log.filter((sql) => /citus|pg_dist/i.test(sql))).toEqual([]);
    expect(log.filter((sql) => sql.startsWith('create schema'))).toEqual([
      'create schema if not exists platform',
      `create schema if not exists "${schema}"`,
      `create schema if not exists "${schema}"`,
    ]);
  });
});
