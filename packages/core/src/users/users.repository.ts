import type { Knex } from 'knex';
import { quoteIdent } from '../db/database.js';
import type { PreparedStatement, TenantStatements } from '../db/prepared.js';
import { ConflictError, isPgError, PG_UNIQUE_VIOLATION } from '../errors.js';
import { keysetPage, type Page } from '../pagination.js';
import type { TenantRef } from '../tenancy/context.js';
import { tenantTable } from '../tenancy/tenant-db.js';

export interface User {
  id: string;
  email: string;
  name: string;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = ['id', 'email', 'name', 'created_at', 'updated_at'];
const SELECT_LIST = COLUMNS.map((c) => `"${c}"`).join(', ');

function duplicateEmail(err: unknown): never {
  if (isPgError(err, PG_UNIQUE_VIOLATION)) {
    throw new ConflictError('email_taken', 'A user with this email already exists');
  }
  throw err;
}

export async function insertUser(
  db: Knex,
  tenant: TenantRef,
  user: { email: string; name: string },
): Promise<User> {
  try {
    const [row] = await tenantTable(db, tenant, 'users').insert(user).returning(COLUMNS);
    return row as User;
  } catch (err) {
    duplicateEmail(err);
  }
}

/** The read by id as a prepared statement of the tenant's schema. */
function findUserStatement(tenant: TenantRef): PreparedStatement {
  return {
    name: `users.find:${tenant.schema}`,
    text: `select ${SELECT_LIST} from ${quoteIdent(tenant.schema)}.users where id = $1 limit 1`,
  };
}

/**
 * The hot read path: one prepared statement, in one round trip under the plan's statement
 * timeout (no transaction needed for a single read).
 */
export async function findUserPrepared(
  statements: TenantStatements,
  tenant: TenantRef,
  id: string,
): Promise<User | undefined> {
  const rows = await statements.query<User>(tenant, findUserStatement(tenant), [id]);
  return rows[0];
}

/** The read by id, on a knex connection or transaction. */
export async function findUser(db: Knex, tenant: TenantRef, id: string): Promise<User | undefined> {
  const res = await db.raw<{ rows: User[] }>(`select ${SELECT_LIST} from ??.users where id = ? limit 1`, [
    tenant.schema,
    id,
  ]);
  return res.rows[0];
}

/** How many users the tenant has, counting no further than `upTo` (enough for a quota check). */
export async function countUsers(db: Knex, tenant: TenantRef, upTo: number): Promise<number> {
  const res = await db.raw<{ rows: Array<{ n: number }> }>(
    'select count(*)::int as n from (select 1 from ??.users limit ?) u',
    [tenant.schema, upTo],
  );
  return res.rows[0]?.n ?? 0;
}

/**
 * Serialises user creation within the tenant for the rest of the transaction, so that a count
 * taken after it stays true until the commit (the users quota).
 */
export async function lockUserCreation(trx: Knex.Transaction, tenant: TenantRef): Promise<void> {
  await trx.raw('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`users:${tenant.schema}`]);
}

export function listUsers(db: Knex, tenant: TenantRef, limit: number, cursor?: string): Promise<Page<User>> {
  return keysetPage<User>(tenantTable(db, tenant, 'users').select(COLUMNS), {
    timeColumn: 'created_at',
    idType: 'uuid',
    limit,
    cursor,
  });
}

export async function updateUser(
  db: Knex,
  tenant: TenantRef,
  id: string,
  patch: { email?: string; name?: string },
): Promise<User | undefined> {
  try {
    const [row] = await tenantTable(db, tenant, 'users')
      .where({ id })
      .update({ ...patch, updated_at: db.fn.now() })
      .returning(COLUMNS);
    return row as User | undefined;
  } catch (err) {
    duplicateEmail(err);
  }
}

export async function deleteUser(db: Knex, tenant: TenantRef, id: string): Promise<boolean> {
  const count = await tenantTable(db, tenant, 'users').where({ id }).delete();
  return count > 0;
}
