import type { DeadLetters } from '@platform/core';
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
export class QueuesController extends Controller {
  constructor(private readonly deadLetters: DeadLetters) {
    super();
  }

  /** The task queues: messages waiting and dead letters of each. */
  @Get()
  @Response<ProblemDetails>(401, 'Missing or wrong admin token', undefined, ['application/problem+json'])
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
  @Response<ProblemDetails>(401, 'Missing or wrong admin token', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @OperationId('listDeadLetters')
  async listDeadLetters(@Path() queue: QueueKind, @Query() limit?: number): Promise<DeadLetterList> {
    return this.deadLetters.list(queue, limit);
  }

  /** Puts a dead letter back on its queue with its retries reset; it leaves the dead-letter list. */
  @Post('{queue}/dead-letters/{deadLetterId}/requeue')
  @Response<ProblemDetails>(401, 'Missing or wrong admin token', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(404, 'No such dead letter (already requeued or discarded)', undefined, [
    'application/problem+json',
  ])
  @Response<ProblemDetails>(409, 'Not a task message: it can only be discarded', undefined, [
    'application/problem+json',
  ])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @OperationId('requeueDeadLetter')
  async requeueDeadLetter(@Path() queue: QueueKind, @Path() deadLetterId: string): Promise<DeadLetter> {
    return this.deadLetters.requeue(queue, deadLetterId);
  }

  /** Deletes a dead letter for good. */
  @Delete('{queue}/dead-letters/{deadLetterId}')
  @Response<ProblemDetails>(401, 'Missing or wrong admin token', undefined, ['application/problem+json'])
  @Response<ProblemDetails>(404, 'No such dead letter (already requeued or discarded)', undefined, [
    'application/problem+json',
  ])
  @Response<ProblemDetails>(422, 'Invalid input', undefined, ['application/problem+json'])
  @OperationId('discardDeadLetter')
  async discardDeadLetter(@Path() queue: QueueKind, @Path() deadLetterId: string): Promise<DeadLetter> {
    return this.deadLetters.discard(queue, deadLetterId);
  }
}
