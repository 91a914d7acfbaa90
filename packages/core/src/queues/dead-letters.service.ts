import type { Knex } from 'knex';
import { recordAudit } from '../audit/audit.repository.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { isUuid } from '../pagination.js';
import type { QueueKind } from '../tasks/catalog.js';

/**
 * A dead letter as the Redis storage reads it back (@platform/celery's `DeadLetters`, which the
 * API passes in: the one place that knows the lists, their items and how a message goes back).
 */
export interface StoredDeadLetter {
  /** The list item exactly as stored. */
  raw: string;
  /** A digest of `raw`: what requeue and discard take. */
  id: string;
  task?: string;
  taskId?: string;
  reason?: { reason?: string; error?: string; at?: string };
  tenantId?: string;
  retries: number;
  requeueable: boolean;
}

/** The dead-letter lists of the queues (by their Redis names). */
export interface DeadLetterStore {
  page(queue: string, count: number): Promise<{ letters: StoredDeadLetter[]; total: number }>;
  length(queue: string): Promise<number>;
  find(queue: string, id: string): Promise<StoredDeadLetter | undefined>;
  /** Back on the queue with its retries reset, removed from the list; false when it was gone. */
  requeue(queue: string, raw: string): Promise<boolean>;
  /** Removed from the list; false when it was gone. */
  remove(queue: string, raw: string): Promise<boolean>;
}

/** Messages waiting in a queue (every priority). */
export interface QueueDepths {
  depth(queue: string): Promise<number>;
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

export interface DeadLettersServiceDeps {
  db: Knex;
  /** The Redis names of the logical queues. */
  queues: Record<QueueKind, string>;
  store: DeadLetterStore;
  depths: QueueDepths;
}

const MAX_LIST = 200;
const ID_RE = /^[0-9a-f]{32}$/;

function describe(queue: QueueKind, stored: StoredDeadLetter): DeadLetter {
  const why = stored.reason;
  return {
    id: stored.id,
    queue,
    task: stored.task ?? null,
    task_id: stored.taskId ?? null,
    tenant_id: stored.tenantId ?? null,
    reason: typeof why?.reason === 'string' ? why.reason : 'unparseable',
    error: typeof why?.error === 'string' ? why.error : null,
    dead_lettered_at: typeof why?.at === 'string' ? why.at : null,
    retries: stored.retries,
    requeueable: stored.requeueable,
  };
}

/**
 * The operators' flow over the task queues: their depth, their dead letters, and requeue or
 * discard of one. Each requeue and discard is written to the audit log (`dead_letter.requeued`,
 * `dead_letter.discarded`, with the tenant the message names, the queue, task and reason): the
 * entry is inserted in a transaction that commits only once Redis has moved or removed the
 * message, so a dead letter already gone (404) leaves no entry, and a failed insert leaves the
 * message where it was.
 */
export class DeadLettersService {
  constructor(private readonly deps: DeadLettersServiceDeps) {}

  private nameOf(queue: string): { kind: QueueKind; name: string } {
    if (!Object.hasOwn(this.deps.queues, queue)) throw new NotFoundError(`Queue '${queue}'`);
    return { kind: queue as QueueKind, name: this.deps.queues[queue as QueueKind] };
  }

  async queueInfo(): Promise<QueueInfo[]> {
    const kinds = Object.keys(this.deps.queues) as QueueKind[];
    return Promise.all(
      kinds.map(async (kind) => {
        const name = this.deps.queues[kind];
        const [depth, dead] = await Promise.all([this.deps.depths.depth(name), this.deps.store.length(name)]);
        return { kind, name, depth, dead_letters: dead };
      }),
    );
  }

  /** The newest `limit` dead letters of `queue` (1-200, default 50). */
  async list(queue: string, limit = 50): Promise<DeadLetterPage> {
    const { kind, name } = this.nameOf(queue);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST) {
      throw new ValidationError('Invalid limit', [
        { field: 'query.limit', message: `must be an integer between 1 and ${MAX_LIST}` },
      ]);
    }
    const { letters, total } = await this.deps.store.page(name, limit);
    return { data: letters.map((l) => describe(kind, l)), total };
  }

  private async find(queue: string, id: string) {
    const { kind, name } = this.nameOf(queue);
    if (!ID_RE.test(id)) {
      throw new ValidationError('Invalid dead letter id', [
        { field: 'path.deadLetterId', message: 'must be 32 lowercase hex digits' },
      ]);
    }
    const stored = await this.deps.store.find(name, id);
    if (!stored) throw new NotFoundError(`Dead letter '${id}'`);
    return { name, stored, letter: describe(kind, stored) };
  }

  /** Writes the audit entry of `action`, committed only when `move` found the message. */
  private async audited(action: string, letter: DeadLetter, move: () => Promise<boolean>): Promise<void> {
    await this.deps.db.transaction(async (trx) => {
      await recordAudit(trx, {
        action,
        tenant_id: letter.tenant_id && isUuid(letter.tenant_id) ? letter.tenant_id : null,
        details: {
          queue: letter.queue,
          dead_letter_id: letter.id,
          task: letter.task,
          task_id: letter.task_id,
          reason: letter.reason,
        },
      });
      if (!(await move())) throw new NotFoundError(`Dead letter '${letter.id}'`);
    });
  }

  /** Puts a dead letter back on its queue, with its retries reset; it leaves the dead-letter list. */
  async requeue(queue: string, id: string): Promise<DeadLetter> {
    const { name, stored, letter } = await this.find(queue, id);
    if (!letter.requeueable) {
      throw new ConflictError(
        'dead_letter_not_requeueable',
        'This dead letter is not a task message; it can only be discarded',
      );
    }
    await this.audited('dead_letter.requeued', letter, () => this.deps.store.requeue(name, stored.raw));
    return letter;
  }

  /** Deletes a dead letter for good. */
  async discard(queue: string, id: string): Promise<DeadLetter> {
    const { name, stored, letter } = await this.find(queue, id);
    await this.audited('dead_letter.discarded', letter, () => this.deps.store.remove(name, stored.raw));
    return letter;
  }
}
