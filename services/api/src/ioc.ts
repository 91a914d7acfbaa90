import type { IocContainer, IocContainerFactory } from '@tsoa/runtime';
import type { Request } from 'express';
import { ApiKeysController } from './controllers/api-keys.controller.js';
import { AuditController } from './controllers/audit.controller.js';
import { EventsController } from './controllers/events.controller.js';
import { ModelsController } from './controllers/models.controller.js';
import { PredictionsController } from './controllers/predictions.controller.js';
import { QueuesController } from './controllers/queues.controller.js';
import { TenantsController } from './controllers/tenants.controller.js';
import { UsageController } from './controllers/usage.controller.js';
import { UsersController } from './controllers/users.controller.js';
import { platformOf } from './request-context.js';

/** tsoa's controller factory: builds each controller with the services of the running platform. */
export const iocContainer: IocContainerFactory<Request> = (req: Request): IocContainer => {
  const platform = platformOf(req);
  const get = (controller: unknown) => {
    switch (controller) {
      case TenantsController:
        return new TenantsController(platform.tenants, platform.tenantUpdates, platform.usage);
      case ApiKeysController:
        return new ApiKeysController(platform.tenants);
      case UsersController:
        return new UsersController(platform.users);
      case EventsController:
        return new EventsController(platform.events);
      case PredictionsController:
        return new PredictionsController(platform.predictions);
      case UsageController:
        return new UsageController(platform.usage);
      case ModelsController:
        return new ModelsController(platform.predictions);
      case AuditController:
        return new AuditController(platform.audit);
      case QueuesController:
        return new QueuesController(platform.deadLetters);
      default:
        throw new Error('Unknown controller');
    }
  };
  return { get } as IocContainer;
};
