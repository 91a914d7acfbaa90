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
export class ModelsController extends Controller {
  constructor(private readonly predictions: PredictionsService) {
    super();
  }

  /** The models predictions can use, with their input schemas. */
  @Get()
  @Security('api_key', ['read'])
  @SuccessResponse<{ 'RateLimit-Policy'?: string; RateLimit?: string }>(200, 'Ok')
  @Response<ProblemDetails>(401, 'Missing or wrong API key', undefined, ['application/problem+json'])
  @Response<ProblemDetails, { 'Retry-After': string; 'RateLimit-Policy'?: string; RateLimit?: string }>(
    429,
    'Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often',
    undefined,
    ['application/problem+json'],
  )
  @OperationId('listModels')
  @Response<ProblemDetails>(503, 'The model catalog is unavailable', undefined, ['application/problem+json'])
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
