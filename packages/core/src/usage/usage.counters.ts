import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** What is metered, per tenant and UTC day. */
export const USAGE_METRICS = ['api_requests', 'events', 'predictions', 'prediction_instances'] as const;
export type UsageMetric = (typeof USAGE_METRICS)[number];
export type UsageAmounts = Partial<Record<UsageMetric, number>>;

/** The counters of one tenant and day as Redis holds them. */
export interface CounterReading {
  tenantId: string;
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  /** The counter generation: set once when the hash is created, new if Redis lost it. */
  epoch: string;
  counts: Record<UsageMetric, number>;
}

const PREFIX = 'platform:usage:';
/**
 * The set of `<tenant id>:<day>` hashes the flush reads: every count adds its tenant-day, and a
 * flush drops those whose hash has not changed since it read them (`FORGET_UNCHANGED`), so it
 * holds the tenant-days counted since their last flush, not every tenant with a live counter.
 */
const INDEX = 'platform:usage:index';
/** Counters outlive their day long enough for the last flushes of it. */
const TTL_SECONDS = 3 * 86_400;

/**
 * Adds to a tenant-day's counters, atomically. With a checked metric, adds nothing (and returns
 * 0) when that metric would pass the limit, so that concurrent requests cannot together cross a
 * quota. Returns {added (1|0), value of the checked metric before}.
 *   KEYS[1] the tenant-day hash, KEYS[2] the index
 *   ARGV[1] an epoch for a new hash, ARGV[2] its TTL, ARGV[3] its index member,
 *   ARGV[4] the checked metric ('' for none), ARGV[5] its limit, ARGV[6..] metric, amount pairs
 */
const ADD = `
local used = 0
if ARGV[4] ~= '' then
  used = tonumber(redis.call('HGET', KEYS[1], ARGV[4]) or '0')
  local amount = 0
  for i = 6, #ARGV, 2 do
    if ARGV[i] == ARGV[4] then amount = tonumber(ARGV[i + 1]) end
  end
  if used + amount > tonumber(ARGV[5]) then return {0, used} end
end
if redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1]) == 1 then
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
end
redis.call('SADD', KEYS[2], ARGV[3])
for i = 6, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
return {1, used}
`;

/**
 * Adds one metric's amounts to several tenant-days in one call, unchecked (for request counts).
 *   KEYS[1] the index, KEYS[2..] the tenant-day hashes
 *   ARGV[1] an epoch for a new hash, ARGV[2] the TTL, ARGV[3] the metric,
 *   then per hash its index member and its amount
 */
const ADD_MANY = `
for i = 2, #KEYS do
  local member = ARGV[2 * i]
  local amount = ARGV[2 * i + 1]
  if redis.call('HSETNX', KEYS[i], 'epoch', ARGV[1]) == 1 then
    redis.call('EXPIRE', KEYS[i], tonumber(ARGV[2]))
  end
  redis.call('SADD', KEYS[1], member)
  redis.call('HINCRBY', KEYS[i], ARGV[3], amount)
end
return #KEYS - 1
`;

type AddManyCommand = (numberOfKeys: number, ...args: Array<string | number>) => Promise<number>;

type AddCommand = (hash: string, index: string, ...args: Array<string | number>) => Promise<[number, number]>;

/**
 * Drops tenant-days from the index whose hash still holds what a flush read of it: its epoch and
 * counts as Redis returned them, joined by ':' (`signature`), '' when it had no hash (expired). A
 * tenant-day counted again since stays for the next flush. Returns how many were dropped.
 *   KEYS[1] the index, KEYS[2..] the tenant-day hashes
 *   ARGV[1] the length of the hashes' prefix (the rest of a hash's name is its index member),
 *   ARGV[2..] the signature read of each hash
 */
const FORGET_UNCHANGED = `
local skip = tonumber(ARGV[1])
local dropped = 0
for i = 2, #KEYS do
  local v = redis.call('HMGET', KEYS[i], 'epoch', ${USAGE_METRICS.map((m) => `'${m}'`).join(', ')})
  local signature = ''
  if v[1] then
    for m = 1, #v do
      if m > 1 then signature = signature .. ':' end
      signature = signature .. (v[m] or '')
    end
  end
  if signature == ARGV[i] then dropped = dropped + redis.call('SREM', KEYS[1], string.sub(KEYS[i], skip + 1)) end
end
return dropped
`;

/**
 * Reads several tenant-day hashes in one call: per hash, its epoch (false when it has none: the
 * hash expired) and its counts in USAGE_METRICS order.
 *   KEYS the tenant-day hashes
 */
const READ_MANY = `
local out = {}
for i = 1, #KEYS do
  out[i] = redis.call('HMGET', KEYS[i], 'epoch', ${USAGE_METRICS.map((m) => `'${m}'`).join(', ')})
end
return out
`;

type ReadManyCommand = (numberOfKeys: number, ...keys: string[]) => Promise<Array<Array<string | null>>>;

type ForgetCommand = (numberOfKeys: number, ...args: Array<string | number>) => Promise<number>;

/** What a flush read of one tenant-day in the index: its reading, or none (its hash expired). */
export interface IndexedReading {
  member: string;
  reading: CounterReading | undefined;
  /** The hash as read, for `forgetUnchanged` (see `FORGET_UNCHANGED`). */
  signature: string;
}

/**
 * A Lua script as a command of the connection (ioredis's `defineCommand`, once per connection:
 * it runs by EVALSHA, loading the script when Redis does not have it), bound to it. Without
 * `numberOfKeys`, the first argument of each call says how many keys follow.
 */
