import type { Knex } from 'knex';
import { recordAudit } from '../audit/audit.repository.js';
import { ConflictError, NotFoundError, ServiceUnavailableError, ValidationError } from '../errors.js';
import type { TenantNamespaces, TenantResources } from '../kubernetes/tenant-namespaces.js';
import { isUuid, type Page, pageSize } from '../pagination.js';
import type { TaskOutbox } from '../tasks/outbox.js';
import { type ApiKey, type ApiKeyScope, listApiKeys, revokeApiKey } from './api-keys.repository.js';
import { type CreatedApiKey, createApiKey } from './api-keys.service.js';
import { assertValidSlug, namespaceForSlug, schemaForSlug } from './naming.js';
import { DEFAULT_PLAN, isPlan, PLANS } from './plans.js';
import { isGone } from './tenant-status.js';
import {
  assertTenantCapacity,
  claimTenant,
  findTenant,
  insertTenant,
  listTenants,
  resetFailedTenant,
  type Tenant,
} from './tenants.repository.js';

export interface TenantsServiceDeps {
  db: Knex;
  /** Provisioning and deprovisioning tasks commit with the tenant's state change. */
  outbox: TaskOutbox;
  /** Called after API keys are revoked, so that caches drop them. */
  onKeysRevoked?: (prefixes: string[] | 'all') => void;
  /** Tenant namespaces, when Kubernetes is configured. */
  namespaces?: TenantNamespaces;
  /** The platform-wide cap on live tenants (`MAX_TENANTS`); none when undefined. */
  maxTenants?: number;
}

export class TenantsService {
  constructor(private readonly deps: TenantsServiceDeps) {}

  async create(input: { slug: string; name: string; plan?: string }): Promise<Tenant> {
    assertValidSlug(input.slug);
    const plan = input.plan ?? DEFAULT_PLAN;
    if (!isPlan(plan)) {
      throw new ValidationError('Invalid plan', [
        { field: 'body.plan', message: `must be one of ${Object.keys(PLANS).join(', ')}` },
      ]);
    }
    const tenant = await this.deps.db.transaction(async (trx) => {
      await assertTenantCapacity(trx, this.deps.maxTenants);
      const created = await insertTenant(trx, {
        slug: input.slug,
        name: input.name,
        plan,
        schema_name: schemaForSlug(input.slug),
        namespace: namespaceForSlug(input.slug),
      });
      await recordAudit(trx, {
        action: 'tenant.created',
        tenant_id: created.id,
        details: { slug: input.slug, plan },
      });
      await this.deps.outbox.enqueue(trx, 'platform.provision_tenant', { tenant_id: created.id });
      return created;
    });
    return tenant;
  }

  /** A tenant of the API: one whose deletion was requested (`deleting`) is gone (404) at once. */
  async get(id: string): Promise<Tenant> {
    const tenant = isUuid(id) ? await findTenant(this.deps.db, id) : undefined;
    if (!tenant || isGone(tenant.status)) throw new NotFoundError('Tenant');
    return tenant;
  }

  /** Live tenants, oldest first; `slug` keeps those whose slug contains it. */
  list(limit?: number, cursor?: string, slug?: string): Promise<Page<Tenant>> {
    if (slug !== undefined && !/^[a-z0-9-]{1,40}$/.test(slug)) {
      throw new ValidationError('Invalid slug filter', [
        { field: 'query.slug', message: 'must be 1-40 lowercase letters, digits and hyphens' },
      ]);
    }
    return listTenants(this.deps.db, pageSize(limit), cursor, slug || undefined);
  }

  /** Retries provisioning of a failed tenant: it goes back to `provisioning` at once. */
  async retry(id: string): Promise<Tenant> {
    const tenant = await this.get(id);
    return this.deps.db.transaction(async (trx) => {
      const retried = await resetFailedTenant(trx, id);
      if (!retried) {
        throw new ConflictError(
          'tenant_not_failed',
          `Only a failed tenant can be retried; this one is ${tenant.status}`,
        );
      }
      await recordAudit(trx, { action: 'tenant.retry', tenant_id: id });
      await this.deps.outbox.enqueue(trx, 'platform.provision_tenant', { tenant_id: id });
      return retried;
    });
  }

  /**
   * Marks a tenant for deletion and starts deprovisioning. From then on the tenant is gone from
   * the API (404, not listed) and its keys stop working; its schema, data and namespace are
   * dropped in the background, and its slug stays taken until they are.
   */
  async delete(id: string): Promise<Tenant> {
    await this.get(id);
    const tenant = await this.deps.db.transaction(async (trx) => {
      const claimed = await claimTenant(trx, id, ['ready', 'failed', 'provisioning'], 'deleting', 0);
      if (!claimed) {
        throw new ConflictError('tenant_busy', 'The tenant is being provisioned; try again shortly');
      }
      await trx
        .withSchema('platform')
        .table('api_keys')
        .where({ tenant_id: id })
        .whereNull('revoked_at')
        .update({
          revoked_at: trx.fn.now(),
        });
      await recordAudit(trx, { action: 'tenant.delete_requested', tenant_id: id });
      await this.deps.outbox.enqueue(trx, 'platform.deprovision_tenant', { tenant_id: id });
      return claimed;
    });
    this.deps.onKeysRevoked?.('all');
    return tenant;
  }

  /** The tenant's Kubernetes namespace: phase, quota used vs hard, pods. */
  async resources(id: string): Promise<TenantResources> {
    const tenant = await this.get(id);
    if (!this.deps.namespaces) {
      throw new ConflictError(
        'kubernetes_not_configured',
        'This platform does not manage Kubernetes namespaces',
      );
    }
    let resources: TenantResources | undefined;
    try {
      resources = await this.deps.namespaces.resources(tenant.slug);
    } catch (err) {
      throw new ServiceUnavailableError('kubernetes_unavailable', (err as Error).message);
    }
    if (!resources) throw new NotFoundError('Tenant namespace');
    return resources;
  }

  async createApiKey(
    tenantId: string,
    input: { name: string; scopes: ApiKeyScope[] },
  ): Promise<CreatedApiKey> {
    await this.get(tenantId);
    return this.deps.db.transaction(async (trx) => {
      const key = await createApiKey(trx, tenantId, input);
      await recordAudit(trx, {
        action: 'api_key.created',
        tenant_id: tenantId,
        details: { key_id: key.id, prefix: key.prefix, scopes: key.scopes },
      });
      return key;
    });
  }

  async listApiKeys(tenantId: string, limit?: number, cursor?: string): Promise<Page<ApiKey>> {
    await this.get(tenantId);
    return listApiKeys(this.deps.db, tenantId, pageSize(limit), cursor);
  }

  async revokeApiKey(tenantId: string, keyId: string): Promise<void> {
    await this.get(tenantId);
    const key = isUuid(keyId)
      ? await this.deps.db.transaction(async (trx) => {
          const revoked = await revokeApiKey(trx, tenantId, keyId);
          if (revoked) {
            await recordAudit(trx, {
              action: 'api_key.revoked',
              tenant_id: tenantId,
              details: { key_id: keyId },
            });
          }
          return revoked;
        })
      : undefined;
    if (!key) throw new NotFoundError('API key');
    this.deps.onKeysRevoked?.([key.prefix]);
  }
}
