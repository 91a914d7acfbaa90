import { linkSignal, sleep } from './abort.js';
import { WaitTimeoutError } from './errors.js';
import type { RequestOptions } from './transport.js';

/** Options of `createAndWait` and `wait`: request options plus how to poll. */
export interface WaitOptions extends RequestOptions {
  /**
   * Overall deadline for reaching a final state (polls and their retries included); then a
   * `WaitTimeoutError` is thrown. (The per-request timeout is `requestTimeoutMs`.)
   */
  timeoutMs?: number;
  /** Per-request timeout of each poll, overriding the client's. */
  requestTimeoutMs?: number;
  /** Wait before the first poll; each further wait is 1.5x longer. Default 250 ms. */
  pollIntervalMs?: number;
  /** Cap of the wait between polls. Default 2,000 ms. */
  maxPollIntervalMs?: number;
}

export const DEFAULT_POLL_INTERVAL_MS = 250;
export const DEFAULT_MAX_POLL_INTERVAL_MS = 2_000;

/**
 * Calls `get` until `isDone(value)`, backing off between calls, within `options.timeoutMs`
 * (else `defaultTimeoutMs`). `sleepFirst` waits one interval before the first call.
 */
export async function pollUntil<T>(
  what: string,
  get: (options: RequestOptions) => Promise<T>,
  isDone: (value: T) => boolean,
  options: WaitOptions,
  defaultTimeoutMs: number,
  sleepFirst = false,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  const maxInterval = options.maxPollIntervalMs ?? DEFAULT_MAX_POLL_INTERVAL_MS;
  let interval = Math.min(options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS, maxInterval);
  const deadline = Date.now() + timeoutMs;
  const linked = linkSignal(options.signal, timeoutMs);
  const requestOptions: RequestOptions = {
    ...options,
    signal: linked.signal,
    timeoutMs: options.requestTimeoutMs,
  };
  let last: T | undefined;
  const giveUp = () => new WaitTimeoutError(`${what} did not finish within ${timeoutMs} ms`, last);
  try {
    for (let call = 0; ; call++) {
      if (call > 0 || sleepFirst) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw giveUp();
        await sleep(Math.min(interval, remaining), linked.signal);
        interval = Math.min(maxInterval, interval * 1.5);
      }
      last = await get(requestOptions);
      if (isDone(last)) return last;
    }
  } catch (err) {
    if (linked.timedOut() && !options.signal?.aborted) throw giveUp();
    throw err;
  } finally {
    linked.dispose();
  }
}
