import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  DEAD_LETTER_HEADER,
  DEAD_LETTERS_DROPPED_KEY,
  DEATHS_HEADER,
  DEFAULT_DEAD_LETTER_MAX_LENGTH,
  type DeadLetterLimits,
  PUSH_DEAD_LETTER_LUA,
} from './dead-letters.js';
import { LuaScript } from './lua.js';
import { type Envelope, FAIR_SLOT_HEADER } from './protocol.js';
import { PRIORITY_SEPARATOR, PRIORITY_STEPS, priorityList, queueKeys } from './queue-keys.js';

export { DEAD_LETTER_HEADER, DEATHS_HEADER, PRIORITY_SEPARATOR, PRIORITY_STEPS, queueKeys };

/**
 * kombu's Redis transport, with its late-ack emulation, so that Python Celery workers sharing the
 * Redis cooperate with this one:
 * - a queue is a list; producers LPUSH, consumers pop from the right; priority sub-queues are
 *   `<queue>\x06\x16<3|6|9>`;
 * - a delivered message is kept in the `unacked` hash (`tag -> [envelope, exchange, routing_key]`)
 *   and the `unacked_index` sorted set (`tag -> delivery time`) until it is acknowledged;
 * - any consumer puts back messages whose delivery is older than the visibility timeout.
 * Unlike kombu, popping and recording a delivery happen in one Lua script, so a consumer that dies
 * between the two loses nothing; consumers refresh the delivery time of what they still hold; and
 * a restore is one script that puts a delivery back only while it is recorded as it was read (and,
 * for the visibility timeout, still not refreshed), so consumers of this package never take
 * kombu's `unacked_mutex`: a Python consumer's restore is never held up by one of them (one
 * killed while holding that lock would block kombu's restores until the lock expires).
 *
 * What kombu lacks, for consumers of this package: each consumer announces itself with a
 * heartbeat key that expires and records the deliveries it holds (`<prefix>:<id>:held`, tag ->
 * `reserved` | `running`), in the same script that reserves them. Any consumer restores the
 * deliveries of a consumer whose heartbeat expired, within seconds rather than a visibility
 * timeout; a message that was running each time its consumer died `maxDeaths` times goes to the
 * dead-letter list instead of killing the next one. kombu's visibility timeout still covers
 * Python consumers. Dead-letter lists are bounded (dead-letters.ts): every push keeps the newest
 * `maxLength` entries and counts what it dropped.
 */
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

// KEYS: unacked, unacked_index, dead-letter list, held hash, dropped dead letters hash, then the
// queue lists. ARGV: now (seconds), '1' when the held hash is kept, dead-letter list max length,
// most messages to take. Pops from the first non-empty list on, up to that many, and returns a
// flat list of (kind, raw) pairs: kind 'ok' (tracked) or 'dead' (unparseable, moved to the
// dead-letter list, counted against the most).
const RESERVE_SCRIPT = new LuaScript(`${PUSH_DEAD_LETTER_LUA}
local out = {}
local most = tonumber(ARGV[4])
local taken = 0
for i = 6, #KEYS do
  while taken < most do
    local raw = redis.call('RPOP', KEYS[i])
    if not raw then break end
    taken = taken + 1
    local ok, msg = pcall(cjson.decode, raw)
    local tag = ok and type(msg) == 'table' and type(msg.properties) == 'table' and msg.properties.delivery_tag
    if type(tag) ~= 'string' then
      push_dead_letter(KEYS[3], KEYS[5], raw, tonumber(ARGV[3]))
      out[#out + 1] = 'dead'
    else
      local info = msg.properties.delivery_info
      local ex, rk = '', KEYS[i]
      if type(info) == 'table' then
        if type(info.exchange) == 'string' then ex = info.exchange end
        if type(info.routing_key) == 'string' then rk = info.routing_key end
      end
      redis.call('HSET', KEYS[1], tag, '[' .. raw .. ',' .. cjson.encode(ex) .. ',' .. cjson.encode(rk) .. ']')
      redis.call('ZADD', KEYS[2], ARGV[1], tag)
      if ARGV[2] == '1' then redis.call('HSET', KEYS[4], tag, 'reserved') end
      out[#out + 1] = 'ok'
    end
    out[#out + 1] = raw
  end
  if taken >= most then break end
end
return out
`);

