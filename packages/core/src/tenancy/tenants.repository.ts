import type { Knex } from 'knex';
import { ConflictError, isPgError, PG_UNIQUE_VIOLATION } from '../errors.js';
import { keysetPage, type Page } from '../pagination.js';
import type { Plan } from './plans.js';
import { VISIBLE_TENANT_STATUSES } from './tenant-status.js';

export type TenantStatus = 'provisioning' | 'ready' | 'failed' | 'deleting' | 'deleted';

export interface Tenant {
  id: string;
  slug: string;
  name: string;
  plan: Plan;
  status: TenantStatus;
  schema_name: string;
  namespace: string;
  last_error: string | null;
  provisioning_step: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = [
  'id',
  'slug',
  'name',
  'plan',
  'status',
  'schema_name',
  'namespace',
  'last_error',
  'provisioning_step',
  'created_at',
  'updated_at',
] as const;

const tenants = (db: Knex) => db.withSchema('platform').table('tenants');

export interface NewTenant {
  slug: string;
  name: string;
  plan: Plan;
  schema_name: string;
  namespace: string;
}

export async function insertTenant(db: Knex, tenant: NewTenant): Promise<Tenant> {
  try {
    const [row] = await tenants(db)
      .insert({ ...tenant, status: 'provisioning' })
      .returning([...COLUMNS]);
    return row as Tenant;
  } catch (err) {
    if (isPgError(err, PG_UNIQUE_VIOLATION)) {
      throw new ConflictError('tenant_exists', `A tenant with slug '${tenant.slug}' already exists`);
    }
    throw err;
  }
}

/**
 * Holds the platform-wide tenant cap (`MAX_TENANTS`) for a transaction that is about to insert a
 * tenant: creations are serialised by an advisory lock until commit, then live tenants (any status
 * but `deleted`) are counted. Throws 409 `tenant_limit_reached` when the cap is reached.
 */
export async function assertTenantCapacity(
  trx: Knex.Transaction,
  maxTenants: number | undefined,
): Promise<void> {
  if (maxTenants === undefined) return;
  await trx.raw("select pg_advisory_xact_lock(hashtextextended('platform.tenants:create', 0))");
  const [row] = await tenants(trx)
    .whereNot('status', 'deleted')
    .count<Array<{ count: number }>>('* as count');
  if (Number(row?.count ?? 0) >= maxTenants) {
    throw new ConflictError(
      'tenant_limit_reached',
      `This platform holds its maximum of ${maxTenants} tenants; delete one or raise MAX_TENANTS`,
    );
  }
}

/** A tenant's row, locked until the end of the transaction. */
export async function lockTenant(trx: Knex.Transaction, id: string): Promise<Tenant | undefined> {
  return (await tenants(trx).select(COLUMNS).where({ id }).forUpdate().first()) as Tenant | undefined;
}

/** Changes a tenant's name and/or plan. */
export async function updateTenantSettings(
  db: Knex,
  id: string,
  patch: Partial<Pick<Tenant, 'name' | 'plan'>>,
): Promise<Tenant> {
  const [row] = await tenants(db)
    .where({ id })
    .update({ ...patch, updated_at: db.fn.now() })
    .returning([...COLUMNS]);
  return row as Tenant;
}

export async function findTenant(db: Knex, id: string): Promise<Tenant | undefined> {
  return (await tenants(db).select(COLUMNS).where({ id }).first()) as Tenant | undefined;
}

/** The tenants of `ids` that exist, in one query. */
export async function findTenants(db: Knex, ids: string[]): Promise<Tenant[]> {
  if (ids.length === 0) return [];
  return (await tenants(db).select(COLUMNS).whereIn('id', ids)) as Tenant[];
}

/** Live tenants, oldest first; `slugContains` keeps those whose slug contains it. */
export function listTenants(
  db: Knex,
  limit: number,
  cursor?: string,
  slugContains?: string,
): Promise<Page<Tenant>> {
  const query = tenants(db).select(COLUMNS).whereIn('status', VISIBLE_TENANT_STATUSES);
  if (slugContains) query.where('slug', 'like', `%${slugContains}%`);
  return keysetPage<Tenant>(query, {
    timeColumn: 'created_at',
    idType: 'uuid',
    limit,
    cursor,
  });
}

export async function updateTenant(
  db: Knex,
  id: string,
  patch: Partial<Pick<Tenant, 'status' | 'last_error' | 'provisioning_step'>> & { lease_until?: null },
): Promise<void> {
  await tenants(db)
    .where({ id })
    .update({ ...patch, updated_at: db.fn.now() });
}

/**
 * Takes the provisioning lease of a tenant in one of `from` statuses and moves it to `to`. At most
 * one runner holds a lease; a lease left by a crashed runner expires after `leaseSeconds`.
 */
export async function claimTenant(
  db: Knex,
  id: string,
  from: TenantStatus[],
  to: TenantStatus,
  leaseSeconds: number,
): Promise<Tenant | undefined> {
  const [row] = await tenants(db)
    .where({ id })
    .whereIn('status', from)
    .where((q) => q.whereNull('lease_until').orWhere('lease_until', '<', db.fn.now()))
    .update({
      status: to,
      lease_until: db.raw(`now() + make_interval(secs => ?)`, [leaseSeconds]),
      updated_at: db.fn.now(),
    })
    .returning([...COLUMNS]);
  return row as Tenant | undefined;
}

/** Moves a `failed` tenant back to `provisioning`; undefined when it is not failed. */
export async function resetFailedTenant(db: Knex, id: string): Promise<Tenant | undefined> {
  const [row] = await tenants(db)
    .where({ id, status: 'failed' })
    .update({ status: 'provisioning', last_error: null, updated_at: db.fn.now() })
    .returning([...COLUMNS]);
  return row as Tenant | undefined;
}

/** Tenants whose lifecycle work is unfinished and not held by a live lease. */
export async function listUnfinishedTenants(db: Knex): Promise<Array<Pick<Tenant, 'id' | 'status'>>> {
  return tenants(db)
    .select('id', 'status')
    .whereIn('status', ['provisioning', 'deleting'])
    .where((q) => q.whereNull('lease_until').orWhere('lease_until', '<', db.fn.now()))
    .orderBy('created_at');
}

/** Schemas of every tenant whose schema is expected to exist. */
export async function listTenantSchemas(
  db: Knex,
): Promise<Array<Pick<Tenant, 'id' | 'slug' | 'schema_name'>>> {
  return tenants(db).select('id', 'slug', 'schema_name').where('status', 'ready').orderBy('slug');
}
