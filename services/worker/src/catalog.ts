import type { Database, PredictionRunner, TenantNamespaces } from '@platform/core';
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
  db: Database;
  redis: Redis;
  predictions: PredictionRunner;
  namespaces?: TenantNamespaces;
}): TaskDefinition[] {
  return [
    predictTask(deps),
    provisionTenantTask(deps),
    deprovisionTenantTask(deps),
    applyTenantPlanTask(deps),
    partmanMaintenanceTask(deps),
    usageFlushTask(deps),
  ];
}
