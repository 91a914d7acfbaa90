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
/** The set of `<tenant id>:<day>` hashes the flush reads. */
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

  constructor(private readonly redis: Redis) {
    if (!(redis as unknown as Record<string, unknown>).platformUsageAdd) {
      redis.defineCommand('platformUsageAdd', { numberOfKeys: 2, lua: ADD });
    }
    const command = (redis as unknown as { platformUsageAdd: AddCommand }).platformUsageAdd;
    this.add = command.bind(redis);
    if (!(redis as unknown as Record<string, unknown>).platformUsageAddMany) {
      redis.defineCommand('platformUsageAddMany', { lua: ADD_MANY });
    }
    const many = (redis as unknown as { platformUsageAddMany: AddManyCommand }).platformUsageAddMany;
    this.addMany = many.bind(redis);
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

  /** Every tenant-day in the index, and the members whose hash has expired. */
  async readAll(): Promise<{ readings: CounterReading[]; expired: string[] }> {
    const members = await this.redis.smembers(INDEX);
    const readings: CounterReading[] = [];
    const expired: string[] = [];
    for (let i = 0; i < members.length; i += 500) {
      const chunk = members.slice(i, i + 500);
      const pipeline = this.redis.pipeline();
      for (const member of chunk) pipeline.hgetall(`${PREFIX}${member}`);
      const results = (await pipeline.exec()) ?? [];
      chunk.forEach((member, j) => {
        const [err, hash] = results[j] ?? [];
        if (err) throw err;
        const sep = member.lastIndexOf(':');
        const reading = this.toReading(
          member.slice(0, sep),
          member.slice(sep + 1),
          hash as Record<string, string>,
        );
        if (reading) readings.push(reading);
        else expired.push(member);
      });
    }
    return { readings, expired };
  }

  /** Drops tenant-days from the index (their last reading is flushed). */
  async forget(tenantDays: Array<{ tenantId: string; day: string } | string>): Promise<void> {
    const members = tenantDays.map((t) => (typeof t === 'string' ? t : `${t.tenantId}:${t.day}`));
    if (members.length > 0) await this.redis.srem(INDEX, ...members);
  }

  private toReading(
    tenantId: string,
    day: string,
    hash: Record<string, string> | undefined,
  ): CounterReading | undefined {
    if (!hash?.epoch) return undefined;
    const counts = emptyCounts();
    for (const metric of Object.keys(counts) as UsageMetric[]) {
      counts[metric] = Math.max(0, Number(hash[metric] ?? 0));
    }
    return { tenantId, day, epoch: hash.epoch, counts };
  }
}
