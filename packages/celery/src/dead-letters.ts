import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { decodeMessage, type Envelope, FAIR_SLOT_HEADER } from './protocol.js';
import { priorityList } from './queue-keys.js';
import { RESULT_KEY_PREFIX } from './results.js';

/**
 * Dead letters: messages that cannot or must not run again (malformed, unknown task, retries
 * exhausted, killed their consumers), each a Celery message as it was delivered with an
 * `x-dead-letter` header saying why (`{reason, error, at}`), LPUSHed onto `<queue>.dead`.
 *
 * They hold task payloads, so they are bounded: a list keeps its newest `maxLength` entries; the
 * oldest beyond that are dropped when a new one is pushed, and counted per list in the hash
 * `platform:dead-letters:dropped` (the worker's `worker_dead_letters_dropped_total`). Deprovisioning a
 * tenant removes its dead letters and its task results (`DeadLetters.removeTenant`,
 * `TenantTaskData`).
 *
 * A dead letter is named by a digest of its exact text (`deadLetterId`), so requeue and remove act
 * on the message that was listed and on nothing else: each removes it with LREM, and a second
 * requeue of the same message finds nothing.
 */
export const DEAD_LETTER_SUFFIX = '.dead';
/** Header saying why a message was dead-lettered: `{reason, error, at}`. */
export const DEAD_LETTER_HEADER = 'x-dead-letter';
/** Header counting the consumers that died while running a message. */
export const DEATHS_HEADER = 'x-consumer-deaths';
/** Hash: dead-letter list -> how many of its entries were dropped because it was full. */
export const DEAD_LETTERS_DROPPED_KEY = 'platform:dead-letters:dropped';
export const DEFAULT_DEAD_LETTER_MAX_LENGTH = 10_000;

/** The dead-letter list of a queue. */
export function deadLetterList(queue: string): string {
  return `${queue}${DEAD_LETTER_SUFFIX}`;
}

export interface DeadLetterLimits {
  /** Entries a dead-letter list keeps at most (the newest). */
  maxLength: number;
  /** Where dropped entries are counted (default DEAD_LETTERS_DROPPED_KEY). */
  droppedKey?: string;
}

/**
 * Lua: pushes ARGV[i] onto the dead-letter list KEYS[l], keeps its newest ARGV[m] entries and
 * counts the dropped ones in the hash KEYS[d]. Shared by every script that dead-letters, so that
 * pushing and bounding are one atomic step wherever it happens.
 */
export const PUSH_DEAD_LETTER_LUA = `
local function push_dead_letter(list, dropped_key, raw, max)
  local n = redis.call('LPUSH', list, raw)
  if max > 0 and n > max then
    redis.call('LTRIM', list, 0, max - 1)
    redis.call('HINCRBY', dropped_key, list, n - max)
  end
end
`;

// KEYS: list, dropped hash. ARGV: max length, payload.
const PUSH_SCRIPT = `${PUSH_DEAD_LETTER_LUA}
push_dead_letter(KEYS[1], KEYS[2], ARGV[2], tonumber(ARGV[1]))
return redis.call('LLEN', KEYS[1])
`;

/** A dead letter as read back. */
export interface DeadLetter {
  /** The list item exactly as stored (what LREM needs to remove it). */
  raw: string;
  /** Its name: a digest of `raw` (`deadLetterId`). */
  id: string;
  /** The message, when it decodes as a Celery message (malformed ones do not). */
  message?: { id: string; task: string; kwargs: Record<string, unknown>; args: unknown[] };
  /** The task name and task id of its headers, even when the rest does not decode. */
  task?: string;
  taskId?: string;
  /** Why it was dead-lettered: the `x-dead-letter` header. */
  reason?: { reason?: string; error?: string; at?: string };
  /** The tenant it belongs to: the `tenant_id` of its payload, when it has one. */
  tenantId?: string;
  /** The retries it had used (its `retries` header). */
  retries: number;
  /** Whether it can go back on its queue: a Celery message with its delivery properties. */
  requeueable: boolean;
}

