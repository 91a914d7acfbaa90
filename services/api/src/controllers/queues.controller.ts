import type { DeadLettersService } from '@platform/core';
import {
  Controller,
  Delete,
  Get,
  OperationId,
  Path,
  Post,
  Query,
  Response,
  Route,
  Security,
  Tags,
} from '@tsoa/runtime';
import type { DeadLetter, DeadLetterList, QueueKind, QueueList } from '../models/admin.models.js';
import type { ProblemDetails } from '../models/problem.js';

@Route('v1/queues')
@Tags('Queues')
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
export class QueuesController extends Controller {
  constructor(private readonly deadLetters: DeadLettersService) {
    super();
  }

  /** The task queues: messages waiting and dead letters of each. */
  @Get()
  @OperationId('listQueues')
  async listQueues(): Promise<QueueList> {
    return { data: await this.deadLetters.queueInfo() };
  }

  /**
   * A queue's dead letters, newest first.
   * @param limit How many, 1-200 (default 50).
   * @isInt limit
   * @minimum limit 1
   * @maximum limit 200
   */
  @Get('{queue}/dead-letters')
  @OperationId('listDeadLetters')
  async listDeadLetters(@Path() queue: QueueKind, @Query() limit?: number): Promise<DeadLetterList> {
    return this.deadLetters.list(queue, limit);
  }

  /**
   * Puts a dead letter back on its queue with its retries reset; it leaves the dead-letter list.
   * @param deadLetterId The dead letter's `id` (from the list).
   * @pattern deadLetterId ^[0-9a-f]{32}$
   */
  @Post('{queue}/dead-letters/{deadLetterId}/requeue')
  @Response<ProblemDetails>(404, 'No such dead letter (already requeued or discarded)', undefined, [
    'application/problem+json',
  ])
  @Response<ProblemDetails>(
    409,
    'Not a task message: it can only be discarded (`dead_letter_not_requeueable`)',
    undefined,
    ['application/problem+json'],
  )
  @OperationId('requeueDeadLetter')
  async requeueDeadLetter(@Path() queue: QueueKind, @Path() deadLetterId: string): Promise<DeadLetter> {
    return this.deadLetters.requeue(queue, deadLetterId);
  }

  /**
   * Deletes a dead letter for good.
   * @param deadLetterId The dead letter's `id` (from the list).
   * @pattern deadLetterId ^[0-9a-f]{32}$
   */
  @Delete('{queue}/dead-letters/{deadLetterId}')
  @Response<ProblemDetails>(404, 'No such dead letter (already requeued or discarded)', undefined, [
    'application/problem+json',
  ])
  @OperationId('discardDeadLetter')
  async discardDeadLetter(@Path() queue: QueueKind, @Path() deadLetterId: string): Promise<DeadLetter> {
    return this.deadLetters.discard(queue, deadLetterId);
  }
}