// KEYS: unacked_index, unacked, held hash (or a placeholder), dead-letter list, dropped hash.
// ARGV: tag, payload, max length, '1' when the held hash is kept.
const ACK_AND_DEAD_LETTER_SCRIPT = new LuaScript(`${PUSH_DEAD_LETTER_LUA}
push_dead_letter(KEYS[4], KEYS[5], ARGV[2], tonumber(ARGV[3]))
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if ARGV[4] == '1' then redis.call('HDEL', KEYS[3], ARGV[1]) end
return 1
`);

// KEYS: unacked, unacked_index, dropped dead letters hash, then the lists of every item in turn.
// ARGV: the newest delivery time restored ('' for any), dead-letter list max length, then per item:
// tag, the unacked entry as read ('' when there was none), mode ('rpush', 'lpush' or 'dead'),
// how many lists it goes to, payload. An item is put back (pushed, its delivery forgotten) only
// while its unacked entry is still the one read and, with a time, its delivery is not newer: a
// delivery acknowledged, restored or refreshed meanwhile is left alone. An index entry without an
// unacked entry (read as '') is dropped. Returns one 1 or 0 per item.
const RESTORE_SCRIPT = new LuaScript(`${PUSH_DEAD_LETTER_LUA}
local out = {}
local k = 4
local newest = tonumber(ARGV[1])
local i = 3
while i + 4 <= #ARGV do
  local tag, expected, mode, n, payload = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]), ARGV[i + 4]
  local current = redis.call('HGET', KEYS[1], tag)
  local same = (current == false and expected == '') or current == expected
  if same and newest then
    local score = redis.call('ZSCORE', KEYS[2], tag)
    same = score ~= false and tonumber(score) <= newest
  end
  if same then
    if expected ~= '' then
      for j = k, k + n - 1 do
        if mode == 'dead' then push_dead_letter(KEYS[j], KEYS[3], payload, tonumber(ARGV[2]))
        elseif mode == 'lpush' then redis.call('LPUSH', KEYS[j], payload)
        else redis.call('RPUSH', KEYS[j], payload) end
      end
    end
    redis.call('ZREM', KEYS[2], tag)
    redis.call('HDEL', KEYS[1], tag)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
  k = k + n
  i = i + 5
end
return out
`);

/** A delivery to put back, as `RESTORE_SCRIPT` takes it. */
interface RestoreItem {
  tag: string;
  /** The unacked entry as read; '' when there was none (its index entry is dropped). */
  stored: string;
  mode: 'rpush' | 'lpush' | 'dead';
  lists: string[];
  payload: string;
}

const RELEASE_MUTEX_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export type Reserved = { kind: 'ok' | 'dead'; raw: string };

/** A consumer that heartbeats and records what it holds. */
export interface ConsumerIdentity {
  id: string;
  /** Key prefix of the consumer registry, shared by every consumer of the same Redis. */
  prefix?: string;
}

export const CONSUMERS_PREFIX = 'platform:consumers';

export const FAIR_RELEASED_CHANNEL = 'platform:fair:released';

export interface FairSlot {
  key: string;
  member: string;
}

/** The fairness slot a message holds, if any (see `FAIR_SLOT_HEADER`). */
export function fairSlotOf(envelope: Envelope | undefined): FairSlot | undefined {
  const slot = envelope?.headers?.[FAIR_SLOT_HEADER] as Partial<FairSlot> | undefined;
  return slot && typeof slot.key === 'string' && typeof slot.member === 'string'
    ? { key: slot.key, member: slot.member }
    : undefined;
}

export interface ReapResult {
  consumers: number;
  restored: number;
  deadLettered: number;
  /**
   * The messages dead-lettered (`killed_consumers`), as pushed: what they were about has to be
   * closed by whoever owns it (a prediction left running, for one).
   */
  deadLetters: Envelope[];
}

const consumerKeys = (prefix: string, id: string) => ({
  alive: `${prefix}:${id}:alive`,
  held: `${prefix}:${id}:held`,
  reaper: `${prefix}:${id}:reaper`,
});

