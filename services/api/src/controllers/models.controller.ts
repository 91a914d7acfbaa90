import type { PredictionsService } from '@platform/core';
import {
  Controller,
  Get,
  OperationId,
  Response,
  Route,
  Security,
  SuccessResponse,
  Tags,
} from '@tsoa/runtime';
import type { ModelList } from '../models/prediction.models.js';
import type { ProblemDetails } from '../models/problem.js';

@Route('v1/models')
@Tags('Models')
@Response<ProblemDetails, { 'x-request-id': string }>(
  400,
  'The body is not JSON, or not a JSON object or array (`malformed_json`)',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string; 'WWW-Authenticate': string }>(
  401,
  'Missing or wrong API key (`missing_credentials`, `invalid_credentials`)',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string }>(
  403,
  'The key lacks the scope (`insufficient_scope`), or its tenant is not ready (`tenant_not_ready`)',
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
@Response<
  ProblemDetails,
  { 'x-request-id': string; 'Retry-After': string; 'RateLimit-Policy'?: string; RateLimit?: string }
>(
  429,
  'Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often; retry after `Retry-After`',
  undefined,
  'application/problem+json',
)
@Response<ProblemDetails, { 'x-request-id': string; 'Retry-After': string }>(
  503,
  "A dependency is unavailable (`database_unavailable`), or a query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After`",
  undefined,
  'application/problem+json',
)
export class ModelsController extends Controller {
  constructor(private readonly predictions: PredictionsService) {
    super();
  }

  /** The models predictions can use, with their input schemas. */
  @Get()
  @Security('api_key', ['read'])
  @OperationId('listModels')
  @SuccessResponse<{ 'x-request-id': string; 'RateLimit-Policy'?: string; RateLimit?: string }>(200, 'Ok')
  @Response<ProblemDetails, { 'x-request-id': string; 'Retry-After': string }>(
    503,
    'The model service is unavailable (`ml_gateway_unavailable`), or the database (`database_unavailable`); retry after `Retry-After`',
    undefined,
    ['application/problem+json'],
  )
  async listModels(): Promise<ModelList> {
    const models = await this.predictions.listModels();
    return {
      data: models.map((m) => ({
        name: m.name,
        version: m.version,
        kind: m.kind,
        input_schema: m.input_schema,
        output: m.output,
      })),
    };
  }
}
