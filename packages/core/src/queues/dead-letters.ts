import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { QueueKind } from '../tasks/catalog.js';

/**
 * Queues and their dead letters, as the worker leaves them in Redis (kombu's Redis transport):
 * a queue is a list per priority step (`<queue>`, `<queue>\x06\x16<3|6|9>`); a message the worker
 * gave up on is LPUSHed, with an `x-dead-letter` header `{ reason, error, at }`, onto the list
 * `<queue>.dead` (newest first). An unparseable message is kept there as it came.
 *
 * A dead letter is named by a digest of its exact text, so requeue and discard act on the message
 * that was listed, and on nothing else: each removes it with LREM in one script, and a second
 * requeue of the same message finds nothing (404).
 */
export const DEAD_LETTER_HEADER = 'x-dead-letter';
const DEATHS_HEADER = 'x-consumer-deaths';
const PRIORITY_SEPARATOR = '\x06\x16';
const PRIORITY_STEPS = [0, 3, 6, 9] as const;

/** The dead-letter list of `queue` (the worker's default naming). */
export function deadLetterQueueOf(queue: string): string {
  return `${queue}.dead`;
}

function queueLists(queue: string): string[] {
  return PRIORITY_STEPS.map((p) => (p === 0 ? queue : `${queue}${PRIORITY_SEPARATOR}${p}`));
}

export interface QueueInfo {
  /** The logical queue (`ml`, `platform`). */
  kind: QueueKind;
  /** Its Redis name. */
  name: string;
  /** Messages waiting, every priority. */
  depth: number;
  dead_letters: number;
}

export interface DeadLetter {
  /** Digest of the message's text: what requeue and discard take. */
  id: string;
  queue: QueueKind;
  task: string | null;
  task_id: string | null;
  tenant_id: string | null;
  /** `retries_exhausted`, `unknown_task`, `malformed`, `killed_consumers`, or `unparseable`. */
  reason: string;
  error: string | null;
  dead_lettered_at: string | null;
  retries: number;
  /** False for a message that is not a Celery task message: it can only be discarded. */
  requeueable: boolean;
}

export interface DeadLetterPage {
  data: DeadLetter[];
  /** Dead letters in the queue's list, listed or not. */
  total: number;
}

type Json = Record<string, unknown>;

