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
import type { Day, UsageReport } from '../models/usage.models.js';

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
@Response<ProblemDetails, { 'x-request-id': string }>(
  400,
  'The body is not JSON, or not a JSON object or array (`malformed_json`)',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string; 'WWW-Authenticate': string }>(
  401,
  'Missing or wrong admin token (`missing_credentials`, `invalid_credentials`)',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string }>(
  413,
  'The body is larger than `BODY_LIMIT` (`body_too_large`)',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string }>(
  415,
  'The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`)',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string }>(
  422,
  'Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string; 'Retry-After': string }>(
  429,
  'This address failed to authenticate too often (`rate_limited`); retry after `Retry-After`',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string; 'Retry-After': string }>(
  503,
  'A dependency is unavailable (`database_unavailable`); retry after `Retry-After`',
  undefined,
  'application/problem+json',
)
export class TenantsController extends Controller {
  constructor(
    private readonly tenants: TenantsService,
    private readonly updates: TenantUpdatesService,
    private readonly usage: UsageService,
  ) {
    super();
  }

  /**
   * Creates a tenant. It starts in `provisioning`; poll `Location` until `ready` (or `failed`).
   * @param _idempotencyKey Makes retries safe: a repeat with the same key gets the first response (see `idempotent-replayed`).
   * @pattern _idempotencyKey ^[\x21-\x7e]{1,255}$
   */
  @Post()
  @Middlewares(idempotent)
  @OperationId('createTenant')
  @SuccessResponse<{ 'x-request-id': string; Location: string; 'idempotent-replayed'?: string }>(
    202,
    'Accepted: provisioning started; `Location` is the tenant',
  )
  @Response<ProblemDetails>(
    409,
    'A tenant with this slug exists or is being deleted (`tenant_exists`), the platform holds MAX_TENANTS tenants (`tenant_limit_reached`), or an Idempotency-Key conflict',
    undefined,
    ['application/problem+json'],
  )
  async createTenant(
    @Body() body: CreateTenantRequest,
    @Header('Idempotency-Key') _idempotencyKey?: string,
  ): Promise<Tenant> {
    const tenant = await this.tenants.create(body);
    this.setStatus(202);
    this.setHeader('Location', `/v1/tenants/${tenant.id}`);
    return toTenant(tenant);
  }

  /**
   * Lists tenants, oldest first. A tenant whose deletion was accepted is no longer listed.
   * @param limit Page size, 1-200 (default 50).
   * @param slug Only tenants whose slug contains this text.
   * @pattern slug ^[a-z0-9-]{1,40}$
   * @isInt limit
   * @minimum limit 1
   * @maximum limit 200
   * @param cursor The `next_cursor` of the previous page.
   * @pattern cursor ^(0|[1-9][0-9]{0,14})_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$
   */
  @Get()
  @OperationId('listTenants')
  @SuccessResponse<{ 'x-request-id': string }>(200, 'Ok')
  async listTenants(
    @Query() limit?: number,
    @Query() cursor?: string,
    @Query() slug?: string,
  ): Promise<TenantList> {
    const page = await this.tenants.list(limit, cursor, slug);
    return { data: page.data.map(toTenant), next_cursor: page.next_cursor };
  }

  /** A tenant: `provisioning`, `ready` or `failed`. Once its deletion is accepted it is 404. */
  @Get('{tenantId}')
  @OperationId('getTenant')
  @SuccessResponse<{ 'x-request-id': string }>(200, 'Ok')
  @Response<ProblemDetails>(404, 'No such tenant, or it is being deleted (`not_found`)', undefined, [
    'application/problem+json',
  ])
  async getTenant(@Path() tenantId: string): Promise<Tenant> {
    return toTenant(await this.tenants.get(tenantId));
  }

  /**
   * Changes a tenant's name and/or plan; absent fields stay as they are (a request without a body
   * is refused, 422). A new plan's limits apply on every API replica within seconds; its event
   * retention and namespace quota follow. Audited as `tenant.updated`.
   */
  @Patch('{tenantId}')
  @OperationId('updateTenant')
  @SuccessResponse<{ 'x-request-id': string }>(200, 'Ok')
  @Response<ProblemDetails>(404, 'No such tenant, or it is being deleted (`not_found`)', undefined, [
    'application/problem+json',
  ])
  @Response<ProblemDetails>(
    409,
    'The plan cannot change while the tenant is provisioning (`tenant_busy`)',
    undefined,
    ['application/problem+json'],
  )
  @Response<ProblemDetails, { 'x-request-id': string; 'Retry-After': string }>(
    503,
    'Kubernetes is unreachable (`kubernetes_unavailable`) or the database (`database_unavailable`); nothing was changed',
    undefined,
    ['application/problem+json'],
  )
  async updateTenant(@Path() tenantId: string, @Body() body: UpdateTenantRequest): Promise<Tenant> {
    return toTenant(await this.updates.update(tenantId, body));
  }