function scriptCommand<T extends (...args: never[]) => Promise<unknown>>(
  redis: Redis,
  name: string,
  lua: string,
  numberOfKeys?: number,
): T {
  const commands = redis as unknown as Record<string, T | undefined>;
  if (!commands[name])
    redis.defineCommand(name, numberOfKeys === undefined ? { lua } : { numberOfKeys, lua });
  return (commands[name] as T).bind(redis) as T;
}

/** Counts in USAGE_METRICS order as Redis holds them (absent is 0; a negative total reads as 0). */
function countsOf(values: ReadonlyArray<string | null | undefined>): Record<UsageMetric, number> {
  const counts = emptyCounts();
  USAGE_METRICS.forEach((metric, k) => {
    counts[metric] = Math.max(0, Number(values[k] ?? 0));
  });
  return counts;
}

function emptyCounts(): Record<UsageMetric, number> {
  return { api_requests: 0, events: 0, predictions: 0, prediction_instances: 0 };
}

/**
 * The live usage counters in Redis: one hash per tenant and UTC day holding a running total per
 * metric since the hash was created, and the hash's `epoch`. Totals only grow (but for the
 * release of a reservation whose write failed), so a reading can be applied to PostgreSQL any
 * number of times: see `applyUsageReadings`.
 */
export class UsageCounters {
  private readonly add: AddCommand;
  private readonly addMany: AddManyCommand;
  private readonly forgetUnchangedCommand: ForgetCommand;
  private readonly readMany: ReadManyCommand;

  constructor(private readonly redis: Redis) {
    this.add = scriptCommand<AddCommand>(redis, 'platformUsageAdd', ADD, 2);
    this.addMany = scriptCommand<AddManyCommand>(redis, 'platformUsageAddMany', ADD_MANY);
    this.forgetUnchangedCommand = scriptCommand<ForgetCommand>(
      redis,
      'platformUsageForgetUnchanged',
      FORGET_UNCHANGED,
    );
    this.readMany = scriptCommand<ReadManyCommand>(redis, 'platformUsageReadMany', READ_MANY);
  }

  /** Adds `amount` of one metric to each tenant-day, in one call (no quota is checked). */
  async incrementEach(
    metric: UsageMetric,
    amounts: ReadonlyArray<{ tenantId: string; day: string; amount: number }>,
  ): Promise<void> {
    if (amounts.length === 0) return;
    const keys: string[] = [INDEX];
    const args: Array<string | number> = [randomUUID(), TTL_SECONDS, metric];
    for (const { tenantId, day, amount } of amounts) {
      keys.push(`${PREFIX}${tenantId}:${day}`);
      args.push(`${tenantId}:${day}`, Math.trunc(amount));
    }
    await this.addMany(keys.length, ...keys, ...args);
  }

  /** Adds `amounts`; with `check`, only if `check.metric` stays within `check.limit`. */
  async increment(
    tenantId: string,
    day: string,
    amounts: UsageAmounts,
    check?: { metric: UsageMetric; limit: number },
  ): Promise<{ added: boolean; used: number }> {
    const pairs: Array<string | number> = [];
    for (const [metric, amount] of Object.entries(amounts)) {
      if (amount) pairs.push(metric, Math.trunc(amount));
    }
    const [added, used] = await this.add(
      `${PREFIX}${tenantId}:${day}`,
      INDEX,
      randomUUID(),
      TTL_SECONDS,
      `${tenantId}:${day}`,
      check?.metric ?? '',
      check?.limit ?? 0,
      ...pairs,
    );
    return { added: added === 1, used: Number(used) };
  }

  /** The counters of one tenant and day; undefined when Redis holds none. */
  async read(tenantId: string, day: string): Promise<CounterReading | undefined> {
    return this.toReading(tenantId, day, await this.redis.hgetall(`${PREFIX}${tenantId}:${day}`));
  }

  /**
   * The tenant-days in the index (counted since their last flush), read `chunkSize` at a time:
   * what a flush holds at once stays bounded however many tenants were counted.
   */
  async *readIndexed(chunkSize = 500): AsyncGenerator<IndexedReading[]> {
    const members = await this.redis.smembers(INDEX);
    for (let i = 0; i < members.length; i += chunkSize) {
      const chunk = members.slice(i, i + chunkSize);
      const values = await this.readMany(chunk.length, ...chunk.map((member) => `${PREFIX}${member}`));
      yield chunk.map((member, j) => {
        const read = values[j] ?? [];
        const [epoch, ...counts] = read;
        const sep = member.lastIndexOf(':');
        return {
          member,
          signature: epoch ? read.map((v) => v ?? '').join(':') : '',
          reading: epoch
            ? {
                tenantId: member.slice(0, sep),
                day: member.slice(sep + 1),
                epoch,
                counts: countsOf(counts),
              }
            : undefined,
        };
      });
    }
  }

  /**
   * Drops from the index the tenant-days that have not changed since `read` was taken of them (see
   * `FORGET_UNCHANGED`); call it once their readings are in PostgreSQL. Returns how many went.
   */
  async forgetUnchanged(read: readonly IndexedReading[]): Promise<number> {
    if (read.length === 0) return 0;
    const keys = [INDEX, ...read.map((r) => `${PREFIX}${r.member}`)];
    return this.forgetUnchangedCommand(keys.length, ...keys, PREFIX.length, ...read.map((r) => r.signature));
  }

  private toReading(
    tenantId: string,
    day: string,
    hash: Record<string, string> | undefined,
  ): CounterReading | undefined {
    if (!hash?.epoch) return undefined;
    return { tenantId, day, epoch: hash.epoch, counts: countsOf(USAGE_METRICS.map((m) => hash[m])) };
  }
}
