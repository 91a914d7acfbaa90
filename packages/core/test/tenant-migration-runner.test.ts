import { afterAll, describe, expect, it } from 'vitest';
import { listPartitions, migrateTenantSchema, quoteIdent, type TenantMigration } from '../src/index.js';
import { eventsUniqueIndex } from '../src/migrations/tenant/0004_events_unique_index.js';
import { keysAsUniqueIndexes } from '../src/migrations/tenant/0005_keys_as_unique_indexes.js';
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

  it('records a migration that only converges without running it on a new schema, and runs it on an older one', async () => {
    const ran: string[] = [];
    const converging: TenantMigration = {
      name: '9200_converges',
      convergesOnly: true,
      async up(_db, schema) {
        ran.push(schema);
      },
      async down() {},
    };
    const fresh = await freshSchema();
    const all = [...tenantMigrations.slice(0, 1), converging];
    await expect(migrateTenantSchema(db, fresh, all)).resolves.toEqual(all.map((m) => m.name));
    expect(ran).toEqual([]);
    expect((await recorded(fresh)).map((r) => r.name)).toEqual(all.map((m) => m.name));

    const older = await freshSchema();
    await migrateTenantSchema(db, older, tenantMigrations.slice(0, 1));
    await expect(migrateTenantSchema(db, older, all)).resolves.toEqual(['9200_converges']);
    expect(ran).toEqual([older]);
  });

  it('gives a new schema the shape it has with every migration run', async () => {
    const skipped = await freshSchema();
    await migrateTenantSchema(db, skipped);
    const run = await freshSchema();
    await migrateTenantSchema(
      db,
      run,
      tenantMigrations.map((m) => ({ ...m, convergesOnly: false })),
    );
    expect(tenantMigrations.filter((m) => m.convergesOnly).map((m) => m.name)).toEqual([
      '0004_events_unique_index',
      '0005_keys_as_unique_indexes',
    ]);
    expect(await shape(skipped)).toEqual(await shape(run));
    expect(await replicaIdentities(skipped)).toEqual(await replicaIdentities(run));
    expect(await recorded(skipped)).toEqual(await recorded(run));
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

/** The schema's indexes (names left out: PostgreSQL names a partition's copy) and constraints. */
async function shape(schema: string): Promise<{ indexes: string[]; constraints: string[] }> {
  const unschema = (text: string) => text.replaceAll(schema, 'S');
  const indexes = await db.raw<{ rows: Array<{ t: string; d: string }> }>(
    'select tablename as t, indexdef as d from pg_indexes where schemaname = ?',
    [schema],
  );
  const constraints = await db.raw<{ rows: Array<{ t: string; n: string; c: string }> }>(
    `select r.relname as t, c.conname as n, c.contype as c from pg_constraint c
      join pg_class r on r.oid = c.conrelid where c.connamespace = ?::regnamespace`,
    [schema],
  );
  return {
    indexes: indexes.rows.map((r) => unschema(`${r.t}: ${r.d.replace(/INDEX \S+ ON/, 'INDEX ON')}`)).sort(),
    constraints: constraints.rows.map((r) => `${r.t}: ${r.n} (${r.c})`).sort(),
  };
}

describe('0004_events_unique_index', () => {
  it('converts a tenant made with the primary key on events into the table a new tenant has', async () => {
    const fresh = await freshSchema();
    await migrateTenantSchema(db, fresh);
    // A tenant as 0002_events made them before: the primary key on events and each partition.
    const older = await freshSchema();
    await migrateTenantSchema(db, older, tenantMigrations.slice(0, 3));
    await eventsUniqueIndex.down(db, older);
    const before = await shape(older);
    const keys = before.constraints.filter((c) => c.endsWith('(p)') && c.startsWith('events'));
    // The parent's and every partition's.
    expect(keys).toHaveLength((await listPartitions(db, older, 'events')).length + 1);
    await db.raw(
      `insert into ${quoteIdent(older)}.events (type, occurred_at) values ('signup', now()), ('signup', now())`,
    );

    await expect(migrateTenantSchema(db, older)).resolves.toEqual([
      '0004_events_unique_index',
      '0005_keys_as_unique_indexes',
    ]);
    expect(await shape(older)).toEqual(await shape(fresh));
    // The events partitions add no pg_constraint row.
    expect((await shape(fresh)).constraints.filter((c) => c.startsWith('events'))).toEqual([]);
    const dup = await db.raw<{ rows: Array<{ occurred_at: Date; id: string }> }>(
      `select occurred_at, id from ${quoteIdent(older)}.events limit 1`,
    );
    const row = dup.rows[0];
    if (!row) throw new Error('no event to repeat');
    await expect(
      db.raw(`insert into ${quoteIdent(older)}.events (id, type, occurred_at) values (?, 'again', ?)`, [
        row.id,
        row.occurred_at,
      ]),
    ).rejects.toThrow(/duplicate key value violates unique constraint "events_p\w+"/);
  });
});

describe('0005_keys_as_unique_indexes', () => {
  it('converts a tenant with keys and the status check into one that adds no pg_constraint row', async () => {
    const fresh = await freshSchema();
    await migrateTenantSchema(db, fresh);
    const afterFresh = await shape(fresh);
    expect(afterFresh.constraints).toEqual([]);
    expect(await replicaIdentities(fresh)).toEqual({
      predictions: 'predictions_id',
      users: 'users_id',
    });

    // A tenant as 0001, 0003 and the runner made them before: keys and the status check.
    const older = await freshSchema();
    await migrateTenantSchema(db, older, tenantMigrations.slice(0, 4));
    await keysAsUniqueIndexes.down(db, older);
    expect((await shape(older)).constraints).toEqual([
      'knex_migrations: knex_migrations_pkey (p)',
      'predictions: predictions_pkey (p)',
      'predictions: predictions_status_check (c)',
      'users: users_pkey (p)',
    ]);
    const o = quoteIdent(older);
    const user = await db.raw<{ rows: Array<{ id: string }> }>(
      `insert into ${o}.users (email, name) values ('a@example.com', 'A') returning id`,
    );
    const id = user.rows[0]?.id;
    if (!id) throw new Error('no user inserted');

    await expect(migrateTenantSchema(db, older)).resolves.toEqual(['0005_keys_as_unique_indexes']);
    expect(await shape(older)).toEqual(afterFresh);
    expect(await replicaIdentities(older)).toEqual({ predictions: 'predictions_id', users: 'users_id' });
    // The ids stay unique, and not null.
    await expect(
      db.raw(`insert into ${o}.users (id, email, name) values (?, 'b@example.com', 'B')`, [id]),
    ).rejects.toThrow(/duplicate key value violates unique constraint "users_id"/);
    await expect(
      db.raw(`insert into ${o}.predictions (id, model, input, status) values (null, 'm', '{}', 'queued')`),
    ).rejects.toThrow(/null value in column "id"/);
  });
});

/** Each plain table's replica identity index (null for the default, the primary key). */
async function replicaIdentities(schema: string): Promise<Record<string, string | null>> {
  const res = await db.raw<{ rows: Array<{ t: string; i: string | null }> }>(
    `select c.relname as t,
            (select ic.relname from pg_index x join pg_class ic on ic.oid = x.indexrelid
              where x.indrelid = c.oid and x.indisreplident) as i
       from pg_class c
      where c.relnamespace = ?::regnamespace and c.relname in ('users', 'predictions')
      order by c.relname`,
    [schema],
  );
  return Object.fromEntries(res.rows.map((r) => [r.t, r.i]));
}
