import type { Tenant as TenantRecord, TenantsService } from '@platform/core';
import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  OperationId,
  Path,
  Post,
  Query,
  Response,
  Route,
  Security,
  SuccessResponse,
  Tags,
} from '@tsoa/runtime';
import type { ProblemDetails } from '../models/problem.js';
import type { CreateTenantRequest, Tenant, TenantList } from '../models/tenant.models.js';

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
@Response<ProblemDetails>(401, 'Missing or wrong admin token')
@Response<ProblemDetails>(422, 'Invalid input')
export class TenantsController extends Controller {
  constructor(private readonly tenants: TenantsService) {
    super();
  }

  /** Creates a tenant. It starts in `provisioning`; poll the Location until `ready` (or `failed`). */
  @Post()
  @OperationId('createTenant')
  @SuccessResponse(202, 'Accepted: provisioning started')
  @Response<ProblemDetails>(409, 'A tenant with this slug exists')
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

  /** Lists tenants, oldest first. */
  @Get()
  @OperationId('listTenants')
  async listTenants(@Query() limit?: number, @Query() cursor?: string): Promise<TenantList> {
    const page = await this.tenants.list(limit, cursor);
    return { data: page.data.map(toTenant), next_cursor: page.next_cursor };
  }

  @Get('{tenantId}')
  @OperationId('getTenant')
  @Response<ProblemDetails>(404, 'No such tenant')
  async getTenant(@Path() tenantId: string): Promise<Tenant> {
    return toTenant(await this.tenants.get(tenantId));
  }

  /** Deletes a tenant: its keys stop working at once; its schema and data are then dropped. */
  @Delete('{tenantId}')
  @OperationId('deleteTenant')
  @SuccessResponse(202, 'Accepted: deletion started')
  @Response<ProblemDetails>(404, 'No such tenant')
  @Response<ProblemDetails>(409, 'The tenant is being provisioned')
  async deleteTenant(@Path() tenantId: string): Promise<Tenant> {
    const tenant = await this.tenants.delete(tenantId);
    this.setStatus(202);
    return toTenant(tenant);
  }

  /** Retries provisioning of a `failed` tenant. */
  @Post('{tenantId}/retry')
  @OperationId('retryTenantProvisioning')
  @SuccessResponse(202, 'Accepted: provisioning restarted')
  @Response<ProblemDetails>(404, 'No such tenant')
  @Response<ProblemDetails>(409, 'The tenant is not failed')
  async retryTenantProvisioning(@Path() tenantId: string): Promise<Tenant> {
    const tenant = await this.tenants.retry(tenantId);
    this.setStatus(202);
    this.setHeader('Location', `/v1/tenants/${tenant.id}`);
    return toTenant(tenant);
  }
}
