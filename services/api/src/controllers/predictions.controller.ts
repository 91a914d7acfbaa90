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
export class PredictionsController extends Controller {
  constructor(private readonly predictions: PredictionsService) {
    super();
  }

  /**
   * Queues a prediction. The model must exist and every input must fit its input schema; poll
   * `GET /v1/predictions/{id}` until `succeeded` or `failed`.
   */
  @Post()
  @Middlewares(idempotent)
  @Security('api_key', ['write'])
  @Response<ProblemDetails>(401, 'Missing or wrong API key', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(403, 'The key lacks the scope, or the tenant is not ready', undefined, [
    'application/problem+json',
  ])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @OperationId('createPrediction')
  @Response<ProblemDetails, { 'Retry-After'?: string; 'RateLimit-Policy'?: string; RateLimit?: string }>(
    429,
    "Rate limited (`rate_limited`), the plan's `predictions_per_day` quota is reached (`quota_exceeded`), or the plan's number of predictions waiting to run is reached (`too_many_queued`, retry after `Retry-After`); nothing was queued",
    undefined,
    ['application/problem+json'],
  )
  @SuccessResponse<{ 'RateLimit-Policy'?: string; RateLimit?: string }>(202, 'Queued')
  @Response<ProblemDetails>(503, 'The model catalog is unavailable', undefined, ['application/problem+json'])
  async createPrediction(
    @Body() body: CreatePredictionRequest,
    /** Makes retries safe: a repeated request with the same key gets the first response. */ @Header(
      'Idempotency-Key',
    )
    _idempotencyKey?: string,
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
   */
  @Get()
  @Security('api_key', ['read'])
  @SuccessResponse<{ 'RateLimit-Policy'?: string; RateLimit?: string }>(200, 'Ok')
  @Response<ProblemDetails>(401, 'Missing or wrong API key', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(403, 'The key lacks the scope, or the tenant is not ready', undefined, [
    'application/problem+json',
  ])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @Response<ProblemDetails, { 'Retry-After': string; 'RateLimit-Policy'?: string; RateLimit?: string }>(
    429,
    'Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often',
    undefined,
    ['application/problem+json'],
  )
  @OperationId('listPredictions')
  async listPredictions(@Query() limit?: number, @Query() cursor?: string): Promise<PredictionList> {
    const page = await this.predictions.list(limit, cursor);
    return { data: page.data.map(toPrediction), next_cursor: page.next_cursor };
  }

  @Get('{predictionId}')
  @Security('api_key', ['read'])
  @SuccessResponse<{ 'RateLimit-Policy'?: string; RateLimit?: string }>(200, 'Ok')
  @Response<ProblemDetails>(401, 'Missing or wrong API key', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(403, 'The key lacks the scope, or the tenant is not ready', undefined, [
    'application/problem+json',
  ])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @Response<ProblemDetails, { 'Retry-After': string; 'RateLimit-Policy'?: string; RateLimit?: string }>(
    429,
    'Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often',
    undefined,
    ['application/problem+json'],
  )
  @OperationId('getPrediction')
  @Response<ProblemDetails>(404, 'No such prediction', undefined, ['application/problem+json'])
  async getPrediction(@Path() predictionId: string): Promise<Prediction> {
    return toPrediction(await this.predictions.get(predictionId));
  }
}
