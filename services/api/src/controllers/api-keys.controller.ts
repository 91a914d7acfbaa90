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
export class ApiKeysController extends Controller {
  constructor(private readonly tenants: TenantsService) {
    super();
  }

  /**
   * Creates an API key for the tenant. The key is in this response only; only its hash is stored.
   * @param _idempotencyKey Makes retries safe: a repeat with the same key is refused (409 `idempotency_secret_not_replayable`) rather than creating a second key.
   * @pattern _idempotencyKey ^[\x21-\x7e]{1,255}$
   */
  @Post()
  @Middlewares(idempotentWithSecret)
  @OperationId('createApiKey')
  @SuccessResponse<{ 'x-request-id': string }>(
    201,
    'Created; the response carries the key (`Cache-Control: no-store`)',
  )
  @Response<ProblemDetails>(404, 'No such tenant, or it is being deleted (`not_found`)', undefined, [
    'application/problem+json',
  ])
  @Response<ProblemDetails, { 'x-request-id': string; 'idempotent-replayed'?: string }>(
    409,
    'A request with this Idempotency-Key is in progress (`idempotency_in_progress`), or already created a key (`idempotency_secret_not_replayable`: the key is shown once and never replayed)',
    undefined,
    ['application/problem+json'],
  )
  async createApiKey(
    @Path() tenantId: string,
    @Body() body: CreateApiKeyRequest,
    @Header('Idempotency-Key') _idempotencyKey?: string,
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
   * @param cursor The `next_cursor` of the previous page.
   * @pattern cursor ^(0|[1-9][0-9]{0,14})_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$
   */
  @Get()
  @OperationId('listApiKeys')
  @SuccessResponse<{ 'x-request-id': string }>(200, 'Ok')
  @Response<ProblemDetails>(404, 'No such tenant, or it is being deleted (`not_found`)', undefined, [
    'application/problem+json',
  ])
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
  @OperationId('revokeApiKey')
  @SuccessResponse<{ 'x-request-id': string }>(204, 'Revoked')
  @Response<ProblemDetails>(404, 'No such tenant or key (`not_found`)', undefined, [
    'application/problem+json',
  ])
  async revokeApiKey(@Path() tenantId: string, @Path() keyId: string): Promise<void> {
    await this.tenants.revokeApiKey(tenantId, keyId);
    this.setStatus(204);
  }
}
