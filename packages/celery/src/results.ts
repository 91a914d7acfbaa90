import type { Redis } from 'ioredis';

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

// KEYS: the result key. ARGV: expiry (seconds), the meta JSON. A SUCCESS already stored stays.
const STORE_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, meta = pcall(cjson.decode, current)
  if ok and type(meta) == 'table' and meta.status == 'SUCCESS' then return 0 end
end
redis.call('SETEX', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', KEYS[1], ARGV[2])
return 1
`;

/**
 * Celery's Redis result backend: `celery-task-meta-<id>` holds the JSON meta and the same value is
 * published on the channel of that name (what Python's AsyncResult.get() listens to). A SUCCESS is
 * never overwritten, as in Celery. A store is one script (check, write, publish in one round trip),
 * so stores issued together are pipelined on the connection.
 */
export class RedisResultBackend {
  constructor(
    private readonly redis: Redis,
    private readonly options: { expiresSeconds: number } = { expiresSeconds: 86_400 },
  ) {}

  async store(
    taskId: string,
    state: TaskState,
    result: unknown,
    extra: {
      traceback?: string | null;
      name?: string;
      retries?: number;
      queue?: string;
      worker?: string;
    } = {},
  ): Promise<void> {
    const key = `${RESULT_KEY_PREFIX}${taskId}`;
    const meta: ResultMeta = {
      status: state,
      result,
      traceback: extra.traceback ?? null,
      children: [],
      date_done: READY.includes(state) ? new Date().toISOString() : null,
      task_id: taskId,
      ...(extra.name !== undefined ? { name: extra.name } : {}),
      ...(extra.retries !== undefined ? { retries: extra.retries } : {}),
      ...(extra.queue !== undefined ? { queue: extra.queue } : {}),
      ...(extra.worker !== undefined ? { worker: extra.worker } : {}),
    };
    const value = JSON.stringify(meta);
    await this.redis.eval(STORE_SCRIPT, 1, key, String(this.options.expiresSeconds), value);
  }

  async get(taskId: string): Promise<ResultMeta | null> {
    const value = await this.redis.get(`${RESULT_KEY_PREFIX}${taskId}`);
    return value ? (JSON.parse(value) as ResultMeta) : null;
  }
}
