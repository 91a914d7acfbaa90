import { setTimeout as delay } from 'node:timers/promises';
import { AUTH_FAILURE_LIMIT, PLAN_RATE_LIMITS, type Plan } from '@platform/core';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export type RequestKind = 'read' | 'write';

/** One budget's state after a request, for the RateLimit-Policy / RateLimit headers. */
export interface PolicyState {
  /** `key-read`, `tenant-write`, ... */
  name: string;
  /** Its `RateLimit-Policy` item. */
  policy: string;
  quota: number;
  windowSeconds: number;
  remaining: number;
  /** Seconds until the window ends. */
  resetSeconds: number;
  /** Milliseconds until the window ends. */
  resetMs: number;
  exceeded: boolean;
}

export interface RateLimitsOptions {
  enabled: boolean;
  windowSeconds: number;
  /** Prefix of the Redis keys, shared by every replica of one platform. */
  keyPrefix: string;
  /** Failed authentications an address may make per minute before it is refused (429). */
  authFailures?: number;
  /**
   * How long a tenant request past its budget waits before its 429 is sent, at most: until its
   * window ends, capped by this (0: answer at once). See `hold`.
   */
  holdMaxMs?: number;
}

/** Past this many 429s held at once in one process, the next ones are answered at once. */
export const MAX_HELD_REJECTIONS = 2_000;

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/**
 * The budgets of every request counted in one turn of the event loop, in one call: for each key, a
 * fixed window (created with its expiry on the first request, `SET NX EX`), incremented by the
 * number of requests that count against it (`ARGV[i + 1]`), and its time left. Returns
 * [consumed, ms left] per key. The same counting as rate-limiter-flexible's Redis limiter.
 */
const CONSUME_SCRIPT = `
local out = {}
for i, key in ipairs(KEYS) do
  redis.call('set', key, 0, 'EX', ARGV[1], 'NX')
  local consumed = redis.call('incrby', key, ARGV[i + 1])
  local ttl = redis.call('pttl', key)
  if ttl < 0 then
    redis.call('expire', key, ARGV[1])
    ttl = ARGV[1] * 1000
  end
  out[#out + 1] = consumed
  out[#out + 1] = ttl
end
return out
`;

/** A request waiting for the batch it is counted in: its two keys, and where its counts go. */
interface Waiting {
  keys: [string, string];
  resolve(counts: number[] | undefined): void;
}

type ConsumeCommand = (numberOfKeys: number, ...args: Array<string | number>) => Promise<number[]>;

interface Budget {
  name: string;
  quota: number;
  /** Its `RateLimit-Policy` item, `"key-read";q=500;w=1`. */
  policy: string;
  /** The in-process limiter used while Redis cannot be reached. */
  fallback: RateLimiterMemory;
}

/**
 * The API's rate limits. A tenant request's two budgets (its key's and its tenant's) are counted
 * in Redis, so every replica shares them; the requests of one turn of the event loop are counted
 * together by one Lua script in one round trip. A request's keys share a hash tag (the tenant id):
 * on Redis Cluster a batch would be split by it. While Redis is not ready, or when the call
 * fails, rate-limiter-flexible's in-process limiters with the same budgets take over (each
 * replica then enforces the budget on its own) instead of failing the request. Failed
 * authentications are counted by rate-limiter-flexible's Redis limiter, with the same fallback.
 */
export class RateLimits {
  private readonly budgets = new Map<string, Budget>();
  private readonly authFailures: RateLimiterRedis;
  /** Client addresses past their failure budget, refused without checking credentials, until then. */
  private readonly blocked = new Map<string, number>();
  private readonly consume: ConsumeCommand;
  /** Requests of this turn of the event loop, counted together when it ends. */
  private waiting: Waiting[] = [];
  /** 429s being held now (see `hold`). */
  private held = 0;

