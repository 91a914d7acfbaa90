import type { Prediction as PredictionRecord, PredictionsService } from '@platform/core';
import {
  Body,
  Controller,
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
import { idempotent } from '../middleware/idempotency.js';
import type {
  CreatePredictionRequest,
  Prediction,
  PredictionList,
  PredictionOutput,
  QueuedPrediction,
} from '../models/prediction.models.js';
import type { ProblemDetails } from '../models/problem.js';

function toPrediction(p: PredictionRecord): Prediction {
  return {
    id: p.id,
    model: p.model,
    model_version: p.model_version,
    status: p.status,
    inputs: p.input,
    output: p.output as PredictionOutput | null,
    error: p.error,
    attempts: p.attempts,
    created_at: p.created_at,
    completed_at: p.completed_at,
  };
}

@Route('v1/predictions')
@Tags('Predictions')
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
export class PredictionsController extends Controller {
  constructor(private readonly predictions: PredictionsService) {
    super();
  }

  /**
   * Queues a prediction. The model must be one of `GET /v1/models` and every instance must have
   * the model's feature count (`input_schema.count`) of finite numbers (422 otherwise, before
   * anything is queued); poll `Location` (`GET /v1/predictions/{id}`) until `succeeded` or `failed`.
   * @param _idempotencyKey Makes retries safe: a repeat with the same key gets the first response (see `idempotent-replayed`).
   * @pattern _idempotencyKey ^[\x21-\x7e]{1,255}$
   */
  @Post()
  @Middlewares(idempotent)
  @Security('api_key', ['write'])
  @OperationId('createPrediction')
  @SuccessResponse<{
    'x-request-id': string;
    'RateLimit-Policy'?: string;
    RateLimit?: string;
    'idempotent-replayed'?: string;
    Location: string;
  }>(202, 'Queued; `Location` is the prediction')
  @Response<ProblemDetails>(
    409,
    'An Idempotency-Key conflict (`idempotency_in_progress`, `idempotency_response_too_large`)',
    undefined,
    ['application/problem+json'],
  )
  @Response<
    ProblemDetails,
    { 'x-request-id': string; 'Retry-After': string; 'RateLimit-Policy'?: string; RateLimit?: string }
  >(
    429,
    "Rate limited (`rate_limited`), the plan's `predictions_per_day` quota is reached (`quota_exceeded`), or the plan's number of predictions waiting to run is reached (`too_many_queued`, retry after `Retry-After`); nothing was queued",
    undefined,
    ['application/problem+json'],
  )
  @Response<ProblemDetails, { 'x-request-id': string; 'Retry-After': string }>(
    503,
    'The model service is unavailable (`ml_gateway_unavailable`), or the database (`database_unavailable`, `query_timeout`); retry after `Retry-After`',
    undefined,
    ['application/problem+json'],
  )
  async createPrediction(
    @Body() body: CreatePredictionRequest,
    @Header('Idempotency-Key') _idempotencyKey?: string,
  ): Promise<QueuedPrediction> {
    const prediction = await this.predictions.create(body);
    this.setStatus(202);
    this.setHeader('Location', `/v1/predictions/${prediction.id}`);
    return { id: prediction.id, status: prediction.status };
  }

  /**
   * Lists the tenant's predictions, oldest first.
   * @param limit Page size, 1-200 (default 50).
   * @isInt limit
   * @minimum limit 1
   * @maximum limit 200
   * @param cursor The `next_cursor` of the previous page.
   * @pattern cursor ^(0|[1-9][0-9]{0,14})_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$
   */
  @Get()
  @Security('api_key', ['read'])
  @OperationId('listPredictions')
  @SuccessResponse<{ 'x-request-id': string; 'RateLimit-Policy'?: string; RateLimit?: string }>(200, 'Ok')
  async listPredictions(@Query() limit?: number, @Query() cursor?: string): Promise<PredictionList> {
    const page = await this.predictions.list(limit, cursor);
    return { data: page.data.map(toPrediction), next_cursor: page.next_cursor };
  }

  @Get('{predictionId}')
  @Security('api_key', ['read'])
  @OperationId('getPrediction')
  @SuccessResponse<{ 'x-request-id': string; 'RateLimit-Policy'?: string; RateLimit?: string }>(200, 'Ok')
  @Response<ProblemDetails>(404, 'No such prediction (`not_found`)', undefined, ['application/problem+json'])
  async getPrediction(@Path() predictionId: string): Promise<Prediction> {
    return toPrediction(await this.predictions.get(predictionId));
  }
}
