import { randomBytes } from 'node:crypto';
import {
  createDatabase,
  type Database,
  insertTenant,
  namespaceForSlug,
  type Plan,
  partmanMajorVersion,
  schemaForSlug,
  type Tenant,
} from '../src/index.js';
import { testDatabaseUrl } from '../src/testing/index.js';

export function testDb(poolMax = 4): Database {
  return createDatabase({ url: testDatabaseUrl(), poolMax, applicationName: 'core-tests' });
}

export function uniqueSlug(prefix = 't'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** Inserts a tenant row in `provisioning`, as the API does before provisioning starts. */
export function newTenantRow(db: Database, plan: Plan = 'standard', slug = uniqueSlug()): Promise<Tenant> {
  return insertTenant(db, {
    slug,
    name: slug,
    plan,
    schema_name: schemaForSlug(slug),
    namespace: namespaceForSlug(slug),
  });
}

export async function schemaExists(db: Database, schema: string): Promise<boolean> {
  const res = await db.raw<{ rows: unknown[] }>('select 1 from pg_namespace where nspname = ?', [schema]);
  return res.rows.length > 0;
}

export async function partConfig(
  db: Database,
  parentTable: string,
): Promise<{ retention: string | null; premake: number; template_table: string | null } | undefined> {
  const res = await db.raw<{
    rows: Array<{ retention: string | null; premake: number; template_table: string | null }>;
  }>('select retention, premake, template_table from partman.part_config where parent_table = ?', [
    parentTable,
  ]);
  return res.rows[0];
}

/** pg_partman's name for a daily partition: `events_p2026_11_25` (4.x) or `events_p20261125` (5.x). */
export async function dailyPartition(db: Database, table: string, day: Date): Promise<string> {
  const date = day.toISOString().slice(0, 10);
  return (await partmanMajorVersion(db)) >= 5
    ? `${table}_p${date.replaceAll('-', '')}`
    : `${table}_p${date.replaceAll('-', '_')}`;
}

/** Each partition of a partitioned table: name, bounds, owner, its number of indexes and whether it has a TOAST table. */
export async function partitionShapes(
  db: Database,
  schema: string,
  table: string,
): Promise<Array<{ name: string; bound: string; owner: string; indexes: number; toast: boolean }>> {
  const res = await db.raw<{
    rows: Array<{ name: string; bound: string; owner: string; indexes: number; toast: boolean }>;
  }>(
    `select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound,
            pg_get_userbyid(c.relowner) as owner,
            (select count(*)::int from pg_index x where x.indrelid = c.oid) as indexes,
            c.reltoastrelid <> 0 as toast
       from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = ?::regclass
      order by c.relname`,
    [`"${schema}"."${table}"`],
  );
  return res.rows;
}
