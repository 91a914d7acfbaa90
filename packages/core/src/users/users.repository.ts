import type { Knex } from 'knex';
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

/** The hot read path: one prepared-shape statement, without the query builder's per-call work. */
export async function findUser(db: Knex, tenant: TenantRef, id: string): Promise<User | undefined> {
  const res = await db.raw<{ rows: User[] }>(`select ${SELECT_LIST} from ??.users where id = ? limit 1`, [
    tenant.schema,
    id,
  ]);
  return res.rows[0];
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