function nowSeconds(): number {
  return Date.now() / 1000;
}

export class KombuRedisTransport {
  private readonly consumerPrefix: string;
  private readonly held: string | undefined;
  private readonly deadLetters: Required<DeadLetterLimits>;

  constructor(
    private readonly redis: Redis,
    readonly keys: TransportKeys = KOMBU_KEYS,
    private readonly consumer?: ConsumerIdentity,
    options: { deadLetters?: Partial<DeadLetterLimits> } = {},
  ) {
    this.consumerPrefix = consumer?.prefix ?? CONSUMERS_PREFIX;
    this.held = consumer ? consumerKeys(this.consumerPrefix, consumer.id).held : undefined;
    this.deadLetters = {
      maxLength: options.deadLetters?.maxLength ?? DEFAULT_DEAD_LETTER_MAX_LENGTH,
      droppedKey: options.deadLetters?.droppedKey ?? DEAD_LETTERS_DROPPED_KEY,
    };
  }

  /** Nothing of its own to close: the transport runs on its caller's connection. */
  async close(): Promise<void> {}

  /** LPUSHes a message onto its queue (the routing key of its delivery info). */
  async publish(envelope: Envelope): Promise<void> {
    await this.redis.lpush(this.listFor(envelope), JSON.stringify(envelope));
  }

  /** LPUSHes several messages in one round trip (a MULTI: all or none). */
  async publishMany(envelopes: Envelope[]): Promise<void> {
    if (envelopes.length === 0) return;
    const tx = this.redis.multi();
    const now = nowSeconds();
    for (const envelope of envelopes) {
      tx.lpush(this.listFor(envelope), JSON.stringify(envelope));
      const slot = fairSlotOf(envelope);
      if (slot) tx.zadd(slot.key, now, slot.member);
    }
    const results = await tx.exec();
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw failed?.[0] ?? new Error('publish transaction aborted');
  }

  private listFor(envelope: Envelope): string {
    return priorityList(envelope.properties.delivery_info.routing_key, envelope.properties.priority ?? 0);
  }

  /** Pops one message from the first non-empty list of `queue` and records its delivery atomically. */
  async reserve(queue: string, deadLetterQueue: string): Promise<Reserved | null> {
    return (await this.reserveMany(queue, deadLetterQueue, 1))[0] ?? null;
  }

  /**
   * Pops up to `most` messages of `queue` (highest priority first) and records their deliveries,
   * in one script: one round trip for a batch of deliveries. Unparseable ones are moved to the
   * dead-letter list and returned as `dead` (they count against `most`).
   */
  async reserveMany(queue: string, deadLetterQueue: string, most: number): Promise<Reserved[]> {
    const res = (await RESERVE_SCRIPT.run(
      this.redis,
      [
        this.keys.unacked,
        this.keys.unackedIndex,
        deadLetterQueue,
        this.held ?? `${this.consumerPrefix}:none`,
        this.deadLetters.droppedKey,
        ...queueKeys(queue),
      ],
      [String(nowSeconds()), this.held ? '1' : '0', String(this.deadLetters.maxLength), String(most)],
    )) as string[] | null;
    const reserved: Reserved[] = [];
    if (!res) return reserved;
    for (let i = 0; i + 1 < res.length; i += 2)
      reserved.push({ kind: res[i] as Reserved['kind'], raw: res[i + 1] as string });
    return reserved;
  }

  /**
   * Waits until the list `queue` (a queue or one of its priority sub-queues) has a message,
   * without taking it (BLMOVE of the list onto itself).
   * Must run on a connection of its own: it blocks up to `timeoutSeconds`.
   */
  async waitForMessage(blocking: Redis, queue: string, timeoutSeconds: number): Promise<boolean> {
    const item = await blocking.blmove(queue, queue, 'RIGHT', 'RIGHT', timeoutSeconds);
    return item !== null;
  }

