import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { fairnessKey, type QueueKind, TASK_CATALOG, type TaskName, type TaskPayload } from './catalog.js';
import { insertOutboxEntry, type NewOutboxEntry } from './outbox.repository.js';

/**
 * Writes tasks to the outbox inside the caller's transaction: the row a task is about and the
 * task itself commit together or not at all. The relay publishes them after the commit; the
 * outbox entry's id is the Celery task id, so a publish repeated after a crash is harmless.
 */
export class TaskOutbox {
  constructor(private readonly queues: Record<QueueKind, string>) {}

  /** Validates the payload against the catalog and writes the entry; returns the task id. */
  async enqueue<N extends TaskName>(
    trx: Knex | Knex.Transaction,
    task: N,
    payload: TaskPayload<N>,
    options: { id?: string } = {},
  ): Promise<string> {
    const entry = this.entry(task, payload, options);
    await insertOutboxEntry(trx, entry);
    return entry.id;
  }

  /**
   * The validated entry of a task, for a caller that writes it in the same statement as its row
   * (in a `with`): one statement is atomic without a transaction.
   */
  entry<N extends TaskName>(task: N, payload: TaskPayload<N>, options: { id?: string } = {}): NewOutboxEntry {
    const spec = TASK_CATALOG[task];
    const kwargs = spec.payload.parse(payload) as Record<string, unknown>;
    return {
      id: options.id ?? randomUUID(),
      task,
      queue: this.queues[spec.queue],
      kwargs,
      fairness_key: fairnessKey(task, kwargs),
    };
  }
}
