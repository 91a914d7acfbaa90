import type { Knex } from 'knex';
import { quoteIdent } from './database.js';
import { runStatements, type Statement } from './statements.js';

/**
 * The two database roles (docs/security.md, item 4):
 * - the owner role owns the control schema, every tenant schema and their tables. Migrations,
 *   provisioning (creating and dropping tenant schemas) and pg_partman (`create_parent`,
 *   maintenance, which creates partitions) run as it (DATABASE_OWNER_URL);
 * - the runtime role, the API's and the worker's everyday connection (DATABASE_URL), may use the
 *   schemas and read and write their rows, but owns nothing and may create nothing: no DDL.
 *
 * The runtime role's rights are granted by the owner: on what exists now (the control schema and
 * every tenant schema), and, through the owner's default privileges in the database, on every
 * schema, table and sequence the owner creates later (tenant schemas at provisioning, the tables
 * their migrations add, the partitions pg_partman premakes). A single role for everything (one
 * URL, development) needs no grants.
 */

/** DML, not TRUNCATE, REFERENCES nor TRIGGER. */
const TABLE_PRIVILEGES = 'select, insert, update, delete';
const SEQUENCE_PRIVILEGES = 'usage, select';

/** Statements giving `role` what the runtime needs on one existing schema (idempotent). */
export function schemaGrants(schema: string, role: string): Statement[] {
  const s = quoteIdent(schema);
  const r = quoteIdent(role);
  return [
    { sql: `grant usage on schema ${s} to ${r}` },
    { sql: `grant ${TABLE_PRIVILEGES} on all tables in schema ${s} to ${r}` },
    { sql: `grant ${SEQUENCE_PRIVILEGES} on all sequences in schema ${s} to ${r}` },
  ];
}

/** The owner's default privileges: what it creates from now on is usable by `role` (idempotent). */
export function defaultPrivileges(role: string): Statement[] {
  const r = quoteIdent(role);
  return [
    { sql: `alter default privileges grant usage on schemas to ${r}` },
    { sql: `alter default privileges grant ${TABLE_PRIVILEGES} on tables to ${r}` },
    { sql: `alter default privileges grant ${SEQUENCE_PRIVILEGES} on sequences to ${r}` },
  ];
}

/** Functions of the control schema the runtime role calls (they run with the owner's rights). */
export const RUNTIME_FUNCTIONS = ['platform.set_partman_retention(text, text)'] as const;

/**
 * Grants the runtime role its rights, run as the owner after the control-schema migrations (the
 * migrate CLI does, for `platform`, `tenants` and `all`). A no-op when `role` is the owner itself.
 */
export async function grantRuntimeRole(owner: Knex, role: string): Promise<{ schemas: number }> {
  const { rows } = await owner.raw<{ rows: Array<{ user: string }> }>('select current_user as user');
  if (rows[0]?.user === role) return { schemas: 0 };
  const exists = await owner.raw<{ rows: unknown[] }>('select 1 from pg_roles where rolname = ?', [role]);
  if (exists.rows.length === 0) {
    throw new Error(
      `The runtime database role '${role}' does not exist: create it (scripts/setup.sh does locally; see docs/deploy.md)`,
    );
  }
  // Every tenant schema there is, whatever its tenant's state (the owner's: `tenant_<slug>`).
  const tenants = await owner.raw<{ rows: Array<{ nspname: string }> }>(
    "select nspname from pg_namespace where nspname like 'tenant\\_%' and pg_get_userbyid(nspowner) = current_user order by 1",
  );
  const schemas = ['platform', ...tenants.rows.map((t) => t.nspname)];
  await runStatements(owner, [
    ...defaultPrivileges(role),
    ...schemas.flatMap((schema) => schemaGrants(schema, role)),
    ...RUNTIME_FUNCTIONS.map((fn) => ({ sql: `grant execute on function ${fn} to ${quoteIdent(role)}` })),
  ]);
  return { schemas: schemas.length };
}

/** The user name in a postgres:// URL (the role it connects as), or undefined when it names none. */
export function databaseUrlUser(url: string): string | undefined {
  try {
    const user = decodeURIComponent(new URL(url).username);
    return user || undefined;
  } catch {
    return undefined;
  }
}
