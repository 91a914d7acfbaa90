import type {
  Tenant as TenantRecord,
  TenantsService,
  TenantUpdatesService,
  UsageService,
} from '@platform/core';
import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  Middlewares,
  OperationId,
  Patch,
  Path,
  Post,
  Query,
  Response,
  Route,
  Security,
  SuccessResponse,
  Tags,
} from '@tsoa/runtime';
import { idempotent } from '../middleware/idempotency.js';
import type { ProblemDetails } from '../models/problem.js';
import type {
  CreateTenantRequest,
  Tenant,
  TenantList,
  TenantResources,
  UpdateTenantRequest,
} from '../models/tenant.models.js';
import type { UsageReport } from '../models/usage.models.js';

export function toTenant(t: TenantRecord): Tenant {
  return {
    id: t.id,
    slug: t.slug,
    name: t.name,
    plan: t.plan,
    status: t.status,
    namespace: t.namespace,
    last_error: t.last_error,
    created_at: t.created_at,
    updated_at: t.updated_at,
  };
}

@Route('v1/tenants')
@Tags('Tenants')
@Security('admin')
export class TenantsController extends Controller {
  constructor(
    private readonly tenants: TenantsService,
    private readonly updates: TenantUpdatesService,
    private readonly usage: UsageService,
  ) {
    super();
  }

