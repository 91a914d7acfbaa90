import type { Redis } from 'ioredis';
import { buildEnvelope, FAIR_SLOT_HEADER } from './protocol.js';
import { type FairSlot, KombuRedisTransport } from './transport.js';

export interface PublishOptions {
  id?: string;
  eta?: Date;
  countdownMs?: number;
  expires?: Date;
}

/** Sends Celery tasks to the queue their name routes to. */
export class CeleryPublisher {
  private readonly transport: KombuRedisTransport;

  constructor(
    redis: Redis,
    private readonly route: (task: string) => string,
  ) {
    this.transport = new KombuRedisTransport(redis);
  }

  async publish(
    task: string,
    kwargs: Record<string, unknown>,
    options: PublishOptions = {},
  ): Promise<string> {
    const eta = options.eta ?? (options.countdownMs ? new Date(Date.now() + options.countdownMs) : undefined);
    const envelope = buildEnvelope({
      task,
      kwargs,
      queue: this.route(task),
      id: options.id,
      eta,
      expires: options.expires,
    });
    await this.transport.publish(envelope);
    return envelope.headers.id;
  }

  /**
   * Publishes several tasks, each to the queue it names, in one round trip. A call with a `slot`
   * takes that fairness slot in the same transaction (released by the consumer's acknowledgement);
   * a `priority` (kombu's: 0 first, then 3, 6, 9) puts it on that priority list of its queue.
   */
  async publishMany(
    calls: Array<{
      id: string;
      task: string;
      queue: string;
      kwargs: Record<string, unknown>;
      slot?: FairSlot;
      priority?: number;
    }>,
  ): Promise<void> {
    await this.transport.publishMany(
      calls.map((c) =>
        buildEnvelope({
          task: c.task,
          kwargs: c.kwargs,
          queue: c.queue,
          id: c.id,
          headers: c.slot ? { [FAIR_SLOT_HEADER]: c.slot } : undefined,
          priority: c.priority,
        }),
      ),
    );
  }
}
