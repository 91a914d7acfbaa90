import type { Redis } from 'ioredis';
import { LuaScript } from './lua.js';

/** Celery task states written to the result backend. */
export type TaskState = 'PENDING' | 'STARTED' | 'RETRY' | 'SUCCESS' | 'FAILURE' | 'REVOKED';

/** An exception as Celery's JSON serializer writes it; Python's AsyncResult re-raises it. */
export interface SerializedException {
  exc_type: string;
  exc_message: unknown[];
  exc_module: string | null;
}

export interface ResultMeta {
  status: TaskState;
  result: unknown;
  traceback: string | null;
  children: unknown[];
  date_done: string | null;
  task_id: string;
  name?: string;
  retries?: number;
  queue?: string;
  worker?: string;
}

export const RESULT_KEY_PREFIX = 'celery-task-meta-';
const READY: TaskState[] = ['SUCCESS', 'FAILURE', 'REVOKED'];

/** Python's built-in exception names: a JS error of that name maps onto the real class. */
const PYTHON_BUILTINS = new Set([
  'ValueError',
  'TypeError',
  'RuntimeError',
  'TimeoutError',
  'KeyError',
  'LookupError',
]);

export function serializeError(err: unknown): SerializedException {
  const error = err instanceof Error ? err : new Error(String(err));
  const name = error.name && error.name !== 'Error' ? error.name : 'RuntimeError';
  return {
    exc_type: name,
    exc_message: [error.message],
    exc_module: PYTHON_BUILTINS.has(name) ? 'builtins' : 'platform.worker',
  };
}

// KEYS: result keys. ARGV: expiry (seconds), then one meta JSON per key. A SUCCESS already stored
// stays. Returns how many were written.
const STORE_SCRIPT = new LuaScript(`
local written = 0
for i = 1, #KEYS do
  local keep = false
  local current = redis.call('GET', KEYS[i])
  if current then
    local ok, meta = pcall(cjson.decode, current)
    keep = ok and type(meta) == 'table' and meta.status == 'SUCCESS'
  end
  if not keep then
    redis.call('SETEX', KEYS[i], ARGV[1], ARGV[i + 1])
    redis.call('PUBLISH', KEYS[i], ARGV[i + 1])
    written = written + 1
  end
end
return written
`);

/** What `store` writes for one task. */
export interface ResultExtra {
  traceback?: string | null;
  name?: string;
  retries?: number;
  queue?: string;
  worker?: string;
}

/**
 * Celery's Redis result backend: `celery-task-meta-<id>` holds the JSON meta and the same value is
 * published on the channel of that name (what Python's AsyncResult.get() listens to). A SUCCESS is
 * never overwritten, as in Celery. A store is one script (check, write, publish in one round trip),
 * run by its SHA1; `storeMany` writes a batch's results in one.
 */
export class RedisResultBackend {
  constructor(
    private readonly redis: Redis,
    private readonly options: { expiresSeconds: number } = { expiresSeconds: 86_400 },
  ) {}

  async store(taskId: string, state: TaskState, result: unknown, extra: ResultExtra = {}): Promise<void> {
    await this.storeMany([{ taskId, state, result, extra }]);
  }

  /** Stores the results of several tasks in one script (one round trip), each as `store` would. */
  async storeMany(
    entries: Array<{ taskId: string; state: TaskState; result: unknown; extra?: ResultExtra }>,
  ): Promise<void> {
    if (entries.length === 0) return;
    const keys: string[] = [];
    const values: string[] = [String(this.options.expiresSeconds)];
    const now = new Date().toISOString();
    for (const { taskId, state, result, extra = {} } of entries) {
      const meta: ResultMeta = {
        status: state,
        result,
        traceback: extra.traceback ?? null,
        children: [],
        date_done: READY.includes(state) ? now : null,
        task_id: taskId,
        ...(extra.name !== undefined ? { name: extra.name } : {}),
        ...(extra.retries !== undefined ? { retries: extra.retries } : {}),
        ...(extra.queue !== undefined ? { queue: extra.queue } : {}),
        ...(extra.worker !== undefined ? { worker: extra.worker } : {}),
      };
      keys.push(`${RESULT_KEY_PREFIX}${taskId}`);
      values.push(JSON.stringify(meta));
    }
    await STORE_SCRIPT.run(this.redis, keys, values);
  }

  async get(taskId: string): Promise<ResultMeta | null> {
    const value = await this.redis.get(`${RESULT_KEY_PREFIX}${taskId}`);
    return value ? (JSON.parse(value) as ResultMeta) : null;
  }
}
