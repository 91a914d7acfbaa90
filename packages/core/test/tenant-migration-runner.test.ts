import { afterAll, describe, expect, it } from 'vitest';
import { migrateTenantSchema, quoteIdent, type TenantMigration } from '../src/index.js';
import { tenantMigrations } from '../src/migrations/tenant/index.js';
import { testDb, uniqueSlug } from './helpers.js';

const db = testDb(4);
const schemas: string[] = [];
afterAll(async () => {
  for (const s of schemas) {
    await db.raw('delete from partman.part_config where parent_table = ?', [`${s}.events`]);
    await db.raw(`drop schema if exists ${quoteIdent(s)} cascade`);
  }
  await db.destroy();
});

async function freshSchema(): Promise<string> {
  const schema = `tenant_${uniqueSlug('runner').replaceAll('-', '_')}`;
  schemas.push(schema);
  await db.raw(`create schema ${quoteIdent(schema)}`);
  return schema;
}

async function recorded(schema: string): Promise<Array<{ name: string; batch: number }>> {
  const res = await db.raw<{ rows: Array<{ name: string; batch: number }> }>(
    `select name, batch from ${quoteIdent(schema)}.knex_migrations order by id`,
  );
  return res.rows;
}

async function relationExists(name: string): Promise<boolean> {
  const res = await db.raw<{ rows: Array<{ t: string | null }> }>('select to_regclass(?)::text as t', [name]);
  return res.rows[0]?.t != null;
}

const failing: TenantMigration = {
  name: '9100_fails',
  async up() {
    throw new Error('this migration fails');
  },
  async down() {},
};

describe('migrateTenantSchema', () => {
  it('records each migration once in the schema, and a rerun applies nothing', async () => {
    const schema = await freshSchema();
    const names = tenantMigrations.map((m) => m.name);
    await expect(migrateTenantSchema(db, schema)).resolves.toEqual(names);
    expect(await recorded(schema)).toEqual(names.map((name) => ({ name, batch: 1 })));
    await expect(migrateTenantSchema(db, schema)).resolves.toEqual([]);
    expect(await recorded(schema)).toHaveLength(names.length);
    // Runners serialize on an advisory lock: no lock table per schema.
    expect(await relationExists(`${schema}.knex_migrations_lock`)).toBe(false);
  });

  it('applies a later migration as a new batch', async () => {
    const schema = await freshSchema();
    await migrateTenantSchema(db, schema, tenantMigrations.slice(0, 1));
    await expect(migrateTenantSchema(db, schema)).resolves.toEqual(
      tenantMigrations.slice(1).map((m) => m.name),
    );
    expect((await recorded(schema)).map((r) => r.batch)).toEqual([
      1,
      ...tenantMigrations.slice(1).map(() => 2),
    ]);
  });

  it('applies the pending migrations all or none, naming the one that failed', async () => {
    const schema = await freshSchema();
    await migrateTenantSchema(db, schema, tenantMigrations.slice(0, 1));
    await expect(migrateTenantSchema(db, schema, [...tenantMigrations, failing])).rejects.toThrow(
      `migration 9100_fails in ${schema}: this migration fails`,
    );
    expect((await recorded(schema)).map((r) => r.name)).toEqual([tenantMigrations[0]?.name]);
    expect(await relationExists(`${schema}.events`)).toBe(false);
    expect(await relationExists(`${schema}.predictions`)).toBe(false);
  });

  it('refuses a schema holding a migration it does not know', async () => {
    const schema = await freshSchema();
    await migrateTenantSchema(db, schema, tenantMigrations.slice(0, 1));
    await db.raw(
      `insert into ${quoteIdent(schema)}.knex_migrations (name, batch, migration_time) values ('9999_from_the_future', 2, now())`,
    );
    await expect(migrateTenantSchema(db, schema)).rejects.toThrow(/9999_from_the_future/);
    expect(await relationExists(`${schema}.events`)).toBe(false);
  });

  it('lets one of two concurrent runners apply each migration', async () => {
    const schema = await freshSchema();
    const [a, b] = await Promise.all([migrateTenantSchema(db, schema), migrateTenantSchema(db, schema)]);
    expect([...(a ?? []), ...(b ?? [])].sort()).toEqual(tenantMigrations.map((m) => m.name).sort());
    expect(await recorded(schema)).toHaveLength(tenantMigrations.length);
  });

  it('never looks tables up through information_schema', async () => {
    const schema = await freshSchema();
    const sent: string[] = [];
    const listener = (q: { sql: string }) => sent.push(q.sql);
    db.on('query', listener);
    try {
      await migrateTenantSchema(db, schema);
      await migrateTenantSchema(db, schema);
    } finally {
      db.removeListener('query', listener);
    }
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.filter((sql) => /information_schema/i.test(sql))).toEqual([]);
  });
});
