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
  /** Seconds of `resetMs`, at least 1. */
  resetSeconds: number;
  /**
   * Admitted: milliseconds until the budget is whole again. Exceeded: milliseconds until its next
   * request is admitted (`Retry-After`).
   */
  resetMs: number;
  /** Milliseconds until the budget is whole again (how long a 429 is held, at most). */
  drainMs: number;
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
   * budget is whole again, capped by this (0: answer at once). See `hold`.
   */
  holdMaxMs?: number;
  /**
   * How long a lease of a busy budget lasts (see `RateLimits`); 0 counts every request in Redis.
   */
  leaseMs?: number;
}

/** Past this many 429s held at once in one process, the next ones are answered at once. */
export const MAX_HELD_REJECTIONS = 2_000;

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/**
 * GCRA (the generic cell rate algorithm) for the budgets of every request counted in one turn of
 * the event loop, in one call. A budget of `quota` requests per `window` ms admits one request per
 * `window / quota` ms, with bursts of up to `quota`: the key holds its theoretical arrival time
 * (TAT, ms), a request is admitted while TAT - now stays within the window, and each admitted one
 * moves TAT on by one interval (a refused one does not). So a client above its rate is admitted
 * evenly, one request per interval, never as a burst when a fixed window starts again.
 * ARGV[1] is the window in ms, then per key: how many requests it asks for (the batch's, plus a
 * lease), its quota, and how many unused leased ones it gives back first (TAT moves back by that
 * many intervals, never before now). Returns per key: TAT - now before the batch (ms, as a string:
 * fractional), and how many were admitted (the first ones). Now is Redis's clock, shared by every
 * replica.
 */
const CONSUME_SCRIPT = `
local time = redis.call('time')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local window = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  local n = tonumber(ARGV[3 * i - 1])
  local interval = window / tonumber(ARGV[3 * i])
  local refund = tonumber(ARGV[3 * i + 1])
  local tat = tonumber(redis.call('get', key) or '0') or 0
  local changed = false
  if refund > 0 and tat > now then
    tat = math.max(now, tat - refund * interval)
    changed = true
  end
  local base = math.max(tat, now)
  local admitted = math.floor((now + window - base) / interval + 1e-6)
  if admitted > n then admitted = n end
  if admitted < 0 then admitted = 0 end
  local next = base + admitted * interval
  if admitted > 0 or changed then
    if next > now then
      redis.call('set', key, string.format('%.3f', next), 'PX', math.ceil(next - now) + 1)
    else
      redis.call('del', key)
    end
  end
  out[#out + 1] = string.format('%.3f', base - now)
  out[#out + 1] = admitted
end
return out
`;

/** A request waiting for the batch it is counted in: its keys, and where its counts go. */
interface Waiting {
  keys: string[];
  quotas: number[];
  resolve(states: Counted[] | undefined): void;
}

/**
 * What this process holds of one budget key: a lease (requests Redis already admitted for it, not
 * yet handed out) and how many requests it saw lately (its demand).
 */
interface KeyState {
  quota: number;
  /** Leased requests left, handed out until `expires` (ms, this process's clock). */
  tokens: number;
  expires: number;
  grantedAt: number;
  /** The lease's last request as Redis counted it: remaining, and ms until the budget is whole. */
  remainingAfter: number;
  aheadAfter: number;
  /** Unused leased requests to give back in the next call. */
  refund: number;
  /** Requests seen in the current and in the previous lease period. */
  periodStart: number;
  seen: number;
  seenBefore: number;
}

/** One request's result on one budget. */
export interface Counted {
  remaining: number;
  resetMs: number;
  drainMs: number;
  exceeded: boolean;
}