  /**
   * Acknowledges a delivery: the message is done and forgotten. `envelope` is the message as it was
   * delivered: its fairness slot (`FAIR_SLOT_HEADER`), if it holds one, is released in the same
   * transaction.
   */
  async ack(tag: string, envelope: Envelope): Promise<void> {
    await this.ackMany([{ tag, envelope }]);
  }

  /**
   * Acknowledges several deliveries in one transaction (one round trip), releasing the fairness
   * slot of each; a group whose slots were released is announced once.
   */
  async ackMany(deliveries: Array<{ tag: string; envelope: Envelope }>): Promise<void> {
    if (deliveries.length === 0) return;
    const tags = deliveries.map((d) => d.tag);
    const tx = this.redis
      .multi()
      .zrem(this.keys.unackedIndex, ...tags)
      .hdel(this.keys.unacked, ...tags);
    if (this.held) tx.hdel(this.held, ...tags);
    const released = new Map<string, string[]>();
    for (const { envelope } of deliveries) {
      const slot = fairSlotOf(envelope);
      if (!slot) continue;
      const members = released.get(slot.key) ?? [];
      members.push(slot.member);
      released.set(slot.key, members);
    }
    for (const [key, members] of released) tx.zrem(key, ...members).publish(FAIR_RELEASED_CHANNEL, key);
    await tx.exec();
  }

  /**
   * Acknowledges a delivery and, in the same transaction, pushes `next` (a retry) and releases the
   * fairness slot of the delivered `envelope`.
   */
  async ackAndPush(tag: string, list: string, next: Envelope | string, envelope: Envelope): Promise<void> {
    const payload = typeof next === 'string' ? next : JSON.stringify(next);
    const tx = this.redis
      .multi()
      .lpush(list, payload)
      .zrem(this.keys.unackedIndex, tag)
      .hdel(this.keys.unacked, tag);
    if (this.held) tx.hdel(this.held, tag);
    this.releaseSlot(tx, envelope);
    await tx.exec();
  }

  /**
   * Acknowledges a delivery and, in the same step, pushes `message` onto the dead-letter list
   * `list`, which keeps its newest entries only (the dropped ones are counted). The fairness slot
   * of the delivered `envelope` is released right after; `null` when the delivery did not parse
   * as a message at all (it can hold no slot then).
   */
  async ackAndDeadLetter(
    tag: string,
    list: string,
    message: Envelope | string,
    envelope: Envelope | null,
  ): Promise<void> {
    const payload = typeof message === 'string' ? message : JSON.stringify(message);
    await ACK_AND_DEAD_LETTER_SCRIPT.run(
      this.redis,
      [
        this.keys.unackedIndex,
        this.keys.unacked,
        this.held ?? `${this.consumerPrefix}:none`,
        list,
        this.deadLetters.droppedKey,
      ],
      [tag, payload, String(this.deadLetters.maxLength), this.held ? '1' : '0'],
    );
    if (envelope && fairSlotOf(envelope)) {
      const tx = this.redis.multi();
      this.releaseSlot(tx, envelope);
      await tx.exec();
    }
  }

  private releaseSlot(tx: ReturnType<Redis['multi']>, envelope: Envelope): void {
    const slot = fairSlotOf(envelope);
    if (slot) tx.zrem(slot.key, slot.member).publish(FAIR_RELEASED_CHANNEL, slot.key);
  }

  /** Announces this consumer as alive for `ttlMs`. */
  async heartbeat(ttlMs: number): Promise<void> {
    if (!this.consumer) throw new Error('heartbeat needs a consumer identity');
    const keys = consumerKeys(this.consumerPrefix, this.consumer.id);
    await this.redis
      .multi()
      .sadd(this.consumerPrefix, this.consumer.id)
      .set(keys.alive, String(Date.now()), 'PX', ttlMs)
      .exec();
  }

  /** Records that a held delivery has started running (it counts if this consumer dies). */
  async markRunning(tag: string): Promise<void> {
    if (this.held) await this.redis.hset(this.held, tag, 'running');
  }

  /** Records that several held deliveries have started running, in one command. */
  async markRunningMany(tags: string[]): Promise<void> {
    if (this.held && tags.length > 0)
      await this.redis.hset(this.held, ...tags.flatMap((t) => [t, 'running']));
  }

