import type { TenantStatus } from './tenants.repository.js';

/**
 * Whether a tenant is gone from the API: `deleting` (its deletion was accepted; its data is
 * being dropped) or `deleted`. A gone tenant answers 404 and is not listed.
 */
export function isGone(status: TenantStatus): boolean {
  return status === 'deleting' || status === 'deleted';
}

/** The statuses of tenants the API still shows. */
export const VISIBLE_TENANT_STATUSES: readonly TenantStatus[] = ['provisioning', 'ready', 'failed'];