type ConsumeCommand = (
  numberOfKeys: number,
  ...args: Array<string | number>
) => Promise<Array<string | number>>;

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
 * in Redis by GCRA (`CONSUME_SCRIPT`), so every replica shares them; the requests of one turn of
 * the event loop are counted together by one Lua script in one round trip. A request's keys share
 * a hash tag (the tenant id): on Redis Cluster a batch would be split by it.
 *
 * A busy budget is leased: when this process asks Redis for a key's requests, it also asks for as
 * many more as it saw on that key in the last lease period (`leaseMs`), at most what the budget
 * earns back in one lease period (quota x leaseMs / window). Redis admits them like any others;
 * the process then hands them out to its next requests on that key without a round trip, until
 * the lease is used or expires, and gives back what expired unused. So no replica ever admits more
 * than the budget (a leased request was admitted in Redis first); the cost is that another replica
 * may be refused, for at most one lease period, what this one holds unused. A key seeing few
 * requests gets no lease, and counts each in Redis as before.
 *
 * While Redis is not ready, or when the call fails, rate-limiter-flexible's in-process limiters
 * with the same budgets take over (each replica then enforces the budget on its own, in fixed
 * windows) instead of failing the request. Failed authentications are counted by
 * rate-limiter-flexible's Redis limiter, with the same fallback.
 */
