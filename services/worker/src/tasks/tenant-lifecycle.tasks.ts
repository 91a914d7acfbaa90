import {
  type Database,
  deprovisionTenant,
  provisionTenant,
  TASKS,
  type TenantNamespaces,
} from '@platform/core';
import { z } from 'zod';
import { defineTask } from '../engine/catalog.js';

const tenantPayload = z.object({ tenant_id: z.string().uuid() });
const retry = { maxRetries: 5, baseDelayMs: 1000, maxDelayMs: 60_000 };

/**
 * `platform.provision_tenant`: the domain's idempotent provisioning, triggered through the queue;
 * with Kubernetes configured it includes the tenant's namespace (unreachable: the task retries).
 */
export function provisionTenantTask(deps: { db: Database; namespaces?: TenantNamespaces }) {
  return defineTask({
    name: TASKS.provisionTenant,
    payload: tenantPayload,
    retry,
    timeoutMs: 120_000,
    async handler({ tenant_id }) {
      return {
        tenant_id,
        outcome: await provisionTenant(deps.db, tenant_id, { namespaces: deps.namespaces }),
      };
    },
  });
}

/** `platform.deprovision_tenant`: revokes keys, removes partitions config, drops the schema. */
export function deprovisionTenantTask(deps: { db: Database; namespaces?: TenantNamespaces }) {
  return defineTask({
    name: TASKS.deprovisionTenant,
    payload: tenantPayload,
    retry,
    timeoutMs: 120_000,
    async handler({ tenant_id }) {
      return {
        tenant_id,
        outcome: await deprovisionTenant(deps.db, tenant_id, { namespaces: deps.namespaces }),
      };
    },
  });
}
