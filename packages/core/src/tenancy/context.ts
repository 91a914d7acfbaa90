import { AsyncLocalStorage } from 'node:async_hooks';
import { UnauthorizedError } from '../errors.js';
import type { Plan } from './plans.js';

/** The tenant a request or task acts for. `schema` is derived from the slug by `schemaForSlug`. */
export interface TenantRef {
  id: string;
  slug: string;
  schema: string;
  plan: Plan;
}

export interface RequestContext {
  requestId: string;
  tenant?: TenantRef;
  /** Who acts: `admin`, or `key:<api key id>`. */
  actor?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runWithContext<T>(ctx: RequestContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

/** The tenant of the current request or task; throws when none was resolved. */
export function currentTenant(): TenantRef {
  const tenant = storage.getStore()?.tenant;
  if (!tenant) throw new UnauthorizedError('missing_credentials', 'No tenant is bound to this request');
  return tenant;
}
