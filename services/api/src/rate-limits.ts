import { AUTH_FAILURE_LIMIT, PLAN_RATE_LIMITS, type Plan } from '@platform/core';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export type RequestKind = 'read' | 'write';

/** One budget's state after a request, for the RateLimit-Policy / RateLimit headers. */
export interface PolicyState {
  /** `key-read`, `tenant-write`, ... */
  name: string;
  quota: number;
  windowSeconds: number;
  remaining: number;
  /** Seconds until the window ends. */
  resetSeconds: number;
  exceeded: boolean;
}

export interface RateLimitsOptions {
  enabled: boolean;
  windowSeconds: number;
  /** Prefix of the Redis keys, shared by every replica of one platform. */
  keyPrefix: string;
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/**
 * The API's rate limits (rate-limiter-flexible): fixed windows counted in Redis by one atomic
 * Lua call per budget, so every replica shares them. Each Redis limiter has an in-process
 * limiter with the same budget as its insurance: when Redis is not ready, or a call to it fails,
 * counting goes on in this process (each replica then enforces the budget on its own) instead of
 * failing the request.
 */
export class RateLimits {
  private readonly limiters = new Map<string, RateLimiterRedis>();
  private readonly authFailures: RateLimiterRedis;
  /** Client addresses past their failure budget, refused without checking credentials, until then. */
  private readonly blocked = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    readonly options: RateLimitsOptions,
  ) {
    this.authFailures = this.limiter(
      'auth-failures',
      AUTH_FAILURE_LIMIT.attempts,
      AUTH_FAILURE_LIMIT.windowSeconds,
    );
  }

  get enabled(): boolean {
    return this.options.enabled;
  }

  private limiter(name: string, points: number, duration: number): RateLimiterRedis {
    const keyPrefix = `${this.options.keyPrefix}:${name}`;
    return new RateLimiterRedis({
      storeClient: this.redis,
      keyPrefix,
      points,
      duration,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration }),
    });
  }

  private budget(scope: 'key' | 'tenant', plan: Plan, kind: RequestKind): RateLimiterRedis {
    const name = `${scope}-${kind}:${plan}`;
    let limiter = this.limiters.get(name);
    if (!limiter) {
      limiter = this.limiter(name, PLAN_RATE_LIMITS[plan][scope][kind], this.options.windowSeconds);
      this.limiters.set(name, limiter);
    }
    return limiter;
  }

  /** Counts one request against its key's and its tenant's budget of its kind. */
  async request(keyId: string, tenantId: string, plan: Plan, kind: RequestKind): Promise<PolicyState[]> {
    const budgets = [
      { name: `key-${kind}`, limiter: this.budget('key', plan, kind), id: keyId },
      { name: `tenant-${kind}`, limiter: this.budget('tenant', plan, kind), id: tenantId },
    ];
    const results = await Promise.allSettled(budgets.map((b) => b.limiter.consume(b.id)));
    return budgets.map((b, i) => {
      const result = results[i] as PromiseSettledResult<RateLimiterRes>;
      const exceeded = result.status === 'rejected';
      if (exceeded && !(result.reason instanceof RateLimiterRes)) throw result.reason;
      const res = (exceeded ? result.reason : result.value) as RateLimiterRes;
      return {
        name: b.name,
        quota: b.limiter.points,
        windowSeconds: b.limiter.duration,
        remaining: res.remainingPoints,
        resetSeconds: seconds(res.msBeforeNext),
        exceeded,
      };
    });
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