  /** Leaves the registry (after a clean stop, once everything held was acked or restored). */
  async retire(): Promise<void> {
    if (!this.consumer) return;
    const keys = consumerKeys(this.consumerPrefix, this.consumer.id);
    await this.redis.multi().del(keys.alive, keys.held).srem(this.consumerPrefix, this.consumer.id).exec();
  }

  /**
   * Restores the deliveries of every consumer whose heartbeat expired. A delivery that was
   * running has its deaths counted in its headers; at `maxDeaths` it goes to the dead-letter list
   * of its queue instead. One reaper per dead consumer at a time.
   */
  async reapDeadConsumers(
    maxDeaths: number,
    deadLetterQueue: (queue: string) => string,
  ): Promise<ReapResult> {
    const result: ReapResult = { consumers: 0, restored: 0, deadLettered: 0, deadLetters: [] };
    const ids = await this.redis.smembers(this.consumerPrefix);
    for (const id of ids) {
      if (id === this.consumer?.id) continue;
      const keys = consumerKeys(this.consumerPrefix, id);
      if ((await this.redis.exists(keys.alive)) === 1) continue;
      const token = randomUUID();
      if ((await this.redis.set(keys.reaper, token, 'PX', 30_000, 'NX')) !== 'OK') continue;
      try {
        const held = await this.redis.hgetall(keys.held);
        for (const [tag, state] of Object.entries(held)) {
          let diverted: Envelope | undefined;
          const outcome = await this.restore(tag, false, (payload, queue) => {
            diverted = undefined;
            if (state !== 'running') return undefined;
            const deaths = Number(payload.headers[DEATHS_HEADER] ?? 0) + 1;
            payload.headers[DEATHS_HEADER] = deaths;
            if (deaths < maxDeaths) return undefined;
            payload.headers[DEAD_LETTER_HEADER] = {
              reason: 'killed_consumers',
              error: `the message was running when its consumer died ${deaths} times`,
              at: new Date().toISOString(),
            };
            diverted = payload;
            return deadLetterQueue(queue);
          });
          if (outcome === 'dead') {
            result.deadLettered++;
            if (diverted) {
              result.deadLetters.push(diverted);
              // It will not run again: its fairness slot is free (a restored one keeps it).
              if (fairSlotOf(diverted)) {
                const tx = this.redis.multi();
                this.releaseSlot(tx, diverted);
                await tx.exec();
              }
            }
          } else if (outcome) result.restored++;
          await this.redis.hdel(keys.held, tag);
        }
        await this.redis.multi().del(keys.held).srem(this.consumerPrefix, id).exec();
        result.consumers++;
      } finally {
        await this.redis.eval(RELEASE_MUTEX_SCRIPT, 1, keys.reaper, token);
      }
    }
    return result;
  }

  /** Marks deliveries as still held, so that no consumer restores them. */
  async touch(tags: string[]): Promise<void> {
    if (tags.length === 0) return;
    const now = nowSeconds();
    await this.redis.zadd(this.keys.unackedIndex, 'XX', ...tags.flatMap((t) => [now, t]));
  }

