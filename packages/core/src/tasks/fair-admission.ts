import type { Redis } from 'ioredis';
import type { FairGroup } from './outbox.repository.js';

/**
 * How many more messages of a (queue, fairness key) group the broker may hold now. The relay asks
 * before it admits keyed outbox entries (docs/tasks.md, "Fair queueing").
 */
export interface FairAdmission {
  /** Messages of one group the broker holds at most. */
  readonly slotsPerKey: number;
  /** Free slots of each group, in order. */
  freeSlots(groups: FairGroup[]): Promise<number[]>;
  /** The sorted set recording the group's admitted, unacknowledged messages. */
  slotKey(group: FairGroup): string;
}

export const FAIR_SLOTS_PREFIX = 'platform:fair';

export interface RedisFairSlotsOptions {
  /** Messages of one group the broker holds at most (published, not yet acknowledged). */
  perKey: number;
  /**
   * A slot taken longer ago than this is freed even if its release never came (a consumer that
   * died after taking the message, a message removed by hand): a lost release delays its group
   * for at most this long, never for good.
   */
  staleSeconds: number;
  prefix?: string;
}

/**
 * Slots in Redis, one sorted set per group (`platform:fair:<queue>:<key>`, member = task id,
 * score = publish time). The publish adds the member in the MULTI that pushes the message
 * (`FAIR_SLOT_HEADER` of `@platform/celery`); the consumer's acknowledgement removes it.
 */
export class RedisFairSlots implements FairAdmission {
  private readonly prefix: string;
  readonly slotsPerKey: number;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisFairSlotsOptions,
  ) {
    this.prefix = options.prefix ?? FAIR_SLOTS_PREFIX;
    this.slotsPerKey = options.perKey;
  }

  slotKey(group: FairGroup): string {
    return `${this.prefix}:${group.queue}:${group.key}`;
  }

  async freeSlots(groups: FairGroup[]): Promise<number[]> {
    if (groups.length === 0) return [];
    const staleBefore = Date.now() / 1000 - this.options.staleSeconds;
    const pipeline = this.redis.pipeline();
    for (const group of groups) {
      const key = this.slotKey(group);
      pipeline.zremrangebyscore(key, '-inf', `(${staleBefore}`).zcard(key);
    }
    const results = (await pipeline.exec()) ?? [];
    return groups.map((_, i) => {
      const [err, taken] = results[i * 2 + 1] ?? [new Error('no reply'), 0];
      if (err) throw err;
      return Math.max(0, this.options.perKey - Number(taken));
    });
  }
}