function parse(raw: string): Json | undefined {
  try {
    const value = JSON.parse(raw);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}

function obj(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);

function tenantOf(envelope: Json): string | null {
  const properties = obj(envelope.properties);
  if (typeof envelope.body !== 'string') return null;
  try {
    const text =
      properties?.body_encoding === 'base64'
        ? Buffer.from(envelope.body, 'base64').toString('utf8')
        : envelope.body;
    const body = JSON.parse(text) as unknown;
    return Array.isArray(body) ? str(obj(body[1])?.tenant_id) : null;
  } catch {
    return null;
  }
}

export function deadLetterId(raw: string): string {
  return createHash('sha256').update(raw).digest('hex').slice(0, 32);
}

export function describeDeadLetter(queue: QueueKind, raw: string): DeadLetter {
  const envelope = parse(raw);
  const headers = obj(envelope?.headers);
  const dead = obj(headers?.[DEAD_LETTER_HEADER]);
  const task = str(headers?.task);
  return {
    id: deadLetterId(raw),
    queue,
    task,
    task_id: str(headers?.id),
    tenant_id: envelope ? tenantOf(envelope) : null,
    reason: str(dead?.reason) ?? 'unparseable',
    error: str(dead?.error),
    dead_lettered_at: str(dead?.at),
    retries: typeof headers?.retries === 'number' ? headers.retries : 0,
    requeueable: Boolean(task && headers?.id && obj(envelope?.properties)),
  };
}

/** The message to publish again: without its dead-letter marks, a fresh delivery, full retries. */
function revived(raw: string, queue: string): { list: string; text: string } {
  const envelope = parse(raw) as Json;
  const headers = { ...(obj(envelope.headers) ?? {}) };
  delete headers[DEAD_LETTER_HEADER];
  delete headers[DEATHS_HEADER];
  headers.retries = 0;
  headers.eta = null;
  headers.redelivered = false;
  const properties = { ...(obj(envelope.properties) ?? {}) };
  properties.delivery_tag = randomUUID();
  properties.delivery_info = {
    ...(obj(properties.delivery_info) ?? {}),
    routing_key: queue,
    redelivered: false,
  };
  const priority = typeof properties.priority === 'number' ? properties.priority : 0;
  const step = [...PRIORITY_STEPS].reverse().find((p) => p <= priority) ?? 0;
  return {
    list: step === 0 ? queue : `${queue}${PRIORITY_SEPARATOR}${step}`,
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

const MAX_LIST = 200;

/** Depth of the platform's queues and their dead letters: list, requeue, discard. */
export class DeadLetters {
  constructor(
    private readonly redis: Redis,
    private readonly queues: Record<QueueKind, string>,
  ) {}

  private nameOf(queue: string): { kind: QueueKind; name: string } {
    if (!Object.hasOwn(this.queues, queue)) {
      throw new NotFoundError(`Queue '${queue}'`);
    }
    return { kind: queue as QueueKind, name: this.queues[queue as QueueKind] };
  }

  async queueInfo(): Promise<QueueInfo[]> {
    const kinds = Object.keys(this.queues) as QueueKind[];
    const pipeline = this.redis.pipeline();
    for (const kind of kinds) {
      for (const list of queueLists(this.queues[kind])) pipeline.llen(list);
      pipeline.llen(deadLetterQueueOf(this.queues[kind]));
    }
    const results = ((await pipeline.exec()) ?? []).map(([err, n]) => {
      if (err) throw err;
      return Number(n);
    });
    const per = PRIORITY_STEPS.length + 1;
    return kinds.map((kind, i) => {
      const counts = results.slice(i * per, (i + 1) * per);
      return {
        kind,
        name: this.queues[kind],
        depth: counts.slice(0, PRIORITY_STEPS.length).reduce((a, b) => a + b, 0),
        dead_letters: counts[PRIORITY_STEPS.length] ?? 0,
      };
    });
  }

  /** The newest `limit` dead letters of `queue` (1-200, default 50). */
  async list(queue: string, limit = 50): Promise<DeadLetterPage> {
    const { kind, name } = this.nameOf(queue);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST) {
      throw new ValidationError('Invalid limit', [
        { field: 'query.limit', message: `must be an integer between 1 and ${MAX_LIST}` },
      ]);
    }
    const dead = deadLetterQueueOf(name);
    const [[err1, raws], [err2, total]] = ((await this.redis
      .multi()
      .lrange(dead, 0, limit - 1)
      .llen(dead)
      .exec()) ?? []) as [[Error | null, string[]], [Error | null, number]];
    if (err1 || err2) throw err1 ?? err2;
    return { data: raws.map((raw) => describeDeadLetter(kind, raw)), total };
  }

  private async find(queue: string, id: string): Promise<{ kind: QueueKind; name: string; raw: string }> {
    const { kind, name } = this.nameOf(queue);
    if (!/^[0-9a-f]{32}$/.test(id)) {
      throw new ValidationError('Invalid dead letter id', [
        { field: 'path.deadLetterId', message: 'must be 32 lowercase hex digits' },
      ]);
    }
    const raws = await this.redis.lrange(deadLetterQueueOf(name), 0, -1);
    const raw = raws.find((r) => deadLetterId(r) === id);
    if (raw === undefined) throw new NotFoundError(`Dead letter '${id}'`);
    return { kind, name, raw };
  }

  /** Puts a dead letter back on its queue, with its retries reset; it leaves the dead-letter list. */
  async requeue(queue: string, id: string): Promise<DeadLetter> {
    const { kind, name, raw } = await this.find(queue, id);
    const letter = describeDeadLetter(kind, raw);
    if (!letter.requeueable) {
      throw new ConflictError(
        'dead_letter_not_requeueable',
        'This dead letter is not a task message; it can only be discarded',
      );
    }
    const next = revived(raw, name);
    const moved = await this.redis.eval(
      REQUEUE_SCRIPT,
      2,
      deadLetterQueueOf(name),
      next.list,
      raw,
      next.text,
    );
    if (Number(moved) !== 1) throw new NotFoundError(`Dead letter '${id}'`);
    return letter;
  }

  /** Deletes a dead letter for good. */
  async discard(queue: string, id: string): Promise<DeadLetter> {
    const { kind, name, raw } = await this.find(queue, id);
    const removed = await this.redis.lrem(deadLetterQueueOf(name), 1, raw);
    if (removed !== 1) throw new NotFoundError(`Dead letter '${id}'`);
    return describeDeadLetter(kind, raw);
  }
}