  /**
   * Puts a delivered message back on its queue, flagged as redelivered: at the consumer end
   * (`leftmost` false, like kombu's restore) or at the far end. Atomic: one script that puts it
   * back only while its delivery is recorded as it was read (otherwise it reads it again).
   */
  restore(tag: string, leftmost?: boolean): Promise<boolean>;
  /** With `divert`: returns the list to push to instead of the queue (a dead-letter list), if any. */
  restore(
    tag: string,
    leftmost: boolean,
    divert: (payload: Envelope, queue: string) => string | undefined,
  ): Promise<boolean | 'dead'>;
  async restore(
    tag: string,
    leftmost = false,
    divert?: (payload: Envelope, queue: string) => string | undefined,
  ): Promise<boolean | 'dead'> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const stored = await this.redis.hget(this.keys.unacked, tag);
      const item = await this.restoreItem(tag, stored, leftmost, divert);
      const [done] = await this.runRestore([item]);
      if (done) return stored === null ? false : item.mode === 'dead' ? 'dead' : item.lists.length > 0;
    }
    throw new Error(`could not restore ${tag}: its delivery kept changing`);
  }

  /** What putting back the delivery `tag`, recorded as `stored` (null: not recorded), takes. */
  private async restoreItem(
    tag: string,
    stored: string | null,
    leftmost: boolean,
    divert?: (payload: Envelope, queue: string) => string | undefined,
  ): Promise<RestoreItem> {
    if (stored === null) return { tag, stored: '', mode: 'rpush', lists: [], payload: '' };
    const [payload, exchange, routingKey] = JSON.parse(stored) as [Envelope, string, string];
    payload.headers.redelivered = true;
    if (payload.properties?.delivery_info) payload.properties.delivery_info.redelivered = true;
    const deadList = divert?.(payload, payload.properties?.delivery_info?.routing_key ?? routingKey);
    if (deadList) return { tag, stored, mode: 'dead', lists: [deadList], payload: JSON.stringify(payload) };
    const lists = (await this.lookup(exchange, routingKey)).map((queue) =>
      this.listFor({
        ...payload,
        properties: { ...payload.properties, delivery_info: { exchange, routing_key: queue } },
      }),
    );
    return { tag, stored, mode: leftmost ? 'lpush' : 'rpush', lists, payload: JSON.stringify(payload) };
  }

  /** Runs `RESTORE_SCRIPT` for `items`; with `newest`, only deliveries not newer than it go back. */
  private async runRestore(items: RestoreItem[], newest?: number): Promise<boolean[]> {
    const keys = [this.keys.unacked, this.keys.unackedIndex, this.deadLetters.droppedKey];
    const args: Array<string | number> = [
      newest === undefined ? '' : String(newest),
      this.deadLetters.maxLength,
    ];
    for (const item of items) {
      keys.push(...item.lists);
      args.push(item.tag, item.stored, item.mode, item.lists.length, item.payload);
    }
    const done = (await RESTORE_SCRIPT.run(this.redis, keys, args)) as number[];
    return done.map((d) => d === 1);
  }

  /** Queues bound to `exchange` with `routingKey`, as kombu's Redis transport records bindings. */
  private async lookup(exchange: string, routingKey: string): Promise<string[]> {
    if (!exchange) return [routingKey];
    const members = await this.redis.smembers(`_kombu.binding.${exchange}`);
    const queues = members
      .map((m) => m.split(PRIORITY_SEPARATOR))
      .filter(([rk]) => rk === routingKey || rk === '')
      .map(([, , queue]) => queue as string);
    return queues.length > 0 ? [...new Set(queues)] : [routingKey];
  }

  /**
   * Restores deliveries older than `visibilityTimeoutSeconds` (their consumer died or stopped
   * refreshing them), at most `limit` per call, in one script: only those still recorded as read
   * and still not refreshed go back, so two consumers restoring at once never restore one twice,
   * and no lock is taken (kombu's `unacked_mutex` is left to kombu). Returns how many were restored.
   */
  async restoreVisible(visibilityTimeoutSeconds: number, limit = 100): Promise<number> {
    const newest = nowSeconds() - visibilityTimeoutSeconds;
    const tags = await this.redis.zrangebyscore(this.keys.unackedIndex, 0, newest, 'LIMIT', 0, limit);
    if (tags.length === 0) return 0;
    const stored = await this.redis.hmget(this.keys.unacked, ...tags);
    const items: RestoreItem[] = [];
    for (const [i, tag] of tags.entries()) {
      try {
        items.push(await this.restoreItem(tag, stored[i] ?? null, false));
      } catch {
        // An entry that does not parse is left where it is, as kombu would fail on it too.
      }
    }
    const done = await this.runRestore(items, newest);
    return items.filter((item, i) => done[i] && item.lists.length > 0).length;
  }

  /** Messages waiting in `queue` (all priorities). */
  async depth(queue: string): Promise<number> {
    const pipeline = this.redis.pipeline();
    for (const key of queueKeys(queue)) pipeline.llen(key);
    const results = (await pipeline.exec()) ?? [];
    return results.reduce((sum, [, n]) => sum + (typeof n === 'number' ? n : 0), 0);
  }
}
