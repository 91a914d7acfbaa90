import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Envelope } from './protocol.js';

/**
 * kombu's Redis transport, with its late-ack emulation, so that Python Celery workers sharing the
 * Redis cooperate with this one:
 * - a queue is a list; producers LPUSH, consumers pop from the right; priority sub-queues are
 *   `<queue>\x06\x16<3|6|9>`;
 * - a delivered message is kept in the `unacked` hash (`tag -> [envelope, exchange, routing_key]`)
 *   and the `unacked_index` sorted set (`tag -> delivery time`) until it is acknowledged;
 * - any consumer puts back messages whose delivery is older than the visibility timeout, one
 *   consumer at a time under the `unacked_mutex` lock.
 * Unlike kombu, popping and recording a delivery happen in one Lua script, so a consumer that dies
 * between the two loses nothing; and consumers refresh the delivery time of what they still hold.
 */
export const PRIORITY_SEPARATOR = '\x06\x16';
export const PRIORITY_STEPS = [0, 3, 6, 9] as const;

export interface TransportKeys {
  unacked: string;
  unackedIndex: string;
  unackedMutex: string;
}

export const KOMBU_KEYS: TransportKeys = {
  unacked: 'unacked',
  unackedIndex: 'unacked_index',
  unackedMutex: 'unacked_mutex',
};

/** The lists of a queue, highest priority first (kombu pops them in this order). */
export function queueKeys(queue: string): string[] {
  return PRIORITY_STEPS.map((p) => (p === 0 ? queue : `${queue}${PRIORITY_SEPARATOR}${p}`));
}

// KEYS: unacked, unacked_index, dead-letter list, then the queue lists. ARGV: now (seconds).
// Returns {kind, raw}: kind 'ok' (tracked) or 'dead' (unparseable, moved to the dead-letter list).
const RESERVE_SCRIPT = `
for i = 4, #KEYS do
  local raw = redis.call('RPOP', KEYS[i])
  if raw then
    local ok, msg = pcall(cjson.decode, raw)
    local tag = ok and type(msg) == 'table' and type(msg.properties) == 'table' and msg.properties.delivery_tag
    if type(tag) ~= 'string' then
      redis.call('LPUSH', KEYS[3], raw)
      return {'dead', raw}
    end
    local info = msg.properties.delivery_info
    local ex, rk = '', KEYS[i]
    if type(info) == 'table' then
      if type(info.exchange) == 'string' then ex = info.exchange end
      if type(info.routing_key) == 'string' then rk = info.routing_key end
    end
    redis.call('HSET', KEYS[1], tag, '[' .. raw .. ',' .. cjson.encode(ex) .. ',' .. cjson.encode(rk) .. ']')
    redis.call('ZADD', KEYS[2], ARGV[1], tag)
    return {'ok', raw}
  end
end
return false
`;

const RELEASE_MUTEX_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export type Reserved = { kind: 'ok' | 'dead'; raw: string };

function nowSeconds(): number {
  return Date.now() / 1000;
}

