/** One entry of the platform's audit log. */
export interface AuditEntry {
  /** @isInt */
  id: number;
  occurred_at: Date;
  /** Who acted: `admin`, `system`, or an API key's principal. */
  actor: string;
  /** @example "tenant.provisioned" */
  action: string;
  /** @format uuid */
  tenant_id: string | null;
  /** The request that caused it, when one did. */
  request_id: string | null;
  details: Record<string, unknown>;
}

export interface AuditList {
  /** Newest first. */
  data: AuditEntry[];
  next_cursor: string | null;
}

export type QueueKind = 'ml' | 'platform';

/** A task queue of the platform and its dead-letter list. */
export interface QueueInfo {
  kind: QueueKind;
  /** The queue's name in Redis. */
  name: string;
  /**
   * Messages waiting, every priority.
   * @isInt
   */
  depth: number;
  /**
   * Messages in its dead-letter list.
   * @isInt
   */
  dead_letters: number;
}

export interface QueueList {
  data: QueueInfo[];
}

/** A task message the worker gave up on. */
export interface DeadLetter {
  /** Names this message for requeue and discard (a digest of its text). */
  id: string;
  queue: QueueKind;
  /** The task name, e.g. `platform.provision_tenant`; null when the message is not a task message. */
  task: string | null;
  task_id: string | null;
  /** @format uuid */
  tenant_id: string | null;
  /** Why: `retries_exhausted`, `unknown_task`, `malformed`, `killed_consumers`, or `unparseable`. */
  reason: string;
  /** The last error, when there was one. */
  error: string | null;
  /** When it was dead-lettered (ISO 8601). */
  dead_lettered_at: string | null;
  /** @isInt */
  retries: number;
  /** False for a message that is not a task message: it can only be discarded. */
  requeueable: boolean;
}

export interface DeadLetterList {
  /** Newest first. */
  data: DeadLetter[];
  /**
   * Dead letters in the list, listed or not.
   * @isInt
   */
  total: number;
}
