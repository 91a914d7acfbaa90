import type { RequestOptions } from '../core/transport.js';
import type { DeadLetter, DeadLetterList, QueueInfo, QueueKind } from '../types.js';
import { APIResource, segment } from './resource.js';

/** The task queues and their dead letters (admin): `/v1/queues`. */
export class Queues extends APIResource {
  /** Each queue's waiting messages and dead letters. */
  async list(options?: RequestOptions): Promise<QueueInfo[]> {
    const body = await this.transport.get<{ data: QueueInfo[] }>('/v1/queues', undefined, options);
    return body.data;
  }

  /** A queue's dead letters, newest first (at most `limit`, default 50), and how many there are. */
  deadLetters(
    queue: QueueKind,
    params: { limit?: number } = {},
    options?: RequestOptions,
  ): Promise<DeadLetterList> {
    return this.transport.get(`/v1/queues/${segment(queue)}/dead-letters`, { limit: params.limit }, options);
  }

  /** Puts a dead letter back on its queue with its retries reset. `404 NotFoundError` once it is gone. */
  requeue(queue: QueueKind, deadLetterId: string, options?: RequestOptions): Promise<DeadLetter> {
    return this.transport.post(
      `/v1/queues/${segment(queue)}/dead-letters/${segment(deadLetterId)}/requeue`,
      undefined,
      options,
    );
  }

  /** Deletes a dead letter for good. */
  discard(queue: QueueKind, deadLetterId: string, options?: RequestOptions): Promise<DeadLetter> {
    return this.transport.delete(
      `/v1/queues/${segment(queue)}/dead-letters/${segment(deadLetterId)}`,
      options,
    );
  }
}
