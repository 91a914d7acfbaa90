import { PageIterator } from '../core/pagination.js';
import { pollUntil, type WaitOptions } from '../core/polling.js';
import type { RequestOptions } from '../core/transport.js';
import type {
  CreateTenantRequest,
  Tenant,
  TenantListParams,
  TenantResources,
  UpdateTenantRequest,
  UsageParams,
  UsageReport,
} from '../types.js';
import { APIResource, segment } from './resource.js';
import { usageDay } from './usage.js';

/** Default deadline of `wait`/`createAndWait` for a tenant. */
export const TENANT_WAIT_TIMEOUT_MS = 300_000;

/**
 * The rule of a tenant's slug, as the API checks it (`CreateTenantRequest.slug`): 3-40 lowercase
 * letters, digits and hyphens, starting with a letter, not ending with a hyphen.
 */
export const TENANT_SLUG_PATTERN = '^[a-z][a-z0-9-]{1,38}[a-z0-9]$';

/** Tenants (admin): `/v1/tenants`. */
export class Tenants extends APIResource {
  /**
   * Starts creating a tenant (202): it is returned `provisioning`; see `createAndWait`.
   * `409 ConflictError` (`tenant_exists`) when the slug is taken.
   */
  create(body: CreateTenantRequest, options?: RequestOptions): Promise<Tenant> {
    return this.transport.post('/v1/tenants', body, options);
  }

  get(tenantId: string, options?: RequestOptions): Promise<Tenant> {
    return this.transport.get(`/v1/tenants/${segment(tenantId)}`, undefined, options);
  }

  /** Live tenants, oldest first; `slug` keeps those whose slug contains it. */
  list(params: TenantListParams = {}, options?: RequestOptions): PageIterator<Tenant> {
    return new PageIterator(
      this.pager<Tenant>(
        '/v1/tenants',
        { limit: params.limit, cursor: params.cursor, slug: params.slug },
        options,
      ),
    );
  }

  /**
   * Changes a tenant's `name` and/or `plan`. The new plan's limits apply on every API replica
   * within seconds. `409 ConflictError` (`tenant_busy`) while the tenant is provisioned or deleted.
   */
  update(tenantId: string, body: UpdateTenantRequest, options?: RequestOptions): Promise<Tenant> {
    return this.transport.patch(`/v1/tenants/${segment(tenantId)}`, body, options);
  }

  /** A tenant's usage per UTC day and today against each quota (see `PlatformClient.usage.get`). */
  usage(tenantId: string, params: UsageParams = {}, options?: RequestOptions): Promise<UsageReport> {
    return this.transport.get(
      `/v1/tenants/${segment(tenantId)}/usage`,
      { from: usageDay(params.from), to: usageDay(params.to) },
      options,
    );
  }

  /** Starts deleting a tenant (202): its keys stop working at once, its data is dropped later. */
  delete(tenantId: string, options?: RequestOptions): Promise<Tenant> {
    return this.transport.delete(`/v1/tenants/${segment(tenantId)}`, options);
  }

  /**
   * The tenant's Kubernetes namespace: phase, quota used vs hard, pods. `409 ConflictError`
   * (`kubernetes_not_configured`) when the platform does not manage namespaces.
   */
  resources(tenantId: string, options?: RequestOptions): Promise<TenantResources> {
    return this.transport.get(`/v1/tenants/${segment(tenantId)}/resources`, undefined, options);
  }

  /** Restarts provisioning of a `failed` tenant (202). */
  retry(tenantId: string, options?: RequestOptions): Promise<Tenant> {
    return this.transport.post(`/v1/tenants/${segment(tenantId)}/retry`, undefined, options);
  }

  /**
   * Polls a tenant until provisioning ends — status `ready` or `failed` (see `last_error`; `retry`
   * restarts it) — and returns it. `WaitTimeoutError` after `timeoutMs` (default 5 minutes).
   */
  wait(tenantId: string, options: WaitOptions = {}): Promise<Tenant> {
    return pollUntil(
      `tenant ${tenantId}`,
      (requestOptions) => this.get(tenantId, requestOptions),
      (t) => t.status !== 'provisioning',
      options,
      TENANT_WAIT_TIMEOUT_MS,
    );
  }

  /** `create`, then `wait`; `timeoutMs` covers both. */
  async createAndWait(body: CreateTenantRequest, options: WaitOptions = {}): Promise<Tenant> {
    const started = Date.now();
    const timeoutMs = options.timeoutMs ?? TENANT_WAIT_TIMEOUT_MS;
    const tenant = await this.create(body, { ...options, timeoutMs: options.requestTimeoutMs });
    if (tenant.status !== 'provisioning') return tenant;
    return pollUntil(
      `tenant ${tenant.id}`,
      (requestOptions) => this.get(tenant.id, requestOptions),
      (t) => t.status !== 'provisioning',
      { ...options, timeoutMs: timeoutMs - (Date.now() - started) },
      TENANT_WAIT_TIMEOUT_MS,
      true,
    );
  }
}
