import {
  applyTenantPlan,
  type Database,
  deprovisionTenant,
  provisionTenant,
  type TenantNamespaces,
  type TenantTaskDataStore,
} from '@platform/core';
import { handleTask } from '../engine/catalog.js';

/**
 * `platform.provision_tenant`: the domain's idempotent provisioning, triggered through the queue;
 * with Kubernetes configured it includes the tenant's namespace (unreachable: the task retries).
 */
export function provisionTenantTask(deps: { db: Database; namespaces?: TenantNamespaces }) {
  return handleTask('platform.provision_tenant', async ({ tenant_id }) => ({
    tenant_id,
    outcome: await provisionTenant(deps.db, tenant_id, { namespaces: deps.namespaces }),
  }));
}

/**
 * `platform.deprovision_tenant`: revokes keys, removes the tenant's dead letters and task results
 * from Redis, removes partitions config, drops the schema.
 */
export function deprovisionTenantTask(deps: {
  db: Database;
  namespaces?: TenantNamespaces;
  taskData?: TenantTaskDataStore;
}) {
  return handleTask('platform.deprovision_tenant', async ({ tenant_id }) => ({
    tenant_id,
    outcome: await deprovisionTenant(deps.db, tenant_id, {
      namespaces: deps.namespaces,
      taskData: deps.taskData,
    }),
  }));
}

/** `platform.apply_tenant_plan`: the new plan's quota on the tenant's namespace. */
export function applyTenantPlanTask(deps: { db: Database; namespaces?: TenantNamespaces }) {
  return handleTask('platform.apply_tenant_plan', async ({ tenant_id }) => ({
    tenant_id,
    ...(await applyTenantPlan(deps.db, tenant_id, deps.namespaces)),
  }));
}
