import { APIUserAbortError } from './errors.js';

/**
 * An AbortSignal that aborts when `parent` aborts or after `timeoutMs`, whichever comes first
 * (`AbortSignal.any`/`AbortSignal.timeout` by hand, for older runtimes). Call `dispose()` when done.
 */
export interface LinkedSignal {
  signal: AbortSignal;
  /** Whether the timeout (not the parent) aborted it. */
  timedOut(): boolean;
  dispose(): void;
}

export function linkSignal(parent: AbortSignal | undefined, timeoutMs?: number): LinkedSignal {
  const controller = new AbortController();
  let timedOut = false;
  const onAbort = () => controller.abort(parent?.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener('abort', onAbort, { once: true });
  const timer =
    timeoutMs !== undefined && Number.isFinite(timeoutMs)
      ? setTimeout(
          () => {
            timedOut = true;
            controller.abort();
          },
          Math.max(0, timeoutMs),
        )
      : undefined;
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    dispose() {
      if (timer !== undefined) clearTimeout(timer);
      parent?.removeEventListener('abort', onAbort);
    },
  };
}

/** Waits `ms`; rejects with APIUserAbortError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new APIUserAbortError());
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new APIUserAbortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
