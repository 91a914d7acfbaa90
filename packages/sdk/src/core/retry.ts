import { parseRetryAfter } from './errors.js';

/** How failed attempts are retried. See the README's "Retries" section. */
export interface RetryPolicy {
  /** Retries after the first attempt (so `maxRetries + 1` attempts at most). Default 2. */
  maxRetries: number;
  /** Backoff before the first retry; doubles for each further one. Default 500 ms. */
  initialRetryDelayMs: number;
  /** Cap of the exponential backoff. Default 8 s. */
  maxRetryDelayMs: number;
  /**
   * The longest `Retry-After` honoured. A response asking for a longer wait is not retried: its
   * error is thrown at once (a `RateLimitError` carries `retryAfterMs`). Default 60 s.
   */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxRetries: 2,
  initialRetryDelayMs: 500,
  maxRetryDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
});

/**
 * Statuses worth another attempt: timeouts, rate limits and server errors. Not a quota that is
 * used up (429 `quota_exceeded`): it resets at a fixed time, or not at all (users).
 */
export function isRetryableStatus(status: number, code?: string): boolean {
  if (status === 429 && code === 'quota_exceeded') return false;
  if (status === 408 || status === 429 || status >= 500) return true;
  // The first request with this Idempotency-Key is still running on the server: ask again.
  return status === 409 && code === 'idempotency_in_progress';
}

/**
 * Exponential backoff with jitter: `initial * 2^retry`, capped at `max`, less a random 0-25%
 * (so clients that failed together do not retry together).
 */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const base = Math.min(policy.maxRetryDelayMs, policy.initialRetryDelayMs * 2 ** retry);
  return Math.round(base * (1 - 0.25 * random()));
}

/**
 * The wait before retry number `retry` (0-based) of a response with `headers`; `null` when the
 * server's `Retry-After` asks for more than `maxRetryAfterMs` (then it is not retried).
 */
export function retryDelay(retry: number, policy: RetryPolicy, headers?: Headers): number | null {
  const retryAfter = parseRetryAfter(headers?.get('retry-after'));
  if (retryAfter === null) return backoffDelay(retry, policy);
  return retryAfter <= policy.maxRetryAfterMs ? retryAfter : null;
}
