import type { Knex } from 'knex';
import { recordAudit } from '../audit/audit.repository.js';
import { setPartmanRetention } from '../db/partman.js';
import { ConflictError, NotFoundError, ServiceUnavailableError, ValidationError } from '../errors.js';
import type { TenantNamespaces } from '../kubernetes/tenant-namespaces.js';
import { isUuid } from '../pagination.js';
import { isPlan, PLANS } from './plans.js';
import { lockTenant, type Tenant, updateTenantSettings } from './tenants.repository.js';

export interface TenantUpdatesDeps {
  db: Knex;
  /** Tenant namespaces, when Kubernetes is configured: their quota follows the plan. */
  namespaces?: TenantNamespaces;
  /** Called after a tenant's plan changed, so that every replica drops what it cached of it. */
  onPlanChanged?: (tenantId: string) => void;
}

/** `PATCH /v1/tenants/{id}`: a tenant's name and plan. */
export class TenantUpdatesService {
  constructor(private readonly deps: TenantUpdatesDeps) {}

  /**
   * Changes the name and/or the plan, in one transaction with its audit entry. A new plan brings
   * its retention to the tenant's pg_partman configuration and its ResourceQuota to the tenant's
   * namespace (when Kubernetes is configured; unreachable, nothing changes: 503), and
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
      if (!current || current.status === 'deleted') throw new NotFoundError('Tenant');
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
        if (this.deps.namespaces && updated.status === 'ready') {
          try {
            await this.deps.namespaces.ensure(updated);
          } catch (err) {
            throw new ServiceUnavailableError('kubernetes_unavailable', (err as Error).message);
          }
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