  /** Creates a tenant. It starts in `provisioning`; poll the Location until `ready` (or `failed`). */
  @Post()
  @Middlewares(idempotent)
  @Response<ProblemDetails>(401, 'Missing or wrong admin token', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @Response<ProblemDetails, { 'Retry-After': string }>(
    429,
    'This address failed to authenticate too often (`rate_limited`)',
    undefined,
    ['application/problem+json'],
  )
  @OperationId('createTenant')
  @SuccessResponse(202, 'Accepted: provisioning started')
  @Response<ProblemDetails>(
    409,
    'A tenant with this slug exists (`tenant_exists`), or the platform holds MAX_TENANTS tenants (`tenant_limit_reached`)',
    undefined,
    ['application/problem+json'],
  )
  async createTenant(
    @Body() body: CreateTenantRequest,
    /** Makes retries safe: a repeated request with the same key gets the first response. */ @Header(
      'Idempotency-Key',
    )
    _idempotencyKey?: string,
  ): Promise<Tenant> {
    const tenant = await this.tenants.create(body);
    this.setStatus(202);
    this.setHeader('Location', `/v1/tenants/${tenant.id}`);
    return toTenant(tenant);
  }

  /**
   * Lists tenants, oldest first.
   * @param limit Page size, 1-200 (default 50).
   * @param slug Only tenants whose slug contains this text.
   * @isInt limit
   * @minimum limit 1
   * @maximum limit 200
   */
  @Get()
  @Response<ProblemDetails>(401, 'Missing or wrong admin token', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @Response<ProblemDetails, { 'Retry-After': string }>(
    429,
    'This address failed to authenticate too often (`rate_limited`)',
    undefined,
    ['application/problem+json'],
  )
  @OperationId('listTenants')
  async listTenants(
    @Query() limit?: number,
    @Query() cursor?: string,
    @Query() slug?: string,
  ): Promise<TenantList> {
    const page = await this.tenants.list(limit, cursor, slug);
    return { data: page.data.map(toTenant), next_cursor: page.next_cursor };
  }

  @Get('{tenantId}')
  @Response<ProblemDetails>(401, 'Missing or wrong admin token', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @Response<ProblemDetails, { 'Retry-After': string }>(
    429,
    'This address failed to authenticate too often (`rate_limited`)',
    undefined,
    ['application/problem+json'],
  )
  @OperationId('getTenant')
  @Response<ProblemDetails>(404, 'No such tenant', undefined, ['application/problem+json'])
  async getTenant(@Path() tenantId: string): Promise<Tenant> {
    return toTenant(await this.tenants.get(tenantId));
  }

  /**
   * Changes a tenant's name and/or plan. A new plan's limits apply on every API replica within
   * seconds; its event retention and namespace quota follow. Audited as `tenant.updated`.
   */
  @Patch('{tenantId}')
  @Response<ProblemDetails>(401, 'Missing or wrong admin token', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @OperationId('updateTenant')
  @Response<ProblemDetails>(404, 'No such tenant', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(409, 'The tenant is being provisioned or deleted', undefined, [
    'application/problem+json',
  ])
  @Response<ProblemDetails>(503, 'Kubernetes is unreachable; nothing was changed', undefined, [
    'application/problem+json',
  ])
  async updateTenant(@Path() tenantId: string, @Body() body: UpdateTenantRequest): Promise<Tenant> {
    return toTenant(await this.updates.update(tenantId, body));
  }

  /**
   * A tenant's metered usage per UTC day, `from` to `to` inclusive (default: the 30 days ending
   * today; at most 400 days), and today against each quota of its plan.
   * @param from First day, `YYYY-MM-DD` (UTC).
   * @param to Last day, `YYYY-MM-DD` (UTC); default today.
   */
  @Get('{tenantId}/usage')
  @Response<ProblemDetails>(401, 'Missing or wrong admin token', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @OperationId('getTenantUsage')
  @Response<ProblemDetails>(404, 'No such tenant', undefined, ['application/problem+json'])
  async getTenantUsage(
    @Path() tenantId: string,
    @Query() from?: string,
    @Query() to?: string,
  ): Promise<UsageReport> {
    return this.usage.reportForTenant(tenantId, { from, to });
  }

  /** Deletes a tenant: its keys stop working at once; its schema and data are then dropped. */
  @Delete('{tenantId}')
  @Response<ProblemDetails>(401, 'Missing or wrong admin token', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @Response<ProblemDetails, { 'Retry-After': string }>(
    429,
    'This address failed to authenticate too often (`rate_limited`)',
    undefined,
    ['application/problem+json'],
  )
  @OperationId('deleteTenant')
  @SuccessResponse(202, 'Accepted: deletion started')
  @Response<ProblemDetails>(404, 'No such tenant', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(409, 'The tenant is being provisioned', undefined, ['application/problem+json'])
  async deleteTenant(@Path() tenantId: string): Promise<Tenant> {
    const tenant = await this.tenants.delete(tenantId);
    this.setStatus(202);
    return toTenant(tenant);
  }

  /** The tenant's Kubernetes namespace: its phase, quota used vs hard, and its pods. */
  @Get('{tenantId}/resources')
  @Response<ProblemDetails>(401, 'Missing or wrong admin token', undefined, ['application/problem+json'])
  @Response<ProblemDetails, { 'Retry-After': string }>(
    429,
    'This address failed to authenticate too often (`rate_limited`)',
    undefined,
    ['application/problem+json'],
  )
  @OperationId('getTenantResources')
  @Response<ProblemDetails>(404, 'No such tenant or namespace', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(409, 'Kubernetes is not configured', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(503, 'Kubernetes is unreachable', undefined, ['application/problem+json'])
  async getTenantResources(@Path() tenantId: string): Promise<TenantResources> {
    return this.tenants.resources(tenantId);
  }

  /** Retries provisioning of a `failed` tenant. */
  @Post('{tenantId}/retry')
  @Middlewares(idempotent)
  @Response<ProblemDetails>(401, 'Missing or wrong admin token', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @Response<ProblemDetails, { 'Retry-After': string }>(
    429,
    'This address failed to authenticate too often (`rate_limited`)',
    undefined,
    ['application/problem+json'],
  )
  @OperationId('retryTenantProvisioning')
  @SuccessResponse(202, 'Accepted: provisioning restarted')
  @Response<ProblemDetails>(404, 'No such tenant', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(409, 'The tenant is not failed', undefined, ['application/problem+json'])
  async retryTenantProvisioning(
    @Path() tenantId: string,
    /** Makes retries safe: a repeated request with the same key gets the first response. */ @Header(
      'Idempotency-Key',
    )
    _idempotencyKey?: string,
  ): Promise<Tenant> {
    const tenant = await this.tenants.retry(tenantId);
    this.setStatus(202);
    this.setHeader('Location', `/v1/tenants/${tenant.id}`);
    return toTenant(tenant);
  }
}