export class KombuRedisTransport {
  /** WATCH is per connection: restores use a connection of their own, one at a time. */
  private restoreConnection: Redis | undefined;
  private restoreChain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly redis: Redis,
    readonly keys: TransportKeys = KOMBU_KEYS,
  ) {}

  private get restoreRedis(): Redis {
    this.restoreConnection ??= this.redis.duplicate();
    return this.restoreConnection;
  }

  async close(): Promise<void> {
    await this.restoreChain.catch(() => undefined);
    await this.restoreConnection?.quit().catch(() => undefined);
  }

  /** LPUSHes a message onto its queue (the routing key of its delivery info). */
  async publish(envelope: Envelope): Promise<void> {
    await this.redis.lpush(this.listFor(envelope), JSON.stringify(envelope));
  }

  private listFor(envelope: Envelope): string {
    const queue = envelope.properties.delivery_info.routing_key;
    const priority = envelope.properties.priority ?? 0;
    const step = [...PRIORITY_STEPS].reverse().find((p) => p <= priority) ?? 0;
    return step === 0 ? queue : `${queue}${PRIORITY_SEPARATOR}${step}`;
  }

  /** Pops one message from the first non-empty list of `queue` and records its delivery atomically. */
  async reserve(queue: string, deadLetterQueue: string): Promise<Reserved | null> {
    const res = (await this.redis.eval(
      RESERVE_SCRIPT,
      3 + PRIORITY_STEPS.length,
      this.keys.unacked,
      this.keys.unackedIndex,
      deadLetterQueue,
      ...queueKeys(queue),
      String(nowSeconds()),
    )) as [string, string] | null;
    return res ? { kind: res[0] as Reserved['kind'], raw: res[1] } : null;
  }

  /**
   * Waits until `queue` has a message, without taking it (BLMOVE of the list onto itself).
   * Must run on a connection of its own: it blocks up to `timeoutSeconds`.
   */
  async waitForMessage(blocking: Redis, queue: string, timeoutSeconds: number): Promise<boolean> {
    const item = await blocking.blmove(queue, queue, 'RIGHT', 'RIGHT', timeoutSeconds);
    return item !== null;
  }

  /** Acknowledges a delivery: the message is done and forgotten. */
  async ack(tag: string): Promise<void> {
    await this.redis.multi().zrem(this.keys.unackedIndex, tag).hdel(this.keys.unacked, tag).exec();
  }

  /** Acknowledges a delivery and, in the same transaction, pushes `next` (a retry, a dead letter). */
  async ackAndPush(tag: string, list: string, next: Envelope | string): Promise<void> {
    const payload = typeof next === 'string' ? next : JSON.stringify(next);
    await this.redis
      .multi()
      .lpush(list, payload)
      .zrem(this.keys.unackedIndex, tag)
      .hdel(this.keys.unacked, tag)
      .exec();
  }

  /** Marks deliveries as still held, so that no consumer restores them. */
  async touch(tags: string[]): Promise<void> {
    if (tags.length === 0) return;
    const now = nowSeconds();
    await this.redis.zadd(this.keys.unackedIndex, 'XX', ...tags.flatMap((t) => [now, t]));
  }

  /**
   * Puts a delivered message back on its queue, flagged as redelivered: at the consumer end
   * (`leftmost` false, like kombu's restore) or at the far end. Atomic under WATCH, as in kombu.
   */
  restore(tag: string, leftmost = false): Promise<boolean> {
    const run = this.restoreChain.then(
      () => this.restoreNow(tag, leftmost),
      () => this.restoreNow(tag, leftmost),
    );
    this.restoreChain = run.catch(() => undefined);
    return run;
  }

  private async restoreNow(tag: string, leftmost: boolean): Promise<boolean> {
    const redis = this.restoreRedis;
    for (let attempt = 0; attempt < 10; attempt++) {
      await redis.watch(this.keys.unacked);
      const stored = await redis.hget(this.keys.unacked, tag);
      const tx = redis.multi().zrem(this.keys.unackedIndex, tag).hdel(this.keys.unacked, tag);
      let restored = false;
      if (stored) {
        const [payload, exchange, routingKey] = JSON.parse(stored) as [Envelope, string, string];
        payload.headers.redelivered = true;
        if (payload.properties?.delivery_info) payload.properties.delivery_info.redelivered = true;
        for (const queue of await this.lookup(exchange, routingKey)) {
          const key = this.listFor({
            ...payload,
            properties: { ...payload.properties, delivery_info: { exchange, routing_key: queue } },
          });
          if (leftmost) tx.lpush(key, JSON.stringify(payload));
          else tx.rpush(key, JSON.stringify(payload));
          restored = true;
        }
      }
      const result = await tx.exec();
      if (result !== null) return restored;
    }
    throw new Error(`could not restore ${tag}: the unacked hash kept changing`);
  }

  /** Queues bound to `exchange` with `routingKey`, as kombu's Redis transport records bindings. */
  private async lookup(exchange: string, routingKey: string): Promise<string[]> {
    if (!exchange) return [routingKey];
    const members = await this.restoreRedis.smembers(`_kombu.binding.${exchange}`);
    const queues = members
      .map((m) => m.split(PRIORITY_SEPARATOR))
      .filter(([rk]) => rk === routingKey || rk === '')
      .map(([, , queue]) => queue as string);
    return queues.length > 0 ? [...new Set(queues)] : [routingKey];
  }

  /**
   * Restores deliveries older than `visibilityTimeoutSeconds` (their consumer died), at most
   * `limit` per call, under kombu's `unacked_mutex`. Returns how many were restored.
   */
  async restoreVisible(visibilityTimeoutSeconds: number, limit = 100, mutexSeconds = 300): Promise<number> {
    const token = randomUUID();
    const locked = await this.redis.set(this.keys.unackedMutex, token, 'EX', mutexSeconds, 'NX');
    if (locked !== 'OK') return 0;
    try {
      const ceil = nowSeconds() - visibilityTimeoutSeconds;
      const tags = await this.redis.zrangebyscore(this.keys.unackedIndex, 0, ceil, 'LIMIT', 0, limit);
      let restored = 0;
      for (const tag of tags) if (await this.restore(tag)) restored++;
      return restored;
    } finally {
      await this.redis.eval(RELEASE_MUTEX_SCRIPT, 1, this.keys.unackedMutex, token);
    }
  }

  /** Messages waiting in `queue` (all priorities). */
  async depth(queue: string): Promise<number> {
    const pipeline = this.redis.pipeline();
    for (const key of queueKeys(queue)) pipeline.llen(key);
    const results = (await pipeline.exec()) ?? [];
    return results.reduce((sum, [, n]) => sum + (typeof n === 'number' ? n : 0), 0);
  }
}
