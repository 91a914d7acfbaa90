import type { Knex } from 'knex';
import { recordAudit } from '../audit/audit.repository.js';
import { createTenantSchema, dropTenantSchema } from '../db/citus.js';
import {
  configureTimePartitioned,
  ensureTimePartitioned,
  removePartmanConfig,
  type TimePartitioning,
} from '../db/partman.js';
import type { TenantNamespaces } from '../kubernetes/tenant-namespaces.js';
import { migrateTenantSchema } from '../migrations/runner.js';
import { listPredictionTaskIds } from '../predictions/predictions.repository.js';
import { PermanentTaskError } from '../tasks/catalog.js';
import { revokeTenantKeys } from './api-keys.repository.js';
import { EVENTS_PREMAKE_DAYS, PLANS } from './plans.js';
import { claimTenant, type Tenant, updateTenant } from './tenants.repository.js';

/** Steps of provisioning, in order. Each is idempotent, so a rerun after a crash at any step converges. */
export const PROVISIONING_STEPS = ['schema', 'migrations', 'partitions', 'namespace'] as const;
export type ProvisioningStep = (typeof PROVISIONING_STEPS)[number];

export interface LifecycleOptions {
  /** When Kubernetes is configured: the tenant's namespace is part of provisioning. */
  namespaces?: TenantNamespaces;
  /** How long a runner holds a tenant before another may take over (crashed runners). */
  leaseSeconds?: number;
  /**
   * What Redis holds of the tenant's tasks (its dead letters, its task results): removed when the
   * tenant is deprovisioned (the worker passes @platform/celery's TenantTaskData).
   */
  taskData?: TenantTaskDataStore;
  /** Called after each step completes; used to observe progress. */
  afterStep?: (step: ProvisioningStep, tenant: Tenant) => void | Promise<void>;
}

export type LifecycleOutcome = 'done' | 'skipped';

/** Removes a tenant's dead letters and the results of the given task ids. Idempotent. */
export interface TenantTaskDataStore {
  removeTenant(tenantId: string, taskIds: readonly string[]): Promise<unknown>;
}

const DEFAULT_LEASE_SECONDS = 60;

/**
 * A PostgreSQL error of class 42 (an object already in the way, a missing privilege, invalid SQL):
 * running the same step again fails the same way until someone acts, so it is not retried.
 */
function needsAnOperator(err: unknown): boolean {
  // The error itself or what it wraps (a migration's error names the migration, with the cause).
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code.startsWith('42');
  }
  return false;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What provisioning registers with pg_partman for a tenant's events. */
function eventsPartitioning(tenant: Tenant): TimePartitioning {
  return {
    parentTable: `${tenant.schema_name}.events`,
    control: 'occurred_at',
    interval: '1 day',
    premake: EVENTS_PREMAKE_DAYS,
    retention: `${PLANS[tenant.plan].eventRetentionDays} days`,
    fromCurrentTime: true,
  };
}

/**
 * Brings a tenant to `ready`: creates its schema, applies the tenant migrations, registers its
 * partitioned tables with pg_partman with the plan's retention and, when Kubernetes is configured,
 * applies its namespace. A tenant is never `ready` without its namespace. Runs for tenants in
 * `provisioning` or `failed`; returns `skipped` when the tenant is in another state or another
 * runner holds it. A failure leaves the tenant `failed` with the error, and rethrows.
 *
 * The database steps (schema, migrations, partitions) run in one transaction, and without
 * Kubernetes so does marking the tenant `ready`: a tenant's schema exists complete or not at all,
 * in a fixed number of round trips (about twenty) whatever the number of tenants.
 */
export async function provisionTenant(
  db: Knex,
  tenantId: string,
  options: LifecycleOptions = {},
): Promise<LifecycleOutcome> {
  const lease = options.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  const tenant = await claimTenant(db, tenantId, ['provisioning', 'failed'], 'provisioning', lease);
  if (!tenant) return 'skipped';
  const schema = tenant.schema_name;
  const markReady = async (trx: Knex.Transaction) => {
    await updateTenant(trx, tenant.id, {
      status: 'ready',
      last_error: null,
      provisioning_step: null,
      lease_until: null,
    });
    await recordAudit(trx, { action: 'tenant.provisioned', tenant_id: tenant.id, actor: 'system' });
  };
  try {
    await db.transaction(async (trx) => {
      await createTenantSchema(trx, schema);
      await options.afterStep?.('schema', tenant);
      await migrateTenantSchema(trx, schema);
      await options.afterStep?.('migrations', tenant);
      const spec = eventsPartitioning(tenant);
      // The events migration registered the table; a schema migrated before then is registered here.
      if (!(await configureTimePartitioned(trx, spec))) await ensureTimePartitioned(trx, spec);
      await options.afterStep?.('partitions', tenant);
      if (!options.namespaces) await markReady(trx);
    });
    if (options.namespaces) {
      await updateTenant(db, tenant.id, { provisioning_step: 'namespace' });
      await options.namespaces.ensure(tenant);
      await options.afterStep?.('namespace', tenant);
      await db.transaction(markReady);
    }
    return 'done';
  } catch (err) {
    await updateTenant(db, tenant.id, { status: 'failed', last_error: errorMessage(err), lease_until: null });
    await recordAudit(db, {
      action: 'tenant.provisioning_failed',
      tenant_id: tenant.id,
      actor: 'system',
      details: { error: errorMessage(err) },
    });
    // The task retries transient failures (a lost connection, Kubernetes unreachable); the others
    // stay `failed` until an operator retries.
    throw needsAnOperator(err) ? new PermanentTaskError(errorMessage(err), { cause: err }) : err;
  }
}

/**
 * Removes a tenant in `deleting`: revokes its keys, removes its dead letters and task results
 * from Redis (when `taskData` is given), deletes its Kubernetes namespace (when configured),
 * removes its pg_partman configuration, drops its schema and marks it `deleted`. Idempotent.
 */
export async function deprovisionTenant(
  db: Knex,
  tenantId: string,
  options: Pick<LifecycleOptions, 'leaseSeconds' | 'namespaces' | 'taskData'> = {},
): Promise<LifecycleOutcome> {
  const tenant = await claimTenant(
    db,
    tenantId,
    ['deleting'],
    'deleting',
    options.leaseSeconds ?? DEFAULT_LEASE_SECONDS,
  );
  if (!tenant) return 'skipped';
  const schema = tenant.schema_name;
  try {
    await revokeTenantKeys(db, tenant.id);
    // Before the schema goes: the task ids of the tenant's results are its predictions'.
    if (options.taskData) {
      await options.taskData.removeTenant(tenant.id, await listPredictionTaskIds(db, schema));
    }
    await options.namespaces?.remove(tenant.slug);
    await removePartmanConfig(db, `${schema}.events`);
    await dropTenantSchema(db, schema);
    await db.transaction(async (trx) => {
      await updateTenant(trx, tenant.id, { status: 'deleted', lease_until: null, provisioning_step: null });
      await recordAudit(trx, { action: 'tenant.deleted', tenant_id: tenant.id, actor: 'system' });
    });
    return 'done';
  } catch (err) {
    // Stay in `deleting` so the next run resumes; record the error for operators.
    await updateTenant(db, tenant.id, { last_error: errorMessage(err), lease_until: null });
    throw err;
  }
}
