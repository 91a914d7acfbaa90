import type { TenantLifecycleDispatcher } from '../tenancy/tenants.service.js';

/**
 * The platform's task names and the kwargs each carries. Publishers (the API) and consumers (the
 * TypeScript worker, and Python Celery for `ml.predict`) agree on these.
 */
export const TASKS = {
  predict: 'ml.predict',
  provisionTenant: 'platform.provision_tenant',
  deprovisionTenant: 'platform.deprovision_tenant',
  partmanMaintenance: 'platform.partman_maintenance',
  usageFlush: 'platform.usage_flush',
} as const;

export interface PredictTaskKwargs {
  tenant_id: string;
  tenant_schema: string;
  prediction_id: string;
  model: string;
  inputs: number[][];
}

export interface TenantTaskKwargs {
  tenant_id: string;
}

/** Publishes a task; returns its id. Implemented over the Celery protocol by the services. */
export interface TaskPublisher {
  publish(task: string, kwargs: Record<string, unknown>, options?: { id?: string }): Promise<string>;
}

/** Which queue a task goes to: predictions on the ML queue, everything else on the platform queue. */
export function taskRouter(queues: { ml: string; platform: string }): (task: string) => string {
  return (task) => (task === TASKS.predict ? queues.ml : queues.platform);
}

/** Tenant lifecycle work started through the queue, for the worker's provisioning tasks. */
export function queuedTenantLifecycle(publisher: TaskPublisher): TenantLifecycleDispatcher {
  return {
    provision: async (tenantId) => {
      await publisher.publish(TASKS.provisionTenant, { tenant_id: tenantId });
    },
    deprovision: async (tenantId) => {
      await publisher.publish(TASKS.deprovisionTenant, { tenant_id: tenantId });
    },
  };
}
