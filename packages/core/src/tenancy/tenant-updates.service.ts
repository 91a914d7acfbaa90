import type { Knex } from 'knex';
import { recordAudit } from '../audit/audit.repository.js';
import { setPartmanRetention } from '../db/partman.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { TenantNamespaces } from '../kubernetes/tenant-namespaces.js';
import { isUuid } from '../pagination.js';
import type { TaskOutbox } from '../tasks/outbox.js';
import { isPlan, PLANS } from './plans.js';
import { isGone } from './tenant-status.js';
import { findTenant, lockTenant, type Tenant, updateTenantSettings } from './tenants.repository.js';

export interface TenantUpdatesDeps {
  db: Knex;
  /**
   * A new plan's namespace quota is applied by the worker (`platform.apply_tenant_plan`, written
   * to the outbox with the change): the API's Kubernetes account is read-only.
   */
  outbox: TaskOutbox;
  /** Called after a tenant's plan changed, so that every replica drops what it cached of it. */
  onPlanChanged?: (tenantId: string) => void;
}

/** `PATCH /v1/tenants/{id}`: a tenant's name and plan. */
export class TenantUpdatesService {
  constructor(private readonly deps: TenantUpdatesDeps) {}

  /**
   * Changes the name and/or the plan, in one transaction with its audit entry. A new plan brings
   * its retention to the tenant's pg_partman configuration and, through the worker, its
   * ResourceQuota to the tenant's namespace (when Kubernetes is configured), and
   * `onPlanChanged` makes every API replica apply its limits at once. The plan of a tenant being
   * provisioned or deleted cannot change (409 `tenant_busy`).
   */
  async update(id: string, patch: { name?: string; plan?: string }): Promise<Tenant> {
    if (patch.plan !== undefined && !isPlan(patch.plan)) {
      throw new ValidationError('Invalid plan', [
        { field: 'body.plan', message: `must be one of ${Object.keys(PLANS).join(', ')}` },
      ]);
    }
    if (patch.name !== undefined && patch.name.trim() === '') {
      throw new ValidationError('Invalid name', [{ field: 'body.name', message: 'must not be empty' }]);
    }
    const plan = patch.plan;
    const { tenant, planChanged } = await this.deps.db.transaction(async (trx) => {
      const current = isUuid(id) ? await lockTenant(trx, id) : undefined;
      if (!current || isGone(current.status)) throw new NotFoundError('Tenant');
      const changes: Partial<Pick<Tenant, 'name' | 'plan'>> = {};
      if (patch.name !== undefined && patch.name !== current.name) changes.name = patch.name;
      if (plan !== undefined && isPlan(plan) && plan !== current.plan) {
        if (current.status !== 'ready' && current.status !== 'failed') {
          throw new ConflictError(
            'tenant_busy',
            `The plan cannot change while the tenant is ${current.status}`,
          );
        }
        changes.plan = plan;
      }
      if (Object.keys(changes).length === 0) return { tenant: current, planChanged: false };
      const updated = await updateTenantSettings(trx, id, changes);
      if (changes.plan) {
        await setPartmanRetention(
          trx,
          `${updated.schema_name}.events`,
          `${PLANS[changes.plan].eventRetentionDays} days`,
        );
        if (updated.status === 'ready') {
          await this.deps.outbox.enqueue(trx, 'platform.apply_tenant_plan', { tenant_id: id });
        }
      }
      await recordAudit(trx, {
        action: 'tenant.updated',
        tenant_id: id,
        details: {
          ...(changes.name ? { name: { from: current.name, to: changes.name } } : {}),
          ...(changes.plan ? { plan: { from: current.plan, to: changes.plan } } : {}),
        },
      });
      return { tenant: updated, planChanged: Boolean(changes.plan) };
    });
    if (planChanged) this.deps.onPlanChanged?.(tenant.id);
    return tenant;
  }
}

/**
 * `platform.apply_tenant_plan`: brings a ready tenant's namespace (ResourceQuota, LimitRange,
 * labels) to its current plan. Idempotent; a tenant no longer ready is left alone.
 */
export async function applyTenantPlan(
  db: Knex,
  tenantId: string,
  namespaces: TenantNamespaces | undefined,
): Promise<{ applied: boolean; plan?: string }> {
  const tenant = await findTenant(db, tenantId);
  if (!namespaces || tenant?.status !== 'ready') return { applied: false };
  await namespaces.ensure(tenant);
  return { applied: true, plan: tenant.plan };
}