export class RateLimits {
  private readonly budgets = new Map<string, Budget>();
  private readonly pairs = new Map<string, [Budget, Budget]>();
  private readonly authFailures: RateLimiterRedis;
  /** Client addresses past their failure budget, refused without checking credentials, until then. */
  private readonly blocked = new Map<string, number>();
  private readonly consume: ConsumeCommand;
  /** Requests of this turn of the event loop, counted together when it ends. */
  private waiting: Waiting[] = [];
  /** Whether a flush is due at the end of this turn. */
  private flushDue = false;
  /** 429s being held now (see `hold`). */
  private held = 0;
  private readonly leaseMs: number;
  private readonly keys = new Map<string, KeyState>();
  private sweeper: NodeJS.Timeout | undefined;

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
    this.leaseMs = options.leaseMs ?? 0;
  }

  get enabled(): boolean {
    return this.options.enabled;
  }

  /** Whether any client address is refused at the moment (most of the time none is). */
  get anyBlocked(): boolean {
    return this.blocked.size > 0;
  }

  /** Stops the timer that gives back expired leases (their requests are then not given back). */
  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
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
   * Hands out one leased request of `key`, when its lease has one left; also counts the request
   * in the key's demand. Undefined: the request must be counted in Redis.
   */
  private fromLease(key: string, quota: number, now: number): Counted | undefined {
    if (this.leaseMs <= 0) return undefined;
    let state = this.keys.get(key);
    if (!state) {
      state = {
        quota,
        tokens: 0,
        expires: 0,
        grantedAt: 0,
        remainingAfter: 0,
        aheadAfter: 0,
        refund: 0,
        periodStart: now,
        seen: 0,
        seenBefore: 0,
      };
      this.keys.set(key, state);
      this.sweeper ??= setInterval(() => this.sweep(), this.leaseMs).unref();
    }
    if (now - state.periodStart >= this.leaseMs) {
      state.seenBefore = now - state.periodStart < 2 * this.leaseMs ? state.seen : 0;
      state.seen = 0;
      state.periodStart = now;
    }
    state.seen++;
    if (state.tokens === 0) return undefined;
    if (now >= state.expires) {
      state.refund += state.tokens;
      state.tokens = 0;
      return undefined;
    }
    state.tokens--;
    const interval = (this.options.windowSeconds * 1000) / quota;
    const ahead = Math.max(0, state.aheadAfter - state.tokens * interval - (now - state.grantedAt));
    return {
      remaining: state.remainingAfter + state.tokens,
      resetMs: ahead,
      drainMs: ahead,
      exceeded: false,
    };
  }

  /** How many requests beyond its batch to ask for on a key: its lease. */
  private leaseSize(state: KeyState | undefined): number {
    if (!state || this.leaseMs <= 0) return 0;
    const earned = Math.floor((state.quota * this.leaseMs) / (this.options.windowSeconds * 1000));
    return Math.min(earned, Math.max(state.seen, state.seenBefore));
  }

  /** Gives back what expired leases left unused, and forgets keys idle for two lease periods. */
  private sweep(): void {
    const now = Date.now();
    let refunds = false;
    for (const [key, state] of this.keys) {
      if (state.tokens > 0 && now >= state.expires) {
        state.refund += state.tokens;
        state.tokens = 0;
      }
      if (state.refund > 0) refunds = true;
      else if (state.tokens === 0 && now - state.periodStart >= 2 * this.leaseMs) this.keys.delete(key);
    }
    if (refunds && this.redis.status === 'ready') this.scheduleFlush();
    if (this.keys.size === 0) this.close();
  }

  private scheduleFlush(): void {
    if (this.flushDue) return;
    this.flushDue = true;
    setImmediate(() => this.flush());
  }

  /**
   * Counts the requests of one turn of the event loop in one Redis call (`setImmediate`: after
   * every socket that was ready has been read). Each request gets the result it would have got
   * alone: of the n requests of a batch on a key, the first ones are admitted while the budget
   * lasts, in order. Undefined (the call failed) sends the batch to the in-process fallback.
   */
  private countInBatch(keys: string[], quotas: number[]): Promise<Counted[] | undefined> {
    return new Promise((resolve) => {
      this.waiting.push({ keys, quotas, resolve });
      this.scheduleFlush();
    });
  }

  private flush(): void {
    this.flushDue = false;
    const batch = this.waiting;
    this.waiting = [];
    const perKey = new Map<string, { n: number; quota: number; extra: number; refund: number }>();
    for (const w of batch) {
      w.keys.forEach((key, i) => {
        const entry = perKey.get(key);
        if (entry) entry.n++;
        else perKey.set(key, { n: 1, quota: w.quotas[i] as number, extra: 0, refund: 0 });
      });
    }
    for (const [key, entry] of perKey) {
      const state = this.keys.get(key);
      entry.extra = this.leaseSize(state);
    }
    for (const [key, state] of this.keys) {
      if (state.refund === 0) continue;
      const entry = perKey.get(key);
      if (entry) entry.refund = state.refund;
      else perKey.set(key, { n: 0, quota: state.quota, extra: 0, refund: state.refund });
      state.refund = 0;
    }
    if (perKey.size === 0) return;
    const keys = [...perKey.keys()];
    const windowMs = this.options.windowSeconds * 1000;
    const args = [...perKey.values()].flatMap((e) => [e.n + e.extra, e.quota, e.refund]);
    this.consume(keys.length, ...keys, windowMs, ...args).then(
      (out) => {
        const now = Date.now();
        // Per key: TAT - now before the batch, how many were admitted, and how many were seen.
        const state = new Map<string, { debt: number; admitted: number; seen: number; interval: number }>();
        keys.forEach((key, i) => {
          const entry = perKey.get(key) as { n: number; quota: number; extra: number };
          const s = {
            debt: Number(out[2 * i]),
            admitted: Number(out[2 * i + 1]),
            seen: 0,
            interval: windowMs / entry.quota,
          };
          state.set(key, s);
          const leased = s.admitted - entry.n;
          const held = this.keys.get(key);
          if (leased > 0 && held) {
            const last = gcraResult(windowMs, s.interval, s.debt, s.admitted, s.admitted);
            held.tokens += leased;
            held.expires = now + this.leaseMs;
            held.grantedAt = now;
            held.remainingAfter = last.remaining;
            held.aheadAfter = last.resetMs;
          }
        });
        for (const w of batch) {
          w.resolve(
            w.keys.map((key) => {
              const s = state.get(key) as { debt: number; admitted: number; seen: number; interval: number };
              s.seen++;
              return gcraResult(windowMs, s.interval, s.debt, s.admitted, s.seen);
            }),
          );
        }
      },
      () => {
        for (const w of batch) w.resolve(undefined);
      },
    );
  }

  /** A plan's key and tenant budgets of one kind. */
  private budgetPair(plan: Plan, kind: RequestKind): [Budget, Budget] {
    const id = `${plan}:${kind}`;
    let pair = this.pairs.get(id);
    if (!pair) {
      pair = [this.budget('key', plan, kind), this.budget('tenant', plan, kind)];
      this.pairs.set(id, pair);
    }
    return pair;
  }

  /**
   * Counts one request against its key's and its tenant's budget of its kind. When both budgets
   * have leased requests left in this process the result is there at once (no promise, no round
   * trip); otherwise the missing counts come from Redis, or from the fallback.
   */
  request(
    keyId: string,
    tenantId: string,
    plan: Plan,
    kind: RequestKind,
  ): PolicyState[] | Promise<PolicyState[]> {
    const budgets = this.budgetPair(plan, kind);
    if (this.redis.status !== 'ready')
      return this.countRest(budgets, [], [undefined, undefined], keyId, tenantId);
    const base = `${this.options.keyPrefix}:{${tenantId}}`;
    const keys = [`${base}:gcra-key-${kind}:${keyId}`, `${base}:gcra-tenant-${kind}`];
    const now = Date.now();
    const counts = [
      this.fromLease(keys[0] as string, budgets[0].quota, now),
      this.fromLease(keys[1] as string, budgets[1].quota, now),
    ];
    if (counts[0] && counts[1])
      return [this.policyState(budgets[0], counts[0]), this.policyState(budgets[1], counts[1])];
    return this.countRest(budgets, keys, counts, keyId, tenantId);
  }

  /** Counts in Redis (when `keys` are given) the budgets `counts` lacks, then in the fallback what is still missing. */
  private async countRest(
    budgets: [Budget, Budget],
    keys: string[],
    counts: Array<Counted | undefined>,
    keyId: string,
    tenantId: string,
  ): Promise<PolicyState[]> {
    const missing = [0, 1].filter((i) => !counts[i]);
    if (keys.length > 0 && missing.length > 0) {
      const counted = await this.countInBatch(
        missing.map((i) => keys[i] as string),
        missing.map((i) => budgets[i]?.quota as number),
      );
      if (counted) {
        missing.forEach((i, j) => {
          counts[i] = counted[j];
        });
      }
    }
    for (let i = 0; i < budgets.length; i++) {
      if (!counts[i]) counts[i] = await fallback(budgets[i] as Budget, i === 0 ? keyId : tenantId);
    }
    return budgets.map((b, i) => this.policyState(b, counts[i] as Counted));
  }

  private policyState(b: Budget, c: Counted): PolicyState {
    return {
      name: b.name,
      policy: b.policy,
      quota: b.quota,
      windowSeconds: this.options.windowSeconds,
      remaining: c.remaining,
      resetSeconds: seconds(c.resetMs),
      resetMs: c.resetMs,
      drainMs: c.drainMs,
      exceeded: c.exceeded,
    };
  }

  /**
   * Holds a rejection for up to `waitMs` (until the spent budget is whole again), at most
   * `holdMaxMs`, and resolves with the milliseconds it held. A client that ignores `Retry-After`
   * and asks again at once (a flood, a retry loop) then costs one timer per connection instead of
   * a request per round trip: its excess is slowed to about one request per connection per hold,
   * and the other tenants keep the CPU. Each hold is a random part of that time, between half and
   * all of it: rejections that arrived together (a flood's connections, all refused in one turn)
   * would otherwise come back together, be refused together and stay in step, every hold, in bursts
   * that delay everyone's requests on the process. Holding is bounded per process
   * (`MAX_HELD_REJECTIONS`); past it a rejection is answered at once.
   */
  async hold(waitMs: number): Promise<number> {
    const longest = Math.min(Math.max(0, waitMs), this.options.holdMaxMs ?? 0);
    if (longest < 1 || this.held >= MAX_HELD_REJECTIONS) return 0;
    const ms = Math.max(1, Math.floor(longest * (0.5 + Math.random() / 2)));
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

/**
 * The `seen`-th request of a batch on a GCRA budget (1-based) whose TAT was `debt` ms ahead of
 * now before the batch, and of which the first `admitted` got through.
 */
export function gcraResult(
  windowMs: number,
  interval: number,
  debt: number,
  admitted: number,
  seen: number,
): Counted {
  const base = Math.max(0, debt);
  if (seen <= admitted) {
    const ahead = base + seen * interval;
    return {
      remaining: Math.max(0, Math.floor((windowMs - ahead) / interval + 1e-6)),
      resetMs: ahead,
      drainMs: ahead,
      exceeded: false,
    };
  }
  const ahead = base + admitted * interval;
  return {
    remaining: 0,
    // The next request is admitted once TAT + one interval is back within the window.
    resetMs: Math.max(1, ahead + interval - windowMs),
    drainMs: ahead,
    exceeded: true,
  };
}

/** The in-process limiter's fixed window: its count, and the time left of the window. */
async function fallback(budget: Budget, id: string): Promise<Counted> {
  const res = await budget.fallback.consume(id).catch((err: unknown) => {
    if (err instanceof RateLimiterRes) return err;
    throw err;
  });
  return {
    remaining: Math.max(budget.quota - res.consumedPoints, 0),
    resetMs: res.msBeforeNext,
    drainMs: res.msBeforeNext,
    exceeded: res.consumedPoints > budget.quota,
  };
}