  /**
   * A tenant's metered usage per UTC day, `from` to `to` inclusive (default: the 30 days ending
   * `to`), and today against each quota of its plan. A range of more than 400 days keeps its last
   * 400 (the report's `from` says where it starts); a `from` after `to` is an empty range.
   * @param from First day (UTC); default 29 days before `to`.
   * @param to Last day (UTC); default today.
   */
  @Get('{tenantId}/usage')
  @OperationId('getTenantUsage')
  @SuccessResponse<{ 'x-request-id': string }>(200, 'Ok')
  @Response<ProblemDetails>(404, 'No such tenant, or it is being deleted (`not_found`)', undefined, [
    'application/problem+json',
  ])
  async getTenantUsage(
    @Path() tenantId: string,
    @Query() from?: Day,
    @Query() to?: Day,
  ): Promise<UsageReport> {
    return this.usage.reportForTenant(tenantId, { from, to });
  }

  /**
   * Deletes a tenant, asynchronously. From the 202 on, the tenant is gone from the API: it is 404
   * here and under its paths (keys, usage, resources) and no longer listed, and its API keys stop
   * working at once. Its schema, data and namespace are then dropped in the background; its slug
   * stays taken (409 `tenant_exists`) until they are. The body is the tenant as of the request,
   * in `deleting`.
   */
  @Delete('{tenantId}')
  @OperationId('deleteTenant')
  @SuccessResponse<{ 'x-request-id': string }>(
    202,
    'Accepted: the tenant is gone from the API; its data is being dropped',
  )
  @Response<ProblemDetails>(404, 'No such tenant, or it is already being deleted (`not_found`)', undefined, [
    'application/problem+json',
  ])
  @Response<ProblemDetails>(
    409,
    'The tenant is being provisioned right now (`tenant_busy`); retry shortly',
    undefined,
    ['application/problem+json'],
  )
  async deleteTenant(@Path() tenantId: string): Promise<Tenant> {
    const tenant = await this.tenants.delete(tenantId);
    this.setStatus(202);
    return toTenant(tenant);
  }

  /** The tenant's Kubernetes namespace: its phase, quota used vs hard, and its pods. */
  @Get('{tenantId}/resources')
  @OperationId('getTenantResources')
  @SuccessResponse<{ 'x-request-id': string }>(200, 'Ok')
  @Response<ProblemDetails>(404, 'No such tenant or namespace (`not_found`)', undefined, [
    'application/problem+json',
  ])
  @Response<ProblemDetails>(409, 'Kubernetes is not configured (`kubernetes_not_configured`)', undefined, [
    'application/problem+json',
  ])
  @Response<ProblemDetails, { 'x-request-id': string; 'Retry-After': string }>(
    503,
    'Kubernetes is unreachable (`kubernetes_unavailable`), or the database (`database_unavailable`)',
    undefined,
    ['application/problem+json'],
  )
  async getTenantResources(@Path() tenantId: string): Promise<TenantResources> {
    return this.tenants.resources(tenantId);
  }

  /**
   * Retries provisioning of a `failed` tenant.
   * @param _idempotencyKey Makes retries safe: a repeat with the same key gets the first response (see `idempotent-replayed`).
   * @pattern _idempotencyKey ^[\x21-\x7e]{1,255}$
   */
  @Post('{tenantId}/retry')
  @Middlewares(idempotent)
  @OperationId('retryTenantProvisioning')
  @SuccessResponse<{ 'x-request-id': string; Location: string; 'idempotent-replayed'?: string }>(
    202,
    'Accepted: provisioning restarted; `Location` is the tenant',
  )
  @Response<ProblemDetails>(404, 'No such tenant, or it is being deleted (`not_found`)', undefined, [
    'application/problem+json',
  ])
  @Response<ProblemDetails>(
    409,
    'The tenant is not failed (`tenant_not_failed`), or an Idempotency-Key conflict',
    undefined,
    ['application/problem+json'],
  )
  async retryTenantProvisioning(
    @Path() tenantId: string,
    @Header('Idempotency-Key') _idempotencyKey?: string,
  ): Promise<Tenant> {
    const tenant = await this.tenants.retry(tenantId);
    this.setStatus(202);
    this.setHeader('Location', `/v1/tenants/${tenant.id}`);
    return toTenant(tenant);
  }
}
