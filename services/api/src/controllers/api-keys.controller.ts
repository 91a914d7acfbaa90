import type { ApiKey as ApiKeyRecord, TenantsService } from '@platform/core';
import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  Middlewares,
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
import { idempotentWithSecret } from '../middleware/idempotency.js';
import type { ProblemDetails } from '../models/problem.js';
import type { ApiKey, ApiKeyList, CreateApiKeyRequest, CreatedApiKey } from '../models/tenant.models.js';

function toApiKey(k: ApiKeyRecord): ApiKey {
  return {
    id: k.id,
    tenant_id: k.tenant_id,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes,
    created_at: k.created_at,
    last_used_at: k.last_used_at,
    revoked_at: k.revoked_at,
  };
}

@Route('v1/tenants/{tenantId}/api-keys')
@Tags('API keys')
@Security('admin')
export class ApiKeysController extends Controller {
  constructor(private readonly tenants: TenantsService) {
    super();
  }

  /** Creates an API key for the tenant. The key is in this response only; only its hash is stored. */
  @Post()
  @Middlewares(idempotentWithSecret)
  @Response<ProblemDetails>(401, 'Missing or wrong admin token', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(404, 'No such tenant', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(
    409,
    'A request with this Idempotency-Key is in progress, or already created a key (`idempotency_secret_not_replayable`: the key is shown once and never replayed)',
    undefined,
    ['application/problem+json'],
  )
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @Response<ProblemDetails, { 'Retry-After': string }>(
    429,
    'This address failed to authenticate too often (`rate_limited`)',
    undefined,
    ['application/problem+json'],
  )
  @OperationId('createApiKey')
  @SuccessResponse(201, 'Created')
  async createApiKey(
    @Path() tenantId: string,
    @Body() body: CreateApiKeyRequest,
    /** Makes retries safe: a repeated request with the same key gets the first response. */ @Header(
      'Idempotency-Key',
    )
    _idempotencyKey?: string,
  ): Promise<CreatedApiKey> {
    const key = await this.tenants.createApiKey(tenantId, body);
    this.setStatus(201);
    return { ...toApiKey(key), key: key.key };
  }

  /**
   * Lists the tenant's API keys (without their secrets), oldest first.
   * @param limit Page size, 1-200 (default 50).
   * @isInt limit
   * @minimum limit 1
   * @maximum limit 200
   */
  @Get()
  @Response<ProblemDetails>(401, 'Missing or wrong admin token', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(404, 'No such tenant', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @Response<ProblemDetails, { 'Retry-After': string }>(
    429,
    'This address failed to authenticate too often (`rate_limited`)',
    undefined,
    ['application/problem+json'],
  )
  @OperationId('listApiKeys')
  async listApiKeys(
    @Path() tenantId: string,
    @Query() limit?: number,
    @Query() cursor?: string,
  ): Promise<ApiKeyList> {
    const page = await this.tenants.listApiKeys(tenantId, limit, cursor);
    return { data: page.data.map(toApiKey), next_cursor: page.next_cursor };
  }

  /** Revokes a key; requests with it are refused from then on. */
  @Delete('{keyId}')
  @Response<ProblemDetails>(401, 'Missing or wrong admin token', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(404, 'No such tenant', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @Response<ProblemDetails, { 'Retry-After': string }>(
    429,
    'This address failed to authenticate too often (`rate_limited`)',
    undefined,
    ['application/problem+json'],
  )
  @OperationId('revokeApiKey')
  @SuccessResponse(204, 'Revoked')
  async revokeApiKey(@Path() tenantId: string, @Path() keyId: string): Promise<void> {
    await this.tenants.revokeApiKey(tenantId, keyId);
    this.setStatus(204);
  }
}