/** The name of a dead letter: a digest of its exact stored text (32 hex digits). */
export function deadLetterId(raw: string): string {
  return createHash('sha256').update(raw).digest('hex').slice(0, 32);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses a dead-letter list item. Never throws. */
export function parseDeadLetter(raw: string): DeadLetter {
  const letter: DeadLetter = { raw, id: deadLetterId(raw), retries: 0, requeueable: false };
  let envelope: Envelope | undefined;
  try {
    const message = decodeMessage(raw);
    envelope = message.envelope;
    letter.message = { id: message.id, task: message.task, kwargs: message.kwargs, args: message.args };
    const tenant = message.kwargs.tenant_id;
    if (typeof tenant === 'string') letter.tenantId = tenant;
    letter.requeueable = isObject(envelope.properties);
  } catch {
    try {
      const value = JSON.parse(raw) as unknown;
      if (!isObject(value)) return letter;
      envelope = value as unknown as Envelope;
    } catch {
      return letter;
    }
  }
  const headers = isObject(envelope?.headers) ? (envelope.headers as Record<string, unknown>) : undefined;
  if (typeof headers?.task === 'string') letter.task = headers.task;
  if (typeof headers?.id === 'string') letter.taskId = headers.id;
  if (typeof headers?.retries === 'number') letter.retries = headers.retries;
  const header = headers?.[DEAD_LETTER_HEADER];
  if (isObject(header)) letter.reason = header as DeadLetter['reason'];
  return letter;
}

/**
 * The message to publish again from a requeueable dead letter: without its dead-letter marks and
 * its fairness slot (released when it was dead-lettered, `FAIR_SLOT_HEADER`), a fresh delivery
 * (new delivery tag, not redelivered) with its retries reset, on the list its priority names.
 */
export function revivedDeadLetter(raw: string, queue: string): { list: string; text: string } {
  const envelope = JSON.parse(raw) as Envelope;
  const headers: Record<string, unknown> = { ...envelope.headers };
  delete headers[DEAD_LETTER_HEADER];
  delete headers[DEATHS_HEADER];
  delete headers[FAIR_SLOT_HEADER];
  headers.retries = 0;
  headers.eta = null;
  headers.redelivered = false;
  const properties = {
    ...envelope.properties,
    delivery_tag: randomUUID(),
    delivery_info: { ...envelope.properties.delivery_info, routing_key: queue, redelivered: false },
  };
  const priority = typeof properties.priority === 'number' ? properties.priority : 0;
  return {
    list: priorityList(queue, priority),
    text: JSON.stringify({ ...envelope, headers, properties }),
  };
}

// KEYS: dead list, target list. ARGV: the dead letter's exact text, the message to push.
const REQUEUE_SCRIPT = `
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0
`;

/** Reading, pushing and removing dead letters: the one place that knows their lists. */
export class DeadLetters {
  private readonly maxLength: number;
  private readonly droppedKey: string;

  constructor(
    private readonly redis: Redis,
    limits: Partial<DeadLetterLimits> = {},
  ) {
    this.maxLength = limits.maxLength ?? DEFAULT_DEAD_LETTER_MAX_LENGTH;
    this.droppedKey = limits.droppedKey ?? DEAD_LETTERS_DROPPED_KEY;
  }

  /** Pushes a dead letter onto `queue`'s list, bounded; returns the list's length. */
  async push(queue: string, message: Envelope | string): Promise<number> {
    const raw = typeof message === 'string' ? message : JSON.stringify(message);
    return (await this.redis.eval(
      PUSH_SCRIPT,
      2,
      deadLetterList(queue),
      this.droppedKey,
      String(this.maxLength),
      raw,
    )) as number;
  }

  /** Dead letters of `queue`, newest first, from `start` (0-based), at most `count`. */
  async read(queue: string, start = 0, count = 100): Promise<DeadLetter[]> {
    const items = await this.redis.lrange(deadLetterList(queue), start, start + count - 1);
    return items.map(parseDeadLetter);
  }

  /** The newest `count` dead letters of `queue` and how many its list holds, read together. */
  async page(queue: string, count: number): Promise<{ letters: DeadLetter[]; total: number }> {
    const list = deadLetterList(queue);
    const [[readError, items], [lengthError, total]] = ((await this.redis
      .multi()
      .lrange(list, 0, count - 1)
      .llen(list)
      .exec()) ?? []) as [[Error | null, string[]], [Error | null, number]];
    if (readError || lengthError) throw readError ?? lengthError;
    return { letters: items.map(parseDeadLetter), total };
  }

  /** The dead letter of `queue` named `id` (`deadLetterId`), if its list holds it. */
  async find(queue: string, id: string, pageSize = 500): Promise<DeadLetter | undefined> {
    const list = deadLetterList(queue);
    const total = await this.redis.llen(list);
    for (let start = 0; start < total; start += pageSize) {
      const raw = (await this.redis.lrange(list, start, start + pageSize - 1)).find(
        (r) => deadLetterId(r) === id,
      );
      if (raw !== undefined) return parseDeadLetter(raw);
    }
    return undefined;
  }

  /**
   * Puts a requeueable dead letter (its exact stored text) back on `queue` as a fresh delivery
   * with its retries reset (`revivedDeadLetter`), in one script with its removal from the list;
   * returns whether it was there.
   */
  async requeue(queue: string, raw: string): Promise<boolean> {
    const next = revivedDeadLetter(raw, queue);
    return (
      Number(await this.redis.eval(REQUEUE_SCRIPT, 2, deadLetterList(queue), next.list, raw, next.text)) === 1
    );
  }

  /** Entries in `queue`'s list now. */
  length(queue: string): Promise<number> {
    return this.redis.llen(deadLetterList(queue));
  }

  /** Entries dropped from `queue`'s list because it was full, ever. */
  async dropped(queue: string): Promise<number> {
    return Number((await this.redis.hget(this.droppedKey, deadLetterList(queue))) ?? 0);
  }

  /** Removes one dead letter (its exact stored text); returns whether it was there. */
  async remove(queue: string, raw: string): Promise<boolean> {
    return (await this.redis.lrem(deadLetterList(queue), 1, raw)) > 0;
  }

  /**
   * Removes every dead letter of `queues` whose payload names `tenantId`; returns how many. Reads
   * each list in pages and removes by exact value, so entries pushed meanwhile are kept.
   */
  async removeTenant(queues: readonly string[], tenantId: string, pageSize = 500): Promise<number> {
    let removed = 0;
    for (const queue of queues) {
      const list = deadLetterList(queue);
      const matches = new Set<string>();
      const total = await this.redis.llen(list);
      for (let start = 0; start < total; start += pageSize) {
        for (const raw of await this.redis.lrange(list, start, start + pageSize - 1)) {
          if (parseDeadLetter(raw).tenantId === tenantId) matches.add(raw);
        }
      }
      if (matches.size === 0) continue;
      const tx = this.redis.multi();
      for (const raw of matches) tx.lrem(list, 0, raw);
      for (const [err, n] of (await tx.exec()) ?? []) {
        if (err) throw err;
        removed += Number(n);
      }
    }
    return removed;
  }
}

/**
 * What Redis holds of a tenant's tasks, removed when the tenant is deprovisioned: its dead letters
 * on `queues` and the results (`celery-task-meta-<id>`) of the given task ids (core's
 * deprovisioning passes the ids of the tenant's predictions).
 */
export class TenantTaskData {
  private readonly deadLetters: DeadLetters;

  constructor(
    private readonly redis: Redis,
    private readonly queues: readonly string[],
  ) {
    this.deadLetters = new DeadLetters(redis);
  }

  async removeTenant(
    tenantId: string,
    taskIds: readonly string[],
  ): Promise<{ deadLetters: number; results: number }> {
    const deadLetters = await this.deadLetters.removeTenant(this.queues, tenantId);
    let results = 0;
    const BATCH = 500;
    for (let i = 0; i < taskIds.length; i += BATCH) {
      const keys = taskIds.slice(i, i + BATCH).map((id) => `${RESULT_KEY_PREFIX}${id}`);
      results += await this.redis.del(...keys);
    }
    return { deadLetters, results };
  }
}
