import type { Database, PredictionRunner, TenantNamespaces, TenantTaskDataStore } from '@platform/core';
import type { Redis } from 'ioredis';
import type { TaskDefinition } from './engine/catalog.js';
import { partmanMaintenanceTask } from './tasks/maintenance.task.js';
import { predictTask } from './tasks/predict.task.js';
import {
  applyTenantPlanTask,
  deprovisionTenantTask,
  provisionTenantTask,
} from './tasks/tenant-lifecycle.tasks.js';
import { usageFlushTask } from './tasks/usage-flush.task.js';

/** The worker's handlers, one per task of the platform's catalog (@platform/core's TASK_CATALOG). */
export function createCatalog(deps: {
  /** The runtime role's pool. */
  db: Database;
  /** The owner role's pool: provisioning, deprovisioning, pg_partman maintenance. */
  ownerDb: Database;
  redis: Redis;
  predictions: PredictionRunner;
  namespaces?: TenantNamespaces;
  /** What Redis holds of a tenant's tasks (dead letters, results), removed at deprovisioning. */
  taskData?: TenantTaskDataStore;
  /** Longest a maintenance pass keeps starting tables (MAINTENANCE_MAX_S). */
  maintenanceMaxSeconds: number;
  /** Tables a maintenance pass maintains at once (MAINTENANCE_CONCURRENCY). */
  maintenanceConcurrency: number;
}): TaskDefinition[] {
  return [
    predictTask(deps),
    provisionTenantTask({ ...deps, db: deps.ownerDb }),
    deprovisionTenantTask({ ...deps, db: deps.ownerDb }),
    applyTenantPlanTask(deps),
    partmanMaintenanceTask({
      ...deps,
      db: deps.ownerDb,
      maxSeconds: deps.maintenanceMaxSeconds,
      concurrency: deps.maintenanceConcurrency,
    }),
    usageFlushTask(deps),
  ];
}