  constructor(
    private readonly redis: Redis,
    readonly options: RateLimitsOptions,
  ) {
    const keyPrefix = `${options.keyPrefix}:auth-failures`;
    const points = options.authFailures ?? AUTH_FAILURE_LIMIT.attempts;
    const duration = AUTH_FAILURE_LIMIT.windowSeconds;
    this.authFailures = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix,
      points,
      duration,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration }),
    });
    if (!('platformRateLimit' in redis)) redis.defineCommand('platformRateLimit', { lua: CONSUME_SCRIPT });
    const command = (redis as unknown as { platformRateLimit: ConsumeCommand }).platformRateLimit;
    this.consume = command.bind(redis);
  }

  get enabled(): boolean {
    return this.options.enabled;
  }

  /** Whether any client address is refused at the moment (most of the time none is). */
  get anyBlocked(): boolean {
    return this.blocked.size > 0;
  }

  private budget(scope: 'key' | 'tenant', plan: Plan, kind: RequestKind): Budget {
    const id = `${scope}-${kind}:${plan}`;
    let budget = this.budgets.get(id);
    if (!budget) {
      const quota = PLAN_RATE_LIMITS[plan][scope][kind];
      budget = {
        name: `${scope}-${kind}`,
        quota,
        policy: `"${scope}-${kind}";q=${quota};w=${this.options.windowSeconds}`,
        fallback: new RateLimiterMemory({
          keyPrefix: id,
          points: quota,
          duration: this.options.windowSeconds,
        }),
      };
      this.budgets.set(id, budget);
    }
    return budget;
  }

  /**
   * Counts the requests of one turn of the event loop in one Redis call (`setImmediate`: after
   * every socket that was ready has been read). Each request gets the count it would have got
   * alone: the n-th request of a batch on a key sees the key's value before the batch plus n.
   * Undefined counts (the call failed) send the batch to the in-process fallback.
   */
  private countInBatch(keys: [string, string]): Promise<number[] | undefined> {
    return new Promise((resolve) => {
      if (this.waiting.length === 0) setImmediate(() => this.flush());
      this.waiting.push({ keys, resolve });
    });
  }

  private flush(): void {
    const batch = this.waiting;
    this.waiting = [];
    const increments = new Map<string, number>();
    for (const w of batch) {
      for (const key of w.keys) increments.set(key, (increments.get(key) ?? 0) + 1);
    }
    const keys = [...increments.keys()];
    this.consume(keys.length, ...keys, this.options.windowSeconds, ...increments.values()).then(
      (out) => {
        // Per key: the value before this batch, then one more for each request in order.
        const next = new Map<string, [number, number]>();
        keys.forEach((key, i) => {
          next.set(key, [Number(out[2 * i]) - (increments.get(key) ?? 0), Number(out[2 * i + 1])]);
        });
        for (const w of batch) {
          const counts: number[] = [];
          for (const key of w.keys) {
            const state = next.get(key) as [number, number];
            state[0] += 1;
            counts.push(state[0], state[1]);
          }
          w.resolve(counts);
        }
      },
      () => {
        for (const w of batch) w.resolve(undefined);
      },
    );
  }

  /** Counts one request against its key's and its tenant's budget of its kind. */
  async request(keyId: string, tenantId: string, plan: Plan, kind: RequestKind): Promise<PolicyState[]> {
    const key = this.budget('key', plan, kind);
    const tenant = this.budget('tenant', plan, kind);
    const window = this.options.windowSeconds;
    let counts: number[] | undefined;
    if (this.redis.status === 'ready') {
      const base = `${this.options.keyPrefix}:{${tenantId}}`;
      counts = await this.countInBatch([`${base}:key-${kind}:${keyId}`, `${base}:tenant-${kind}`]);
    }
    if (!counts) counts = [...(await fallback(key, keyId)), ...(await fallback(tenant, tenantId))];
    return [key, tenant].map((b, i) => {
      const consumed = Number(counts[2 * i]);
      return {
        name: b.name,
        policy: b.policy,
        quota: b.quota,
        windowSeconds: window,
        remaining: Math.max(b.quota - consumed, 0),
        resetSeconds: seconds(Number(counts[2 * i + 1])),
        resetMs: Number(counts[2 * i + 1]),
        exceeded: consumed > b.quota,
      };
    });
  }

  /**
   * Holds a rejection for `waitMs` (the time left in the spent window), at most `holdMaxMs`, and
   * resolves with the milliseconds it held. A client that ignores `Retry-After` and asks again at
   * once (a flood, a retry loop) then costs one timer per connection instead of a request per
   * round trip: its excess is slowed to about one request per connection per window, and the
   * other tenants keep the CPU. Holding is bounded per process (`MAX_HELD_REJECTIONS`); past it
   * a rejection is answered at once.
   */
  async hold(waitMs: number): Promise<number> {
    const ms = Math.floor(Math.min(Math.max(0, waitMs), this.options.holdMaxMs ?? 0));
    if (ms <= 0 || this.held >= MAX_HELD_REJECTIONS) return 0;
    this.held++;
    const started = Date.now();
    try {
      await delay(ms);
    } finally {
      this.held--;
    }
    return Date.now() - started;
  }

  /** Seconds the address must wait before it may try to authenticate again; 0 when it may. */
  blockedFor(address: string): number {
    const until = this.blocked.get(address);
    if (until === undefined) return 0;
    const left = until - Date.now();
    if (left > 0) return seconds(left);
    this.blocked.delete(address);
    return 0;
  }

  /** Counts a failed authentication; returns the seconds to wait when the address is past its budget. */
  async authenticationFailed(address: string): Promise<number> {
    try {
      await this.authFailures.consume(address);
      return 0;
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      if (this.blocked.size >= 10_000) this.blocked.clear();
      this.blocked.set(address, Date.now() + err.msBeforeNext);
      return seconds(err.msBeforeNext);
    }
  }
}

/** [consumed, ms left] from the in-process limiter. */
async function fallback(budget: Budget, id: string): Promise<[number, number]> {
  const res = await budget.fallback.consume(id).catch((err: unknown) => {
    if (err instanceof RateLimiterRes) return err;
    throw err;
  });
  return [res.consumedPoints, res.msBeforeNext];
}
